"""Building an index: corpus files -> units -> cached or encoded vectors -> a store.

A build reads the corpus, works out each passage's and FAQ pair's units
(``qa/units.py``), takes the vectors of unchanged ones from the previous
build (the embedding cache), encodes the rest, and writes everything through
a :class:`~qa.store.base.StoreWriter`, which publishes it in one atomic step.
Where and how the index is stored is the store's business (``qa/store/``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from qa.corpus import Corpus, Skipped, file_hashes, read_corpus
from qa.embed import DEFAULT_MODEL, Embedder
from qa.errors import QAError
from qa.store import Location, live_manifest, open_writer
from qa.store.base import FAQRecord, PassageRecord, StoreWriter
from qa.store.manifest import Counts, Manifest
from qa.text import TERM_SCHEME
from qa.units import UNIT_SCHEME, WINDOW, cache_key, context, faq_unit_texts, passage_unit_texts

# Texts are encoded in slices of this many, so the model's output for a huge
# corpus is never held in memory all at once.
ENCODE_CHUNK = 16_384

# How a build embeds its new units: given the model and the texts, yield
# (positions in ``texts``, their vectors) in any order until every text is
# done.  ``encode_here`` uses this process; ``qa.ray_build.RayEncode`` a Ray
# cluster.
Encode = Callable[[Embedder, list[str]], Iterable[tuple[np.ndarray, np.ndarray]]]
# Told how far a build is: the stage ("read": corpus files; "embed": texts
# to encode), how many are done and of how many.
Progress = Callable[[str, int, int], None]


def encode_here(
    embedder: Embedder, texts: list[str], chunk_size: int = ENCODE_CHUNK
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Embed ``texts`` in this process, in slices of ``chunk_size`` (a progress step each)."""
    # Longest first across the whole build, as the model sorts each call, so
    # every slice batches texts of similar length and pads little.
    order = sorted(range(len(texts)), key=lambda t: -len(texts[t]))
    for s in range(0, len(order), chunk_size):
        chunk = order[s : s + chunk_size]
        yield np.asarray(chunk, dtype=np.int64), embedder.encode([texts[t] for t in chunk])


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


