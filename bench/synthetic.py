"""Data for the scale benchmark: clustered unit vectors, and a large varied real-text corpus."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from qa.embed import Embedder
from qa.store.local.files import build_dir, read_jsonl
from qa.text import split_sentences
from qa.units import PLAIN, SENTENCE, WINDOW, context


def clustered(n: int, dim: int = 384, seed: int = 0, chunk: int = 100_000) -> np.ndarray:
    """``n`` unit vectors in topics of ~1,000 and groups of ~8, like sentence embeddings.

    Uniform random vectors make all neighbours nearly equidistant, which no
    text corpus looks like.  These weights give the nearest-neighbour profile
    MiniLM gives SQuAD paragraphs and sentences: mean cosine of the 1st, 10th
    and 100th neighbour about 0.73, 0.46 and 0.32 (real: 0.72, 0.50, 0.33);
    ``neighbour_profile`` prints both.  Made in slices, so 1M vectors need
    only their own 1.5 GB.
    """
    rng = np.random.default_rng(seed)
    mean = rng.standard_normal(dim).astype(np.float32)
    mean /= np.linalg.norm(mean)
    topics = (rng.standard_normal((max(1, n // 1000), dim)) / np.sqrt(dim)).astype(np.float32)
    n_groups = max(1, n // 8)
    groups = 0.55 * topics[rng.integers(0, len(topics), n_groups)]
    groups += 0.75 * rng.standard_normal((n_groups, dim), dtype=np.float32) / np.sqrt(dim)
    groups += 0.15 * mean
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, chunk):
        end = min(n, start + chunk)
        x = groups[rng.integers(0, n_groups, end - start)]
        x += 0.6 * rng.standard_normal((end - start, dim), dtype=np.float32) / np.sqrt(dim)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[start:end] = x
    return out


def neighbour_profile(vectors: np.ndarray, sample: int = 2000, seed: int = 0) -> dict[str, float]:
    """Mean cosine similarity of each vector's 1st, 10th and 100th nearest neighbour."""
    rng = np.random.default_rng(seed)
    n = len(vectors)
    pick = rng.choice(n, min(sample, n), replace=False)
    sims = np.asarray(vectors[pick]) @ np.asarray(vectors).T
    sims[np.arange(len(pick)), pick] = -1.0
    top = -np.sort(-sims, axis=1)
    return {f"top{k}": float(top[:, k - 1].mean()) for k in (1, 10, 100) if k <= n - 1}


# ---------------------------------------------------------------- real text at scale

_WORD = re.compile(r"^[A-Za-z]{4,}$")


