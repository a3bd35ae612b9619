"""The retriever's old address: everything now lives in :mod:`qa.answer`."""

from qa.answer.question import MAX_QUESTION_CHARS
from qa.answer.retriever import SOURCES, Retriever, load
from qa.answer.types import FAQ, Answer, Passage

__all__ = ["FAQ", "MAX_QUESTION_CHARS", "SOURCES", "Answer", "Passage", "Retriever", "load"]