def build(
    corpus_dir: str | os.PathLike[str] = "corpus",
    index_dir: Location = "index",
    *,
    model: str = DEFAULT_MODEL,
    embedder: Embedder | None = None,
    strict: bool = False,
    progress: bool = False,
    before_swap: Callable[[Path], None] | None = None,
    encode: Encode = encode_here,
    on_progress: Progress | None = None,
) -> BuildReport:
    """Build the index for ``corpus_dir`` into ``index_dir``, atomically.

    Only passages and FAQ pairs whose text changed since the last build are
    embedded again; the rest reuse the previous build's vectors.

    Args:
        corpus_dir: Folder of ``.txt``/``.md`` files.
        index_dir: Where the index lives (a folder, created if missing, or a
            Qdrant location such as ``qdrant://HOST:6333/NAME``).
        model: A sentence-transformers model name or folder.
        embedder: A loaded model to reuse (its name wins over ``model``).
        strict: Fail on any bad corpus file instead of skipping it.
        progress: Show a progress bar while embedding.
        before_swap: Called with the finished build folder just before it
            goes live (tests use it to interrupt a build).
        encode: What embeds the units that are not cached: this process
            (the default) or ``qa.ray_build.RayEncode`` for a Ray cluster.
        on_progress: Called as ``on_progress(stage, done, total)``: stage
            ``"read"`` after each corpus file, ``"embed"`` after each slice
            of texts encoded.

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
    embedder = embedder or Embedder(model)
    try:
        with open_writer(index_dir, embedder.name) as writer:
            corpus = read_corpus(corpus_dir, strict=strict, on_file=_stage(on_progress, "read"))
            report = _build_into(
                corpus, writer, embedder, progress, str(index_dir), encode, on_progress
            )
            if before_swap is not None and writer.staging is not None:
                before_swap(writer.staging)
            writer.publish()
    except OSError as exc:  # a full disk, a read-only folder: the old index is untouched
        raise QAError(
            f"{index_dir}: cannot write the index ({exc.strerror or exc}); "
            "free some space or fix the folder's permissions, then run `qa build` again"
        ) from exc
    report.seconds = time.perf_counter() - started
    return report


def _build_into(
    corpus: Corpus,
    writer: StoreWriter,
    embedder: Embedder,
    progress: bool,
    where: str,
    encode: Encode,
    on_progress: Progress | None = None,
) -> BuildReport:
    # Each passage and FAQ pair, with the texts to embed for it (worked out
    # below for passages); its key and units are filled in as they are known.
    items: list[tuple[PassageRecord | FAQRecord, list[tuple[int, str]]]] = []
    for doc in corpus.documents:
        for para in doc.paragraphs:
            record = PassageRecord(
                doc.title, doc.path, para.line, para.heading, para.text, "", (0, 0)
            )
            items.append((record, []))
        for pair in doc.faqs:
            faq = FAQRecord(doc.title, doc.path, pair.line, pair.question, pair.answer, "", (0, 0))
            items.append((faq, faq_unit_texts(pair.question, pair.answer)))

    # First pass: where each item's vectors go.  Cache keys need only the
    # passage text; the units are worked out (which needs the tokenizer) just
    # for passages that are not cached.
    cached: list[tuple[int, np.ndarray, np.ndarray]] = []  # (item, old vectors, old kinds)
    todo: list[int] = []
    counts = np.zeros(len(items), dtype=np.int64)
    for i, (row, parts) in enumerate(items):
        passage = row if isinstance(row, PassageRecord) else None
        if passage is not None and not parts:
            parts_of_key = [(WINDOW, context(passage.doc, passage.heading) + passage.text)]
        else:
            parts_of_key = parts
        row = replace(row, key=cache_key(embedder.name, parts_of_key))
        items[i] = (row, parts)
        found = writer.cached(row.key)
        if found is None:
            if passage is not None and not parts:
                parts = passage_unit_texts(embedder, passage.doc, passage.heading, passage.text)
                items[i] = (row, parts)
            todo.append(i)
            counts[i] = len(parts)
        else:
            cached.append((i, found.vectors, found.kinds))
            counts[i] = len(found.kinds)
    dim = embedder.dim if todo or not cached else int(cached[0][1].shape[1])
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    total = int(offsets[-1])

    units = np.zeros((total, 2), dtype=np.int32)
    passages: list[PassageRecord] = []
    faqs: list[FAQRecord] = []
    for i, (row, parts) in enumerate(items):
        start, end = int(offsets[i]), int(offsets[i + 1])
        row = replace(row, units=(start, end))
        items[i] = (row, parts)
        if isinstance(row, FAQRecord):
            units[start:end, 0] = len(faqs)
            faqs.append(row)
        else:
            units[start:end, 0] = len(passages)
            passages.append(row)

    vectors = writer.allocate(total, dim)
    for i, old_vectors, old_kinds in cached:
        start = int(offsets[i])
        vectors[start : start + len(old_kinds)] = old_vectors
        units[start : start + len(old_kinds), 1] = old_kinds
    _encode_into(vectors, units, items, todo, offsets, embedder, progress, encode, on_progress)
    manifest = Manifest(
        unit_scheme=UNIT_SCHEME,
        term_scheme=TERM_SCHEME,
        model=embedder.name,
        model_fingerprint=embedder.fingerprint(),
        dimension=dim,
        metric="inner_product",
        built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        counts=Counts(len(corpus.documents), len(passages), len(faqs), total),
        documents=tuple(
            {"path": d.path, "title": d.title, "sha256": d.sha256} for d in corpus.documents
        ),
        skipped=tuple(asdict(s) for s in corpus.skipped),
        files=corpus.files,
    )
    del vectors
    writer.write(manifest, passages, faqs, units)
    return BuildReport(
        documents=len(corpus.documents),
        passages=len(passages),
        faqs=len(faqs),
        embeddings_reused=len(items) - len(todo),
        embeddings_computed=len(todo),
        seconds=0.0,
        index_dir=where,
        skipped=list(corpus.skipped),
    )


def _encode_into(
    vectors: np.ndarray,
    units: np.ndarray,
    items: list[tuple[PassageRecord | FAQRecord, list[tuple[int, str]]]],
    todo: list[int],
    offsets: np.ndarray,
    embedder: Embedder,
    progress: bool,
    encode: Encode,
    on_progress: Progress | None = None,
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
    if on_progress is not None:
        on_progress("embed", 0, len(texts))
    if not texts:
        return
    bar = None
    if progress and len(texts) > 256:
        from tqdm import tqdm

        bar = tqdm(total=len(texts), desc="embedding", unit="text")
    row_of = np.asarray(rows, dtype=np.int64)
    done = np.zeros(len(texts), dtype=bool)
    parts = iter(encode(embedder, texts))
    try:
        for positions, encoded in parts:
            positions = np.asarray(positions, dtype=np.int64)
            vectors[row_of[positions]] = encoded
            done[positions] = True
            if bar is not None:
                bar.update(len(positions))
            if on_progress is not None:
                on_progress("embed", int(done.sum()), len(texts))
    finally:
        close = getattr(parts, "close", None)  # a generator's cleanup (Ray shuts down)
        if close is not None:
            close()
        if bar is not None:
            bar.close()
    if not done.all():  # never publish an index with rows nobody embedded
        raise QAError(
            f"the encoder returned {int(done.sum())} of {len(texts)} vectors; "
            "the index was not changed; run `qa build` again"
        )


def _stage(on_progress: Progress | None, stage: str) -> Callable[[int, int], None] | None:
    if on_progress is None:
        return None
    return lambda done, total: on_progress(stage, done, total)


def is_current(corpus_dir: str | os.PathLike[str], index_dir: Location) -> bool:
    """True when the index was built from exactly the corpus files there now."""
    manifest = live_manifest(index_dir)
    try:
        return manifest is not None and bool(manifest.files == file_hashes(corpus_dir))
    except (QAError, OSError, ValueError, KeyError, TypeError):
        return False
