"""The Qdrant store: a server or cluster by URL, or qdrant-client's local mode in a folder.

Locations (``qa/store/qdrant/location.py``), the collections a build writes
(``layout.py``), BM25 as sparse vectors (``bm25.py``), reading
(``store.py``) and writing (``writer.py``).  qdrant-client is imported only
when a Qdrant location is used.
"""

from qa.store.qdrant.location import QdrantLocation, parse
from qa.store.qdrant.store import QdrantStore
from qa.store.qdrant.writer import QdrantWriter

__all__ = ["QdrantLocation", "QdrantStore", "QdrantWriter", "parse"]
