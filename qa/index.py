"""Build, save and load the index: FAISS vectors, BM25 terms, JSON metadata.

On disk, ``index/`` holds a ``current`` link to one complete build folder::

    index/current -> build-20261124T101500-1234/
        manifest.json     format, model, dimension, documents and their sha256, counts
        passages.jsonl    one passage a line: doc, heading, text, unit range
        faqs.jsonl        one FAQ pair a line
        vectors.npy       every unit vector (the embedding cache for the next build)
        units.npy         for each vector: passage (or FAQ) number and kind
        units.faiss       FAISS inner-product index over the passage vectors:
                          exact, or IVF for large corpora (qa/ann.py; settings
                          in the manifest under "ann")
        centroids.npy     IVF only: cluster centres, reused by the next build
        bm25/             bm25s index over passage terms

A build writes a new folder, fsyncs it, then repoints ``current`` with one
atomic rename.  A failed or killed build leaves the old build in place.
Nothing is pickled: JSON, ``.npy`` with ``allow_pickle=False``, FAISS's own
format.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa import ann
from qa.corpus import Corpus, Skipped, file_hashes, read_corpus
from qa.embed import DEFAULT_MODEL, Embedder
from qa.errors import IndexNotReadyError, QAError
from qa.text import TERM_SCHEME, split_sentences, terms

FORMAT_VERSION = 1
# Bump when the texts that get embedded for a passage change, so cached
# vectors from an older scheme are not reused.
UNIT_SCHEME = 2
CURRENT = "current"
LOCK_NAME = ".build.lock"
BUILD_PREFIX = "build-"
LOCK_WAIT_SECONDS = 600

# Unit kinds: what each stored vector embeds.
WINDOW, SENTENCE, FAQ_QUESTION, FAQ_ANSWER, FAQ_PAIR = 0, 1, 2, 3, 4


@dataclass
class BuildReport:
    """What a build did.  ``skipped`` lists every file or paragraph left out."""

    documents: int
    passages: int
    faqs: int
    embeddings_reused: int
    embeddings_computed: int
    seconds: float
    index_dir: str
    skipped: list[Skipped] = field(default_factory=list)

    def summary(self) -> str:
        documents = f"{self.documents} document{'' if self.documents == 1 else 's'}"
        return (
            f"indexed {documents}: {self.passages} passages, {self.faqs} FAQ pairs; "
            f"embeddings reused {self.embeddings_reused}, computed {self.embeddings_computed}; "
            f"{self.seconds:.1f} s"
        )


# ---------------------------------------------------------------- files


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_bytes(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _write_json(path: Path, obj: Any) -> None:
    _write_bytes(path, (json.dumps(obj, ensure_ascii=False, indent=1) + "\n").encode())


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    _write_bytes(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode())


def _write_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, array, allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def build_dir(index_dir: str | os.PathLike[str]) -> Path:
    """The folder of the build that ``index_dir`` currently serves.

    Raises:
        IndexNotReadyError: There is no complete build.
    """
    root = Path(index_dir)
    if (root / "manifest.json").is_file():
        return root  # a build folder given directly
    link = root / CURRENT
    target = link.resolve() if link.is_symlink() else None
    if target is None or not (target / "manifest.json").is_file():
        raise IndexNotReadyError(f"{root}: no index found; run `qa build` to create it")
    return target


@contextlib.contextmanager
def build_lock(index_dir: Path, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold the index's build lock; a second build waits for the first."""
    from filelock import FileLock, Timeout

    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(index_dir / LOCK_NAME))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"another build of {index_dir} is running; waiting for it", file=sys.stderr)
        try:
            lock.acquire(timeout=wait)
        except Timeout:
            raise QAError(
                f"{index_dir}: another build has held the lock for {wait:.0f} s; "
                "wait for it to finish, or stop it and run `qa build` again"
            ) from None
    try:
        yield
    finally:
        lock.release()


# ---------------------------------------------------------------- units


