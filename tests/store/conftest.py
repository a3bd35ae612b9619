"""Every Store implementation, built once per kind over a small real corpus."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import qa
from qa.embed import Embedder
from qa.store import Location, Store, open_store
from tests.conftest import SEED

# A second document, so searches choose among articles, not one.
SOLAR = (
    (
        "Solar Power in Spain\nGrowth\n"
        "Spain added record solar capacity in 2024, mostly in the south. "
        "Andalusia alone connected more panels than any other region.\n"
        "Prices\n"
        "Midday electricity prices fell below zero on sunny spring days. "
        "Grid operators asked for more storage to absorb the surplus.\n"
        "Batteries\n"
        "Large batteries were installed beside solar farms in Extremadura. "
        "They store the midday surplus and release it in the evening peak.\n"
        "Jobs\n"
        "Installers reported a shortage of electricians. "
        "Training schools in Seville doubled their intake.\n"
    )
    + """FAQs
- Where was most capacity added?
- Mostly in the south, in Andalusia.
- Why did prices fall below zero?
- Because sunny days produced more power than the grid could use.
"""
)


@dataclass(frozen=True)
class StoreKind:
    """How to make, open and break one kind of store in a test."""

    name: str
    location: Callable[[Path], Location]
    damage: Callable[[Location], None]


def _damage_folder(location: Location) -> None:
    from qa.store.local.files import build_dir

    (build_dir(location) / "units.faiss").write_bytes(b"not a FAISS index")


def _damage_qdrant(location: Location) -> None:
    from qa.store.qdrant.connection import connect
    from qa.store.qdrant.layout import live_build, parts
    from qa.store.qdrant.location import parse

    where = parse(location)
    assert where is not None
    conn = connect(where)
    build = live_build(conn)
    assert build is not None
    conn.call("delete_collection", parts(build)["units"])


KINDS = [
    StoreKind("local", lambda tmp: tmp / "index", _damage_folder),
    # qdrant-client's local mode: the Qdrant store's code, without a server.
    StoreKind("qdrant-local", lambda tmp: f"qdrant:{tmp / 'qdrant'}", _damage_qdrant),
]
if importlib.util.find_spec("qdrant_edge") is not None:
    # Qdrant's own engine in-process (beta), where it is installed (make test installs it).
    KINDS.append(
        StoreKind("qdrant-edge", lambda tmp: f"qdrant-edge:{tmp / 'edge'}", _damage_qdrant)
    )


@pytest.fixture(scope="module", params=KINDS, ids=lambda k: k.name)
def kind(request: pytest.FixtureRequest) -> StoreKind:
    return request.param  # type: ignore[no-any-return]


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SEED, folder / SEED.name)
    (folder / "solar.txt").write_text(SOLAR, "utf-8")
    return folder


@pytest.fixture(scope="module")
def built(
    kind: StoreKind, tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> tuple[Location, Store]:
    tmp = tmp_path_factory.mktemp(f"store-{kind.name}")
    location = kind.location(tmp)
    qa.build(write_corpus(tmp / "corpus"), location, embedder=embedder)
    return location, open_store(location)
