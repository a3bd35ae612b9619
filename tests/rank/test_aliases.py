"""Another name of a word in the articles: the pair model and the 'not mentioned' line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import qa
from qa import words as wordvectors
from qa.embed import Embedder
from qa.rank.aliases import AliasModel, corpus_names, pair_features

ROOT = Path(__file__).resolve().parents[2]


def _probability(model: AliasModel, embedder: Embedder, word: str, other: str) -> float:
    wl = wordvectors.vectors([word, other])
    ml = embedder.encode([word, other])
    row = pair_features(word, [other], wl[0], wl[1:], np.array([float(ml[0] @ ml[1])]))
    return float(model.probabilities(row)[0])


# Pairs the model was never fit on (scripts/data/word_pairs.json, "held_out").
ALIASES = [
    ("Scandinavian", "Swedish"),
    ("UK", "British"),
    ("Netherlands", "Dutch"),
    ("American", "US"),
]
NOT_ALIASES = [
    ("Germany", "England"),
    ("Germany", "France"),
    ("Dutch", "German"),
    ("Italy", "European"),  # a member is not its group: "European" does not mention Italy
    ("Swedish", "Scandinavian"),
]


@pytest.mark.parametrize(("word", "other"), ALIASES)
def test_another_name_of_a_thing_is_an_alias(embedder: Embedder, word: str, other: str) -> None:
    model = AliasModel.default()
    assert _probability(model, embedder, word, other) >= model.threshold


@pytest.mark.parametrize(("word", "other"), NOT_ALIASES)
def test_things_of_one_kind_are_not_aliases(embedder: Embedder, word: str, other: str) -> None:
    model = AliasModel.default()
    assert _probability(model, embedder, word, other) < model.threshold


def test_the_fit_says_what_made_it_and_its_held_out_scores() -> None:
    made = json.loads((ROOT / "qa/rank/aliases.json").read_text("utf-8"))["provenance"]
    assert made["command"] == "python -m qa.fit.aliases"
    assert made["scores"]["held_out_auroc"] >= 0.9
    assert made["scores"]["held_out_recall"] >= 0.9


def test_corpus_names_are_capitalized_words_but_not_stop_words() -> None:
    names = corpus_names(["Dutch defence minister Ruben Brekelmans said. The UK's view."])
    assert names == ["Dutch", "Ruben", "Brekelmans", "UK"]


def test_a_word_named_another_way_in_the_articles_is_not_said_to_be_missing(
    seed_retriever: qa.Retriever,
) -> None:
    answer = seed_retriever.ask("Which Scandinavian country might take part?")
    assert answer.missing == ()
    assert answer.to_dict()["missing_note"] == ""
    # "Sweden" is Finland's neighbour, not its name; "European" names no one country.
    assert seed_retriever.ask("Is Italy joining?").missing == ("Italy",)
    assert seed_retriever.ask("What did the Netherlands say?").missing == ()


def test_loading_an_index_does_not_load_the_word_vectors(seed_index: Path) -> None:
    code = (
        "import sys, qa; r = qa.load(sys.argv[1]); r.ask('Who leads the coalition?'); "
        "print('wordllama' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(seed_index)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert out.stdout.strip() == "False"
