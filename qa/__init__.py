"""qa: answers questions about a set of articles, from their own words.

The library in five names::

    import qa
    qa.build("corpus", "index")            # parse, embed, index
    retriever = qa.load("index")
    answer = retriever.ask("Who leads the coalition?")
    answer.answered, answer.passage.text, answer.faq, answer.confidence
    retriever.search("Who leads the coalition?", k=5)
    qa.parse("corpus/article.pdf")          # how qa reads one file: title, passages, FAQs

Every error raised on purpose is a :class:`qa.QAError` whose message says what to do.
"""

from qa.answer import FAQ, Answer, Passage, Retriever, load
from qa.document import parse
from qa.errors import QAError
from qa.index import BuildReport, build

__all__ = [
    "FAQ",
    "Answer",
    "BuildReport",
    "Passage",
    "QAError",
    "Retriever",
    "build",
    "load",
    "parse",
]
__version__ = "0.1.0"