def context(title: str, heading: str) -> str:
    """What is put before a passage's text when it is embedded or indexed.

    The title and heading say what a paragraph is about even when the
    paragraph itself only says "he" or "the force" (docs/retrieval.md).
    """
    return f"{title}. {heading}. " if heading else f"{title}. "


def passage_sentences(text: str) -> list[str]:
    return split_sentences(text) or [text]


def passage_unit_texts(
    embedder: Embedder, title: str, heading: str, text: str
) -> list[tuple[int, str]]:
    """The texts embedded for one passage: its windows, then its sentences.

    A window is as many whole sentences as fit the model's window, so a long
    paragraph is embedded as several windows; a one-window paragraph is just
    its text.  Sentences let a question match one line of a long paragraph,
    and pick the sentence to highlight.  Each text starts with the context.
    """
    prefix = context(title, heading)
    sentences = passage_sentences(text)
    budget = embedder.max_tokens - 2 - embedder.count_tokens([prefix])[0]
    counts = embedder.count_tokens(sentences)
    windows: list[str] = []
    current: list[str] = []
    used = 0
    for sentence, count in zip(sentences, counts, strict=True):
        if current and used + count > budget:
            windows.append(" ".join(current))
            current, used = [], 0
        current.append(sentence)
        used += count
    windows.append(" ".join(current))
    units = [(WINDOW, prefix + w) for w in windows]
    if len(sentences) > 1:
        units += [(SENTENCE, prefix + s) for s in sentences]
    return units


def faq_unit_texts(question: str, answer: str) -> list[tuple[int, str]]:
    return [(FAQ_QUESTION, question), (FAQ_ANSWER, answer), (FAQ_PAIR, f"{question} {answer}")]


def _cache_key(model: str, parts: list[tuple[int, str]]) -> str:
    digest = hashlib.sha256(f"{UNIT_SCHEME}\0{model}".encode())
    for kind, text in parts:
        digest.update(f"\0{kind}\0{text}".encode())
    return digest.hexdigest()


class _Cache:
    """Vectors of the previous build, by cache key, read lazily from disk."""

    def __init__(self, index_dir: Path, model: str) -> None:
        self.rows: dict[str, tuple[int, int]] = {}
        self.vectors: np.ndarray | None = None
        self.kinds: np.ndarray = np.zeros(0, dtype=np.int32)
        self.folder: Path | None = None
        self.manifest: dict[str, Any] = {}
        try:
            folder = build_dir(index_dir)
            manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
            if manifest.get("model") != model or manifest.get("format_version") != FORMAT_VERSION:
                return
            vectors = np.load(folder / "vectors.npy", mmap_mode="r", allow_pickle=False)
            units = np.load(folder / "units.npy", mmap_mode="r", allow_pickle=False)
            if len(vectors) != len(units):
                return
            rows = {}
            for name in ("passages.jsonl", "faqs.jsonl"):
                for row in read_jsonl(folder / name):
                    start, end = int(row["units"][0]), int(row["units"][1])
                    if 0 <= start < end <= len(vectors):
                        rows[row["key"]] = (start, end)
            self.rows, self.vectors, self.kinds = rows, vectors, units[:, 1]
            self.folder, self.manifest = folder, manifest
        except (QAError, OSError, ValueError, KeyError, IndexError, TypeError):
            self.rows = {}  # an unreadable old index is just an empty cache

    def find(self, key: str) -> tuple[int, int] | None:
        """The rows ``[start, end)`` of the previous build's vectors for ``key``."""
        return self.rows.get(key)

    def centroids(self, params: ann.AnnParams) -> np.ndarray | None:
        """The previous build's IVF cluster centres, when ``params`` can reuse them."""
        if self.folder is None or params.kind is not ann.IndexKind.IVF:
            return None
        try:
            old = ann.AnnParams.from_manifest(self.manifest.get("ann"))
            if (old.kind, old.nlist) != (params.kind, params.nlist):
                return None
            return np.load(self.folder / ann.CENTROIDS_FILE, allow_pickle=False)
        except (QAError, OSError, ValueError):
            return None


# ---------------------------------------------------------------- build


