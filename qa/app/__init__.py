"""The chat app: the Gradio page over the library, with a JSON API.

- :mod:`qa.app.render`: the replies' HTML, as pure functions (no Gradio);
- :mod:`qa.app.chat`: what the page does, without Gradio (:class:`~qa.app.chat.Chat`);
- :mod:`qa.app.page`: the Gradio page, the ``/ask`` API and :func:`serve`.

The index it answers from, rebuilt at start and reloaded on a new build, is
:class:`qa.live.LiveIndex`.  docs/app.md describes the page and its settings.
"""

from qa.app.page import serve

__all__ = ["serve"]
