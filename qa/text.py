"""Small text utilities shared by indexing and retrieval: sentences and terms."""

from __future__ import annotations

import gzip
import importlib.util
import math
import re
from functools import lru_cache
from pathlib import Path

# A sentence ends at . ! or ? (plus closing quotes/brackets) followed by space
# and something that can start a sentence.  Common abbreviations and initials
# ("Mr. Healey", "U.S. forces", "J. Smith") do not end a sentence.
# The pattern starts at the . ! or ? itself (not with a look-behind), so the
# regex engine skips straight to those characters.
_BOUNDARY = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_NO_BREAK_BEFORE = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|St|Sr|Jr|Gen|Col|Lt|Sgt|Capt|Gov|Sen|Rep|Rev|Mt|No|Nos|vs|"
    r"etc|e\.g|i\.e|cf|approx|Inc|Ltd|Co|Corp|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)"
    r"|\b[A-Z]|\b(?:[A-Za-z]\.){2,})\.$"
)
# Bump when ``terms`` changes: a built index's BM25 vocabulary must be made
# the same way as the question's terms (qa/answer/retriever.py checks it).
TERM_SCHEME = 2
# A token is a run of two or more word characters, or a lone digit:
# ``\b\w\w+\b|\b\d\b``, found as the runs of ``\w+`` and then filtered
# (:func:`tokens`), which the regex engine finds without trying a word
# boundary at every position.
_RUN = re.compile(r"\w+")
# Two sentences say the same thing when they share this share of their
# content words (Jaccard).  On SQuAD dev's 6.3 million pairs of sentences from
# different paragraphs, the pairs at 0.75 and above restate one fact and the
# highest pair below is two different claims (0.67); see docs/retrieval.md.
NEAR_COPY = 0.7


