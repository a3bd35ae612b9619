"""The folder store: today's index folder, the default."""

from qa.store.local.store import LocalStore
from qa.store.local.writer import LocalWriter

__all__ = ["LocalStore", "LocalWriter"]