def build(
    corpus_dir: str | os.PathLike[str] = "corpus",
    index_dir: str | os.PathLike[str] = "index",
    *,
    model: str = DEFAULT_MODEL,
    embedder: Embedder | None = None,
    strict: bool = False,
    progress: bool = False,
    before_swap: Callable[[Path], None] | None = None,
) -> BuildReport:
    """Build the index for ``corpus_dir`` into ``index_dir``, atomically.

    Only passages and FAQ pairs whose text changed since the last build are
    embedded again; the rest reuse the previous build's vectors.

    Args:
        corpus_dir: Folder of ``.txt``/``.md`` files.
        index_dir: Where the index lives; created if missing.
        model: A sentence-transformers model name or folder.
        embedder: A loaded model to reuse (its name wins over ``model``).
        strict: Fail on any bad corpus file instead of skipping it.
        progress: Show a progress bar while embedding.
        before_swap: Called with the finished build folder just before it
            goes live (tests use it to interrupt a build).

    Returns:
        A :class:`BuildReport`.

    Raises:
        QAError: The corpus is unusable, the model cannot load, or another
            build holds the lock for too long.

    Example:
        >>> report = qa.build("corpus", "index")  # doctest: +SKIP
        >>> report.embeddings_computed  # doctest: +SKIP
        0
    """
    started = time.perf_counter()
    index_root = Path(index_dir)
    embedder = embedder or Embedder(model)
    try:
        with build_lock(index_root):
            _remove_stale(index_root)
            corpus = read_corpus(corpus_dir, strict=strict)
            folder, report = _build_into(corpus, index_root, embedder, progress)
            try:
                if before_swap is not None:
                    before_swap(folder)
                _swap_in(index_root, folder)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            _remove_stale(index_root)
    except OSError as exc:  # a full disk, a read-only folder: the old index is untouched
        raise QAError(
            f"{index_root}: cannot write the index ({exc.strerror or exc}); "
            "free some space or fix the folder's permissions, then run `qa build` again"
        ) from exc
    report.seconds = time.perf_counter() - started
    return report


def _build_into(
    corpus: Corpus, index_root: Path, embedder: Embedder, progress: bool
) -> tuple[Path, BuildReport]:
    cache = _Cache(index_root, embedder.name)
    passages: list[dict[str, Any]] = []
    faqs: list[dict[str, Any]] = []
    items: list[tuple[dict[str, Any], list[tuple[int, str]]]] = []
    row: dict[str, Any]
    for doc in corpus.documents:
        for para in doc.paragraphs:
            row = {
                "doc": doc.title,
                "path": doc.path,
                "line": para.line,
                "heading": para.heading,
                "text": para.text,
            }
            passages.append(row)
            items.append((row, []))
        for pair in doc.faqs:
            row = {
                "doc": doc.title,
                "path": doc.path,
                "line": pair.line,
                "question": pair.question,
                "answer": pair.answer,
            }
            faqs.append(row)
            items.append((row, faq_unit_texts(pair.question, pair.answer)))

    # First pass: where each item's vectors go.  Cache keys need only the
    # passage text; the units are worked out (which needs the tokenizer) just
    # for passages that are not cached.
    cached_rows: list[tuple[int, int, int]] = []  # (item, start in the old build, count)
    todo: list[int] = []
    counts = np.zeros(len(items), dtype=np.int64)
    for i, (row, parts) in enumerate(items):
        key_parts = parts or [(WINDOW, context(row["doc"], row["heading"]) + row["text"])]
        row["key"] = _cache_key(embedder.name, key_parts)
        found = cache.find(row["key"])
        if found is None:
            texts = parts or passage_unit_texts(embedder, row["doc"], row["heading"], row["text"])
            items[i] = (row, texts)
            todo.append(i)
            counts[i] = len(texts)
        else:
            cached_rows.append((i, found[0], found[1] - found[0]))
            counts[i] = found[1] - found[0]
    dim = embedder.dim if todo or cache.vectors is None else int(cache.vectors.shape[1])
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    total = int(offsets[-1])

    units = np.zeros((total, 2), dtype=np.int32)
    n_passages = n_faqs = 0
    for i, (row, _) in enumerate(items):
        start, end = int(offsets[i]), int(offsets[i + 1])
        is_faq = "question" in row
        units[start:end, 0] = n_faqs if is_faq else n_passages
        row["units"] = [start, end]
        if is_faq:
            n_faqs += 1
        else:
            n_passages += 1

    folder = index_root / f".tmp-{BUILD_PREFIX}{os.getpid()}-{time.time_ns()}"
    folder.mkdir(parents=True)
    try:
        # Vectors go straight into the file: a million-passage build never
        # holds two copies of them in memory.
        vectors = np.lib.format.open_memmap(
            folder / "vectors.npy", mode="w+", dtype=np.float32, shape=(total, dim)
        )
        for i, old_start, n in cached_rows:
            start = int(offsets[i])
            vectors[start : start + n] = cache.vectors[old_start : old_start + n]  # type: ignore[index]
            units[start : start + n, 1] = cache.kinds[old_start : old_start + n]
        _encode_into(vectors, units, items, todo, offsets, embedder, progress)
        _write_build(folder, corpus, embedder, passages, faqs, vectors, units, dim, cache)
        del vectors
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    report = BuildReport(
        documents=len(corpus.documents),
        passages=len(passages),
        faqs=len(faqs),
        embeddings_reused=len(items) - len(todo),
        embeddings_computed=len(todo),
        seconds=0.0,
        index_dir=str(index_root),
        skipped=list(corpus.skipped),
    )
    return folder, report


