"""Import Gradio without the work it does on every import that the page never needs.

Each time Gradio is imported, its component metaclass rewrites the
components' type stubs: for every component class it reads the class's
source file, parses it, renders a template and compares the result with the
``.pyi`` file beside it (``gradio.component_meta.create_or_modify_pyi``).
The stubs only serve editors, they ship in the wheel already, and the work
costs about half of ``import gradio``: 2.1 s of CPU out of 3.7 s on the test
machine (docs/performance.md, "Cold start").  :func:`import_gradio` imports
Gradio with that one function turned off, so the page starts sooner.
If a later Gradio has no such function, the import is plain.

Gradio also imports pandas (and with it pyarrow) as it starts, for its
``gr.cache`` hashing and its DataFrame and plot components, none of which
the page uses: 0.5 s of the import.  :func:`import_gradio` puts a stand-in
for pandas in ``sys.modules`` first (:class:`_Deferred`); the first read of
any of its attributes imports the real pandas, so code that does use it
works as before, only later.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Sequence
from types import ModuleType
from typing import Any

_STUBS = "gradio.component_meta"
_WRITER = "create_or_modify_pyi"
_DEFERRED = ("pandas",)  # imported by Gradio as it starts, used by nothing on the page


def import_gradio() -> ModuleType:
    """``import gradio``, skipping its type-stub rewriting if not yet imported."""
    if "gradio" not in sys.modules:
        for name in _DEFERRED:
            _defer(name)
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


def _defer(name: str) -> None:
    """Stand in for module ``name`` until something reads from it (if it is
    installed and not imported yet)."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is not None:
        sys.modules[name] = _Deferred(name, spec)


class _Deferred(ModuleType):
    """A module not imported yet: ``import name`` binds this stand-in (the import
    statement reads only its ``__spec__``), and the first attribute read from it
    imports the real module, which every later read goes to.

    (``importlib.util.LazyLoader`` cannot do this before Python 3.12: the
    import statement's read of ``__spec__`` loads the module.)
    """

    _lock = threading.Lock()

    def __init__(self, name: str, spec: importlib.machinery.ModuleSpec) -> None:
        super().__init__(name)
        self.__spec__ = spec
        self.__loader__ = spec.loader
        self.__package__ = name

    def __getattr__(self, attr: str) -> Any:  # only for what the stand-in lacks
        with self._lock:
            real = self.__dict__.get("_real")
            if real is None:
                if sys.modules.get(self.__name__) is self:
                    del sys.modules[self.__name__]
                real = importlib.import_module(self.__name__)
                self.__dict__["_real"] = real
        return getattr(real, attr)
