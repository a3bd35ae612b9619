"""Gradio imported without its type-stub rewriting and without pandas, and still whole."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
from qa.app.gradio_import import import_gradio
gr = import_gradio()
import gradio.component_meta as meta
assert meta.create_or_modify_pyi.__module__ == "qa.app.gradio_import", "stub writer still on"
assert not any(type(f).__name__ == "_SkipStubs" for f in sys.meta_path), "finder left"
with gr.Blocks() as page:
    box = gr.Textbox()
    box.submit(lambda s: s, box, box)
print(type(page).__name__, gr.__version__)
"""


def test_gradio_imports_whole_without_rewriting_its_stubs() -> None:
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("Blocks ")


def test_an_already_imported_gradio_is_left_as_it_is() -> None:
    code = (
        "import gradio, gradio.component_meta as m\n"
        "from qa.app.gradio_import import import_gradio\n"
        "assert import_gradio() is gradio\n"
        "assert m.create_or_modify_pyi.__module__ == 'gradio.component_meta'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


DEFERRED = """
import sys
from qa.app.gradio_import import import_gradio
import_gradio()
assert "pandas.core.frame" not in sys.modules, "pandas imported with Gradio"
import gradio.caching, pandas
assert gradio.caching.pd is pandas  # Gradio holds the stand-in
frame = gradio.caching.pd.DataFrame({"a": [1, 2]})  # the first read imports pandas
assert "pandas.core.frame" in sys.modules and int(frame["a"].sum()) == 3
import pandas as real
assert real is sys.modules["pandas"] and real is not pandas and real.DataFrame is pandas.DataFrame
from pandas import Series
assert Series([1.5]).sum() == 1.5
print("ok")
"""


def test_pandas_is_imported_only_when_something_reads_from_it() -> None:
    done = subprocess.run([sys.executable, "-c", DEFERRED], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == "ok\n"