# Texts are encoded in slices of this many, so the model's output for a huge
# corpus is never held in memory all at once.
ENCODE_CHUNK = 16_384


def _encode_into(
    vectors: np.ndarray,
    units: np.ndarray,
    items: list[tuple[dict[str, Any], list[tuple[int, str]]]],
    todo: list[int],
    offsets: np.ndarray,
    embedder: Embedder,
    progress: bool,
) -> None:
    """Embed the units of the ``todo`` items into their rows of ``vectors``."""
    texts: list[str] = []
    rows: list[int] = []
    for i in todo:
        start = int(offsets[i])
        for j, (kind, text) in enumerate(items[i][1]):
            units[start + j, 1] = kind
            texts.append(text)
            rows.append(start + j)
    if not texts:
        return
    # Longest first across the whole build, as the model sorts each call, so
    # every slice batches texts of similar length and pads little.
    order = sorted(range(len(texts)), key=lambda t: -len(texts[t]))
    bar = None
    if progress and len(texts) > 256:
        from tqdm import tqdm

        bar = tqdm(total=len(texts), desc="embedding", unit="text")
    for s in range(0, len(order), ENCODE_CHUNK):
        chunk = order[s : s + ENCODE_CHUNK]
        encoded = embedder.encode([texts[t] for t in chunk])
        vectors[np.asarray([rows[t] for t in chunk], dtype=np.int64)] = encoded
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()