class VariantCorpus:
    """SQuAD paragraphs repeated with small word changes, and their vectors.

    Encoding a million sentences would take hours here, so the vectors of a
    changed sentence are the real MiniLM vector of the original plus a little
    noise (cosine about 0.95 to it), and a changed paragraph's vector is its
    original's the same way.  Every text is different, so BM25, the FAISS
    index and the candidate lists behave as on a large corpus; questions are
    still encoded by the real model.
    """

    def __init__(self, source_index: Path, seed: int = 0) -> None:
        folder = build_dir(source_index)
        vectors = np.load(folder / "vectors.npy", allow_pickle=False)
        units = np.load(folder / "units.npy", allow_pickle=False)
        # Each paragraph: its text, its window's and plain window's vectors, its sentences'.
        self.docs: dict[str, list[tuple[str, np.ndarray, np.ndarray, list[np.ndarray]]]] = {}
        for p in read_jsonl(folder / "passages.jsonl"):
            start, end = p["units"]
            kinds = units[start:end, 1]
            windows = vectors[start:end][kinds == WINDOW]
            plains = vectors[start:end][kinds == PLAIN]
            plain = plains[0] if len(plains) else windows[0]
            sentences = list(vectors[start:end][kinds == SENTENCE])
            self.docs.setdefault(p["doc"], []).append((p["text"], windows[0], plain, sentences))
        words = {w for doc in self.docs.values() for text, *_ in doc for w in text.split()}
        self.vocabulary = sorted(w for w in words if _WORD.match(w))
        self.seed = seed
        self.known: dict[str, np.ndarray] = {}
        self.dim = vectors.shape[1]

    @property
    def passages_per_copy(self) -> int:
        return sum(len(d) for d in self.docs.values())

    def write(self, corpus_dir: Path, copies: int) -> int:
        """Write ``copies`` varied copies of every document; returns the passage count."""
        corpus_dir.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(self.seed)
        count = 0
        for c in range(copies):
            for d, (title, paragraphs) in enumerate(sorted(self.docs.items())):
                out = [f"{title} (edition {c + 1})", ""]
                # Every embedded text starts with the document's context
                # (these SQuAD paragraphs have no headings).
                prefix = context(out[0], "")
                for text, window, plain, sentence_vectors in paragraphs:
                    sentences = split_sentences(text)
                    if len(sentences) != len(sentence_vectors):
                        sentences, sentence_vectors = [text], []
                    changed = [self._vary(s, rng) for s in sentences]
                    paragraph = " ".join(changed)
                    self.known[prefix + paragraph] = self._near(window, rng)
                    self.known[paragraph] = self._near(plain, rng)  # its plain window
                    if len(changed) > 1:
                        for s, v in zip(changed, sentence_vectors, strict=True):
                            near = self._near(v, rng)
                            self.known[prefix + s] = near
                            self.known[s] = near  # for a plain window of a long paragraph
                    out += [paragraph, ""]
                    count += 1
                name = f"{c:04d}-{d:02d}.txt"
                (corpus_dir / name).write_text("\n".join(out), "utf-8")
        return count

    def _vary(self, sentence: str, rng: np.random.Generator) -> str:
        words = sentence.split(" ")
        inner = [i for i in range(1, len(words) - 1) if _WORD.match(words[i])]
        for i in rng.choice(inner, min(2, len(inner)), replace=False) if inner else []:
            words[i] = self.vocabulary[rng.integers(len(self.vocabulary))]
        return " ".join(words)

    def _near(self, vector: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        v = vector + 0.33 * rng.standard_normal(self.dim).astype(np.float32) / np.sqrt(self.dim)
        return (v / np.linalg.norm(v)).astype(np.float32)


class VariantEmbedder(Embedder):
    """Known texts get their stored vectors; anything else goes to the real model."""

    def __init__(self, real: Embedder, corpus: VariantCorpus) -> None:
        super().__init__(real.name, backend=real.backend)
        self._encoder = real.encoder  # share the loaded model
        self._corpus = corpus
        self.unknown = 0  # texts the real model had to encode

    def encode(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        known = self._corpus.known
        out = np.empty((len(texts), self._corpus.dim), dtype=np.float32)
        missing = []
        for i, t in enumerate(texts):
            if t in known:
                out[i] = known[t]
                continue
            # A window of a long paragraph: the mean of its sentences' vectors
            # (a plain window's sentences are known without the prefix too).
            prefix, _, body = t.partition(". ")
            parts = [known.get(f"{prefix}. {s}") for s in split_sentences(body)]
            if not parts or any(p is None for p in parts):
                parts = [known.get(s) for s in split_sentences(t)]
            if parts and all(p is not None for p in parts):
                mean = np.sum(parts, axis=0)
                out[i] = mean / np.linalg.norm(mean)
            else:
                missing.append(i)
        if missing:
            self.unknown += len(missing)
            out[missing] = super().encode([texts[i] for i in missing], batch_size=batch_size)
        return out


def squad_questions(path: Path, n: int, seed: int = 0) -> list[str]:
    """``n`` answerable SQuAD questions, a fixed sample."""
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    answerable = [r["question"] for r in rows if r.get("in_scope")]
    rng = np.random.default_rng(seed)
    return [
        answerable[i] for i in rng.choice(len(answerable), min(n, len(answerable)), replace=False)
    ]
