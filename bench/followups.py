"""Follow-up cost: ``ask`` with a 5-turn history against ``ask`` alone.

    python bench/followups.py            # seed corpus; prints a table, writes bench/results/
    python bench/followups.py --rounds 50

Target (issue #15): a question with a 5-turn history of ``Answer``s costs at
most 1.3x the same question alone, encodes included.  History given as
plain strings is measured too (it is read the same way, as written).
The machine is shared and noisy: every figure is a median of interleaved
rounds, and the target is a ratio of two things measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import qa  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TARGET = 1.3
# A conversation about the seed corpus: five turns, then the follow-ups timed.
HISTORY = (
    "Where did the defence ministers meet?",
    "Who leads the coalition of the willing?",
    "What did the British defence secretary say?",
    "What has Ukraine said about a ceasefire?",
    "Which minister mentioned a ceasefire monitoring force?",
)
QUESTIONS = (
    "And Russia?",
    "What country is he from?",
    "What did he say about the mission?",
    "Has Trump provided it?",
    "Where did the meeting take place?",
    "What is the capital of Australia?",
)


def run(rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="qa-bench-followups-") as tmp:
        qa.build(ROOT / "corpus", Path(tmp) / "index", progress=False)
        retriever = qa.load(Path(tmp) / "index")
        answers: list[qa.Answer] = []
        for q in HISTORY:
            answers.append(retriever.ask(q, answers))
        strings = list(HISTORY)
        ways = {
            "alone": lambda q: retriever.ask(q),
            "history of 5 Answers": lambda q: retriever.ask(q, answers),
            "history of 5 strings": lambda q: retriever.ask(q, strings),
        }
        for q in QUESTIONS:  # warm every path
            for way in ways.values():
                way(q)
        samples: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(rounds):
            for q in QUESTIONS:
                for name, way in ways.items():  # interleaved: noise hits all alike
                    start = time.perf_counter()
                    way(q)
                    samples[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(s) * 1000 for name, s in samples.items()}
    base = medians["alone"]
    return {
        "rounds": rounds,
        "questions": len(QUESTIONS),
        "median_ms": {k: round(v, 3) for k, v in medians.items()},
        "ratio": {k: round(v / base, 3) for k, v in medians.items()},
        "target": TARGET,
        "met": medians["history of 5 Answers"] / base <= TARGET,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    result = run(args.rounds)
    print(f"{'ask':<24}{'median ms':>10}{'x alone':>9}")
    for name, value in result["median_ms"].items():
        print(f"{name:<24}{value:>10.2f}{result['ratio'][name]:>9.2f}")
    verdict = "met" if result["met"] else "NOT met"
    print(f"target: a 5-turn history of Answers <= {TARGET}x alone: {verdict}")
    result["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"followups-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=1) + "\n", "utf-8")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