def _write_build(
    folder: Path,
    corpus: Corpus,
    embedder: Embedder,
    passages: list[dict[str, Any]],
    faqs: list[dict[str, Any]],
    vectors: np.ndarray,
    units: np.ndarray,
    dim: int,
    cache: _Cache | None = None,
) -> None:
    import bm25s
    import faiss

    _write_jsonl(folder / "passages.jsonl", passages)
    _write_jsonl(folder / "faqs.jsonl", faqs)
    if isinstance(vectors, np.memmap):
        vectors.flush()
    else:
        _write_npy(folder / "vectors.npy", vectors)
    _write_npy(folder / "units.npy", units)

    passage_rows = np.flatnonzero(units[:, 1] <= SENTENCE)
    params = ann.choose(len(passage_rows))
    centroids = cache.centroids(params) if cache is not None else None
    faiss_index = ann.build_index(vectors, params, passage_rows, centroids=centroids)
    try:
        faiss.write_index(faiss_index, str(folder / "units.faiss"))
    except RuntimeError as exc:  # FAISS reports a failed write (e.g. a full disk) this way
        raise OSError(f"FAISS could not write units.faiss: {exc}") from exc
    centroids = ann.centroids_of(faiss_index)
    if centroids is not None:  # the next build reuses them instead of training again
        _write_npy(folder / ann.CENTROIDS_FILE, centroids)
    del faiss_index

    # BM25 over whole passages and over single sentences, both with context.
    sentence_terms: list[list[str]] = []
    sentence_owner: list[int] = []
    passage_terms: list[list[str]] = []
    for number, p in enumerate(passages):
        prefix = terms(context(p["doc"], p["heading"]))
        sentences = [terms(s) for s in passage_sentences(p["text"])]
        passage_terms.append(prefix + [t for s in sentences for t in s])
        sentence_terms += [prefix + s for s in sentences]
        sentence_owner += [number] * len(sentences)
    # FAQ pairs get their own small BM25 index: the FAQ section is matched as
    # a corpus of its own (docs/retrieval.md).
    faq_terms = [terms(f"{f['question']} {f['answer']}") for f in faqs]
    indexes = [("bm25", passage_terms), ("bm25_sentences", sentence_terms)]
    if faqs:
        indexes.append(("bm25_faqs", faq_terms))
    for name, corpus_terms in indexes:
        bm25 = bm25s.BM25()
        bm25.index(corpus_terms, show_progress=False)
        bm25.save(str(folder / name))
    _write_npy(folder / "sentence_passage.npy", np.array(sentence_owner, dtype=np.int32))

    manifest = {
        "format_version": FORMAT_VERSION,
        "unit_scheme": UNIT_SCHEME,
        "term_scheme": TERM_SCHEME,
        "model": embedder.name,
        "model_fingerprint": embedder.fingerprint(),
        "dimension": dim,
        "metric": "inner_product",
        "ann": params.to_manifest(),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "counts": {
            "documents": len(corpus.documents),
            "passages": len(passages),
            "faqs": len(faqs),
            "vectors": int(len(vectors)),
        },
        "documents": [
            {"path": d.path, "title": d.title, "sha256": d.sha256} for d in corpus.documents
        ],
        "skipped": [asdict(s) for s in corpus.skipped],
        "files": corpus.files,
    }
    # Everything else is fsynced; bm25s and FAISS wrote their own files.
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb+") as f:
                os.fsync(f.fileno())
        elif path.is_dir():
            _fsync_dir(path)
    _write_json(folder / "manifest.json", manifest)
    _fsync_dir(folder)


def _swap_in(index_root: Path, folder: Path) -> None:
    final = index_root / folder.name.removeprefix(".tmp-")
    os.rename(folder, final)
    link_tmp = index_root / f".{CURRENT}-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        link_tmp.unlink()
    os.symlink(final.name, link_tmp)
    os.replace(link_tmp, index_root / CURRENT)  # the atomic step
    _fsync_dir(index_root)


def _remove_stale(index_root: Path) -> None:
    """Delete unfinished builds and builds that are no longer current.

    Only called under the build lock.  A running app that still reads an old
    build keeps its open files and memory maps: unlinking does not close them.
    """
    try:
        live = (index_root / CURRENT).resolve().name
    except OSError:
        live = None
    for path in index_root.iterdir():
        name = path.name
        if (
            path.is_dir()
            and not path.is_symlink()
            and name != live
            and (name.startswith(BUILD_PREFIX) or name.startswith(f".tmp-{BUILD_PREFIX}"))
        ):
            shutil.rmtree(path, ignore_errors=True)
        elif name.startswith(f".{CURRENT}-") and path.is_symlink():
            path.unlink(missing_ok=True)


# ---------------------------------------------------------------- freshness


def is_current(corpus_dir: str | os.PathLike[str], index_dir: str | os.PathLike[str]) -> bool:
    """True when the index was built from exactly the corpus files there now."""
    try:
        manifest = json.loads((build_dir(index_dir) / "manifest.json").read_text("utf-8"))
        return bool(manifest["files"] == file_hashes(corpus_dir))
    except (QAError, OSError, ValueError, KeyError, TypeError):
        return False