def split_sentences(text: str) -> list[str]:
    """Split a paragraph into sentences, keeping each sentence verbatim.

    >>> split_sentences("It rained. Mr. Smith said so! Did it?")
    ['It rained.', 'Mr. Smith said so!', 'Did it?']
    """
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        candidate = text[start : match.start() + 1].rstrip()  # up to the . ! or ?
        if _no_break_before(candidate.rstrip("\"'”’)]")):
            continue
        sentences.append(text[start : match.end()].strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return [s for s in sentences if s]


_LETTERS_AND_DOTS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.")


def _no_break_before(text: str) -> bool:
    """Whether ``text`` ends with an abbreviation or initial (``_NO_BREAK_BEFORE``).

    Every match of that pattern is letters and dots that end the text, so
    the search starts where the text's last run of them starts (``\\b``
    still sees the character before): searching a whole long sentence
    from its first letter was most of the cost of splitting a paragraph.
    """
    if text.endswith("\n"):  # ``$`` also matches before a final newline
        return _NO_BREAK_BEFORE.search(text) is not None
    start = len(text)
    while start and text[start - 1] in _LETTERS_AND_DOTS:
        start -= 1
    return _NO_BREAK_BEFORE.search(text, start) is not None


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer  # PyStemmer: Snowball stemmers in C, what bm25s recommends

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    # bm25s's own English list has 33 words and keeps "what", "has", "did":
    # in a small corpus those outweigh the words that matter.
    path = Path(__file__).with_name("stopwords_en.txt")
    lines = path.read_text("utf-8").splitlines()
    return frozenset(w for w in lines if w and not w.startswith("#"))


def tokens(text: str) -> list[str]:
    """The words of ``text``: runs of two or more word characters, and lone digits.

    >>> tokens("A 3-day visit to the U.S. in 2024")
    ['3', 'day', 'visit', 'to', 'the', 'in', '2024']
    """
    return [w for w in _RUN.findall(text) if len(w) > 1 or w.isdecimal()]


def content_words(text: str) -> list[str]:
    """Lower-cased words of ``text`` that are not stop words.

    A word whose dictionary form is a stop word is one too: the list has
    "do" and "get" but not "did" and "got".
    """
    stop = _stopwords()
    return [w for w in tokens(text.lower()) if w not in stop and _lemma(w) not in stop]


@lru_cache(maxsize=1)
def _lemmatizer():  # type: ignore[no-untyped-def]
    # simplemma: a dictionary of English word forms, offline.  The stemmer
    # alone leaves irregular forms apart ("said"/"say", "led"/"lead",
    # "wrote"/"written"/"write"), and questions often use the other form.
    # The dictionary alone is what that needs (Snowball handles the regular
    # endings), and it is 2-4x faster than simplemma's full pipeline.
    import simplemma
    from simplemma.strategies import DictionaryLookupStrategy

    return simplemma.Lemmatizer(
        lemmatization_strategy=DictionaryLookupStrategy(_CachedDictionaries())
    )


class _CachedDictionaries:
    """simplemma's shipped dictionaries, decoded once per machine.

    simplemma keeps each language's table compressed and front-coded, and
    decoding the English one is 0.15-0.3 s of pure Python on the way to the
    first answer.  The decoded table is kept under qa's cache folder
    (``$QA_CACHE_DIR``, else ``~/.cache/qa``) as plain key and value bytes,
    named by simplemma's version and the data file's size and time, and
    reads in about 0.05 s.  A missing, stale or damaged copy is decoded again; if the
    folder cannot be written, every process decodes.
    """

    def get_dictionary(self, lang: str):  # type: ignore[no-untyped-def]
        return _dictionary(lang)  # asked once per word looked up: cached


@lru_cache(maxsize=4)
def _dictionary(lang: str):  # type: ignore[no-untyped-def]
    from simplemma.strategies.dictionaries import dictionary_factory as simplemma_tables

    if not hasattr(simplemma_tables, "_load_dictionary_from_disk"):  # another simplemma
        return simplemma_tables.DEFAULT_DICTIONARY_FACTORY.get_dictionary(lang)
    return simplemma_tables.MappingStrToByteString(_decoded_table(lang))


@lru_cache(maxsize=4)
def _decoded_table(lang: str) -> dict[bytes, bytes]:
    import os

    import simplemma
    from simplemma.strategies.dictionaries import dictionary_factory as simplemma_tables

    from qa.export import cache_root

    source = simplemma_tables.DATA_FOLDER / f"{lang}.plzma"
    stat = source.stat()
    release = getattr(simplemma, "__version__", "unknown")
    name = f"simplemma-{release}-{lang}-{stat.st_size}-{stat.st_mtime_ns}.pairs"
    cached = cache_root() / "lexicon" / name
    try:
        table = _read_pairs(cached.read_bytes())
        if table is not None:
            return table
    except OSError:
        pass
    table = simplemma_tables._load_dictionary_from_disk(lang)
    blob = _pairs(table)
    if blob is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
            partial.write_bytes(blob)
            os.replace(partial, cached)  # readers see the whole file or none
        except OSError:
            pass
    return table


# The decoded table's file: this header with the number of entries, then every
# key and value, separated by NUL bytes (which no word has).  Plain bytes, read
# with one split: nothing in it is executed or unpickled.
_PAIRS_HEADER = b"qa-word-table 1 "


def _pairs(table: dict[bytes, bytes]) -> bytes | None:
    if any(b"\0" in k or b"\0" in v for k, v in table.items()):
        return None
    body = b"\0".join(k + b"\0" + v for k, v in table.items())
    return _PAIRS_HEADER + str(len(table)).encode() + b"\n" + body


def _read_pairs(blob: bytes) -> dict[bytes, bytes] | None:
    """The table ``_pairs`` wrote, or None when the file is not whole."""
    head, _, body = blob.partition(b"\n")
    if not head.startswith(_PAIRS_HEADER) or not head[len(_PAIRS_HEADER) :].isdigit():
        return None
    import gc

    # 360,000 new objects and no cycles among them: the collector's passes
    # over them cost half the read.
    collecting = gc.isenabled()
    gc.disable()
    try:
        parts = body.split(b"\0")
        table = dict(zip(parts[::2], parts[1::2], strict=True)) if len(parts) % 2 == 0 else None
    finally:
        if collecting:
            gc.enable()
    return table if table is not None and len(table) == int(head[len(_PAIRS_HEADER) :]) else None


@lru_cache(maxsize=1 << 18)
def _lemma(word: str) -> str:
    return str(_lemmatizer().lemmatize(word, "en"))


def stems(words: list[str]) -> list[str]:
    """Each word's BM25 term: its dictionary form, stemmed.

    >>> stems(["said", "leads", "led", "countries", "wrote", "written"])
    ['say', 'lead', 'lead', 'countri', 'write', 'write']
    """
    return list(_stemmer().stemWords([_lemma(w) for w in words]))


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed content words of ``text``, for BM25 and overlap."""
    return stems(content_words(text))


def information(word: str) -> float:
    """How surprising ``word`` is in general English, in digits: -log10 of its
    frequency (common words about 3-4, rare names up to 9).

    This weighs question words independently of the corpus: a small corpus
    cannot tell a rare word from a common one.
    """
    if word.isascii() and word.isalpha():
        # What zipf_frequency returns for such a word (checked on every word of
        # SQuAD dev), without its tokenizer: a dictionary read.
        centibels = _centibels()
        if centibels is not None:
            cb = centibels.get(word)
            frequency = 10 ** (-cb / 100) if cb is not None else 0.0  # wordfreq's own formula
            return 9.0 - (round(math.log10(frequency) + 9, 2) if frequency > 0 else 0.0)
    from wordfreq import zipf_frequency  # word frequencies from many English sources

    return 9.0 - zipf_frequency(word, "en")


@lru_cache(maxsize=1)
def _centibels() -> dict[str, int] | None:
    """wordfreq's English list: each word's frequency in centibels, the ``cb``
    of ``10 ** (-cb / 100)`` that ``wordfreq.get_frequency_dict("en")`` gives.

    The file is read directly: importing wordfreq (langcodes, ftfy, their
    regexes) costs more than the read, and this is on the way to the first
    answer.  The format is wordfreq's "cBpack": a header, then one bucket of
    words per centibel of frequency (``tests/test_text.py`` checks it matches).
    Keeping the bucket number, not the float, halves the time to build the
    dictionary.  None when wordfreq's files are laid out otherwise.
    """
    spec = importlib.util.find_spec("wordfreq")
    folders = spec.submodule_search_locations if spec else None
    path = Path(folders[0]) / "data" / "large_en.msgpack.gz" if folders else None
    if path is None or not path.is_file():
        return None
    import msgpack

    with gzip.open(path, "rb") as file:
        header, *buckets = msgpack.load(file, raw=False)
    if not isinstance(header, dict) or (header.get("format"), header.get("version")) != ("cB", 1):
        raise ValueError(f"{path}: not a cBpack word list ({header!r})")
    centibels: dict[str, int] = {}
    for cb, bucket in enumerate(buckets):  # a word in two buckets keeps the later, as wordfreq
        centibels.update(dict.fromkeys(bucket, cb))
    return centibels


def near_copy(a: str, b: str) -> bool:
    """True when sentences ``a`` and ``b`` share most of their content words:
    one restates the other, as an article's conclusion often restates its lead.

    >>> near_copy("Trump agreed to provide such assurances.",
    ...           "Trump declined to provide such assurances.")
    False
    >>> near_copy("Ministers met in Brussels on Thursday to discuss the force.",
    ...           "Ministers met on Thursday in Brussels to discuss a force.")
    True
    """
    x, y = copy_terms(a), copy_terms(b)
    union = len(x | y)
    return union > 0 and len(x & y) / union >= NEAR_COPY


@lru_cache(maxsize=8192)
def copy_terms(sentence: str) -> frozenset[str]:
    """The words ``near_copy`` compares: stemmed words that are not stop words.

    Restatements share their words' surface forms, so this skips the
    dictionary forms of ``terms``: it runs on two passages' sentences for
    every answer, and those are often met for the first time.
    """
    stop = _stopwords()
    words = [w for w in tokens(sentence.lower()) if w not in stop]
    return frozenset(_stemmer().stemWords(words))


def has_digit(word: str) -> bool:
    """Whether ``word`` has a digit (a word of letters only has none: checked first)."""
    return not word.isalpha() and any(ch.isdigit() for ch in word)


@lru_cache(maxsize=8192)
def names(text: str) -> frozenset[str]:
    """The terms of the words ``text`` writes as names or figures: capitalized
    where no sentence starts, or with a digit.  Cached: the answer checks
    read the same question's and sentence's names several times.

    >>> sorted(names("The Swedish minister Pal Jonson said 30 countries met."))
    ['30', 'jonson', 'pal', 'swedish']
    """
    found: list[str] = []
    for sentence in split_sentences(text):
        for i, word in enumerate(tokens(sentence)):
            if (i > 0 and word[0].isupper()) or has_digit(word):
                found.append(word.lower())
    return frozenset(stems(found))
