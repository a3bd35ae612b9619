"""What ``ask()`` costs after the encode, with the CPU's caches warm and right after an encode.

    python bench/after_encode.py --index DIR --questions FILE [--n 200]

Each question's vector is computed once beforehand, and the embedder hands
it back, so only the work after the encode is timed: the whole ``ask()``
and, beside it, the floor's one flat FAISS search (bench/latency.py).  Each
is timed twice per question, interleaved: right after the same call (every
cache warm), and right after the model encodes another question (untimed),
as in real use, where every question's own encode comes just before its
search.  The encode reads the model's weights, which evicts what the
search and the ranking had in the caches.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench/ is in the checkout, not the qa package

import qa  # noqa: E402
from bench.common import timed  # noqa: E402
from bench.latency import flat_floor_index  # noqa: E402
from qa.embed import Embedder  # noqa: E402
from qa.fit.common import MemoEmbedder  # noqa: E402


def measure(index: Path, questions: list[str]) -> dict[str, float]:
    # The memo hands back each question's vector (and each word the aliases
    # encode) after its first encode; Embedder.encode on it encodes for real.
    memo = MemoEmbedder()
    retriever = qa.load(index, embedder=memo)
    floor = flat_floor_index(index)
    k = min(64, floor.ntotal)
    for q in questions:  # every vector, lazy part and per-word cache once
        retriever.ask(q)

    def ms(f: Callable[[], object]) -> float:
        return timed(f)[0] * 1000

    def encode(text: str) -> None:
        Embedder.encode(memo, [text])

    times: dict[str, list[float]] = {
        k: [] for k in ("encode", "ask_warm", "ask_after", "floor_warm", "floor_after")
    }
    for n, q in enumerate(questions):
        other = questions[n - 1]
        qvec = memo.encode([q])
        times["encode"].append(ms(lambda o=other: encode(o)))
        times["ask_after"].append(ms(lambda q=q: retriever.ask(q)))
        times["ask_warm"].append(ms(lambda q=q: retriever.ask(q)))
        encode(other)
        times["floor_after"].append(ms(lambda v=qvec: floor.search(v, k)))
        times["floor_warm"].append(ms(lambda v=qvec: floor.search(v, k)))
    med = {name: round(statistics.median(v), 3) for name, v in times.items()}
    enc = med["encode"]
    med["ratio_if_warm"] = round((enc + med["ask_warm"]) / (enc + med["floor_warm"]), 3)
    med["ratio"] = round((enc + med["ask_after"]) / (enc + med["floor_after"]), 3)
    return med


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--index", type=Path, required=True, help="a built index")
    p.add_argument("--questions", type=Path, required=True, help="a qa eval JSONL file")
    p.add_argument("--n", type=int, default=200, help="questions to time (default: 200)")
    args = p.parse_args()
    rows = [json.loads(line) for line in args.questions.read_text().splitlines() if line.strip()]
    questions = list(dict.fromkeys(r["question"] for r in rows if "question" in r))[: args.n]
    print(json.dumps(measure(args.index, questions), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
