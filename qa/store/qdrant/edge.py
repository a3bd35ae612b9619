"""qdrant-edge (Qdrant's own engine, in-process, beta) behind the client calls qa makes.

``qdrant-edge:PATH`` keeps each collection as an ``EdgeShard`` in
``PATH/collections/<name>/`` and the aliases in ``PATH/aliases.json``
(replaced atomically), so the Qdrant store's code runs unchanged on Qdrant's
real segments, HNSW and sparse indexes.  Edge has shards, not collections,
aliases or grouped queries: this module supplies those few, and only the
subset of qdrant-client's API that ``qa/store/qdrant/`` calls.  It is for
measuring and testing Edge (pip install qdrant-edge-py); qa does not depend
on it.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ALIASES = "aliases.json"


class EdgeClient:
    """The qdrant-client methods qa uses, over one folder of Edge shards."""

    def __init__(self, path: str) -> None:
        import qdrant_edge

        self.edge = qdrant_edge
        self.root = Path(path)
        (self.root / "collections").mkdir(parents=True, exist_ok=True)
        self._shards: dict[str, Any] = {}
        self._lock = threading.RLock()

    # ------------------------------------------------------------ collections

    def _shard(self, name: str) -> Any:
        name = self._aliases().get(name, name)
        with self._lock:
            shard = self._shards.get(name)
            if shard is None:
                folder = self.root / "collections" / name
                if not folder.is_dir():
                    raise ValueError(f"Collection {name} not found")
                shard = self._shards[name] = self.edge.EdgeShard.load(str(folder))
            return shard

    def get_collections(self) -> Any:
        names = sorted(p.name for p in (self.root / "collections").iterdir() if p.is_dir())
        return SimpleNamespace(collections=[SimpleNamespace(name=n) for n in names])

    def create_collection(
        self,
        name: str,
        vectors_config: dict[str, Any] | None = None,
        sparse_vectors_config: dict[str, Any] | None = None,
    ) -> bool:
        e = self.edge
        vectors = {
            n: e.EdgeVectorParams(size=p.size, distance=_distance(e, str(p.distance)))
            for n, p in (vectors_config or {}).items()
        }
        sparse = {
            n: e.EdgeSparseVectorParams(modifier=e.Modifier.Idf if p.modifier is not None else None)
            for n, p in (sparse_vectors_config or {}).items()
        }
        if not vectors and not sparse:  # a shard must have a vector: an unused sparse one
            sparse = {"unused": e.EdgeSparseVectorParams()}
        folder = self.root / "collections" / name
        with self._lock:
            self._shards[name] = e.EdgeShard.create(
                str(folder), e.EdgeConfig(vectors=vectors or None, sparse_vectors=sparse or None)
            )
        return True

    def delete_collection(self, name: str) -> bool:
        with self._lock:
            shard = self._shards.pop(name, None)
            if shard is not None:
                shard.close()
            shutil.rmtree(self.root / "collections" / name, ignore_errors=True)
        return True

    def flush_collection(self, name: str) -> None:
        self._shard(name).flush()

    # ------------------------------------------------------------ aliases

    def _aliases(self) -> dict[str, str]:
        try:
            return dict(json.loads((self.root / ALIASES).read_text("utf-8")))
        except FileNotFoundError:
            return {}

    def get_aliases(self) -> Any:
        return SimpleNamespace(
            aliases=[
                SimpleNamespace(alias_name=a, collection_name=c) for a, c in self._aliases().items()
            ]
        )

    def update_collection_aliases(self, change_aliases_operations: list[Any]) -> bool:
        with self._lock:
            aliases = self._aliases()
            for op in change_aliases_operations:
                if getattr(op, "delete_alias", None) is not None:
                    aliases.pop(op.delete_alias.alias_name, None)
                else:
                    target = op.create_alias.collection_name
                    if not (self.root / "collections" / target).is_dir():
                        raise ValueError(f"Collection {target} not found")
                    aliases[op.create_alias.alias_name] = target
            tmp = self.root / f".{ALIASES}.{os.getpid()}"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(aliases, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.root / ALIASES)  # every operation at once
        return True

    # ------------------------------------------------------------ points

    def upsert(self, collection_name: str, points: list[Any], wait: bool = True) -> None:
        e = self.edge
        converted = [
            e.Point(p.id, {n: self._vector(v) for n, v in (p.vector or {}).items()}, p.payload)
            for p in points
        ]
        self._shard(collection_name).update(e.UpdateOperation.upsert_points(converted))

    def retrieve(
        self,
        collection_name: str,
        ids: list[int],
        with_payload: Any = True,
        with_vectors: Any = False,
    ) -> list[Any]:
        return list(self._shard(collection_name).retrieve(list(ids), with_payload, with_vectors))

    def scroll(
        self,
        collection_name: str,
        limit: int = 10,
        offset: Any = None,
        with_payload: Any = True,
        with_vectors: Any = False,
    ) -> tuple[list[Any], Any]:
        request = self.edge.ScrollRequest(
            offset=offset, limit=limit, with_payload=with_payload, with_vector=with_vectors
        )
        points, following = self._shard(collection_name).scroll(request)
        return list(points), following

    def count(self, collection_name: str, exact: bool = True) -> Any:
        count = self._shard(collection_name).count(self.edge.CountRequest(exact=exact))
        return SimpleNamespace(count=int(count))

    def query_points(
        self,
        collection_name: str,
        query: Any,
        using: str | None = None,
        query_filter: Any = None,
        limit: int = 10,
        with_payload: Any = False,
        with_vectors: Any = False,
        **_: Any,
    ) -> Any:
        e = self.edge
        request = e.QueryRequest(
            limit=limit,
            query=e.Query.Nearest(self._vector(query), using=using),
            filter=self._filter(query_filter),
            with_payload=with_payload,
            with_vector=with_vectors,
        )
        return SimpleNamespace(points=list(self._shard(collection_name).query(request)))

    def query_points_groups(
        self,
        collection_name: str,
        query: Any,
        group_by: str,
        using: str | None = None,
        group_size: int = 1,
        limit: int = 10,
        query_filter: Any = None,
        **_: Any,
    ) -> Any:
        """The best ``limit`` groups, one hit each: Edge has no grouping, so read
        more hits until ``limit`` distinct groups are found or there are no more."""
        assert group_size == 1, "qa groups one sentence per passage"
        want = limit * 4
        while True:
            hits = self.query_points(
                collection_name,
                query,
                using=using,
                query_filter=query_filter,
                limit=want,
                with_payload=[group_by],
            ).points
            groups: dict[int, Any] = {}
            for hit in hits:  # best first
                groups.setdefault(int(hit.payload[group_by]), hit)
            if len(groups) >= limit or len(hits) < want:
                best = list(groups.items())[:limit]
                return SimpleNamespace(groups=[SimpleNamespace(id=g, hits=[h]) for g, h in best])
            want *= 4

    # ------------------------------------------------------------ conversions

    def _vector(self, vector: Any) -> Any:
        if hasattr(vector, "indices"):
            return self.edge.SparseVector(list(vector.indices), list(vector.values))
        return list(vector)

    def _filter(self, where: Any) -> Any:
        if where is None:
            return None
        must = [self._condition(c) for c in where.must or []]
        should = [self._condition(c) for c in where.should or []]
        return self.edge.Filter(must=must or None, should=should or None)

    def _condition(self, condition: Any) -> Any:
        """A qdrant-client condition as Edge's: ids, an integer range, or a match of any value."""
        e = self.edge
        if getattr(condition, "has_id", None) is not None:
            return e.HasIdCondition(set(condition.has_id))
        key = getattr(condition, "key", None)
        if key is not None and condition.range is not None:
            r = condition.range
            return e.FieldCondition(key, range=e.RangeFloat(gte=r.gte, gt=r.gt, lte=r.lte, lt=r.lt))
        if key is not None and getattr(condition.match, "any", None) is not None:
            return e.FieldCondition(key, match=e.MatchAny(list(condition.match.any)))
        raise NotImplementedError(f"qa's Edge bridge has no {type(condition).__name__}")

    def close(self) -> None:
        with self._lock:
            for shard in self._shards.values():
                shard.close()
            self._shards.clear()


def _distance(edge: Any, name: str) -> Any:
    return {"Dot": edge.Distance.Dot, "Cosine": edge.Distance.Cosine}[name.capitalize()]
