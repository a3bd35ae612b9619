"""From "a question came in" to "here is the Answer".

question.py   clean and cut the question to what the model reads
policy.py     decide(): answer, decline, read as a follow-up, or small talk
followup.py   a question read alone and with the conversation's words
smalltalk.py  greetings, thanks, "what can you do?"
suggest.py    questions the corpus does answer
types.py      Answer, Passage, FAQ: the one declaration of the reply's shape
retriever.py  Retriever: question -> rank -> policy -> Answer
"""

from qa.answer.retriever import Retriever, load
from qa.answer.types import FAQ, Answer, Passage, Turn

__all__ = ["FAQ", "Answer", "Passage", "Retriever", "Turn", "load"]
