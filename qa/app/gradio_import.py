"""Import Gradio without the type-stub work it does on every import.

Each time Gradio is imported, its component metaclass rewrites the
components' type stubs: for every component class it reads the class's
source file, parses it, renders a template and compares the result with the
``.pyi`` file beside it (``gradio.component_meta.create_or_modify_pyi``).
The stubs only serve editors, they ship in the wheel already, and the work
costs about half of ``import gradio``: 2.1 s of CPU out of 3.7 s on the test
machine (docs/performance.md, "Cold start").  :func:`import_gradio` imports
Gradio with that one function turned off, so the page starts sooner.

If a later Gradio has no such function, the import is plain.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

_STUBS = "gradio.component_meta"
_WRITER = "create_or_modify_pyi"


def import_gradio() -> ModuleType:
    """``import gradio``, skipping its type-stub rewriting if not yet imported."""
    if "gradio" not in sys.modules:
        finder = _SkipStubs()
        sys.meta_path.insert(0, finder)
        try:
            import gradio  # noqa: F401
        finally:
            if finder in sys.meta_path:
                sys.meta_path.remove(finder)
    return sys.modules["gradio"]


class _SkipStubs(importlib.abc.MetaPathFinder):
    """Finds ``gradio.component_meta`` as usual, then turns its stub writer off."""

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name != _STUBS:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            spec.loader = _Loader(spec.loader)
        return spec


class _Loader(importlib.abc.Loader):
    def __init__(self, loader: importlib.machinery.SourceFileLoader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        if callable(getattr(module, _WRITER, None)):
            setattr(module, _WRITER, _skip)

    def __getattr__(self, name: str) -> Any:  # get_source, get_filename, ...: the real loader's
        return getattr(self.loader, name)


def _skip(*args: object, **kwargs: object) -> None:
    """What the stub writer does instead: nothing."""
