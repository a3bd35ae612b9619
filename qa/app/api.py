"""A plain JSON API beside Gradio's, on the same FastAPI app and port.

    POST /api/ask     {"question": "...", "history": [...], "docs": ["file.txt", ...]}
    GET  /api/health  whether an index is loaded, its build id, and any rebuild
    /api/documents    the Library (qa/app/library.py)

``/openapi.json`` documents both.  Every error is a 4xx (503 while the index
cannot be served) with a one-line ``{"error": "..."}`` body, never a 500.
When the page has a login, these routes need the same credentials: HTTP
Basic, or the page's session cookie.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import secrets
import threading
import typing
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError, create_model, field_validator

from qa.answer.types import Answer, Shown, shown_fields
from qa.errors import QAError
from qa.live import LiveIndex

# A question is at most 1,000 characters (qa.answer.question.MAX_QUESTION_CHARS) and
# a history a few dozen of them: 64 KiB is far more than any honest request.
MAX_BODY_BYTES = 64 * 1024
MAX_HISTORY = 50


class AskRequest(BaseModel):
    """The body of ``POST /api/ask``."""

    question: str = Field(min_length=1, description="The question, in plain text.")
    history: list[str] = Field(
        default_factory=list,
        description="The conversation's earlier questions, oldest first.  Pass each "
        "earlier reply's read_as to carry context over several follow-ups.",
    )
    docs: list[str] = Field(
        default_factory=list,
        description="Documents to answer from, by file name or title (GET /api/documents); "
        "empty means all.  An unknown name is a 422 that lists the documents.",
    )

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is blank; type a question about the articles")
        return value


def _pydantic_type(f: Shown) -> Any:
    """The Pydantic annotation of one field of :mod:`qa.answer.types`."""
    args = typing.get_args(f.type)
    if f.nested:
        inner: type = next(a for a in args if isinstance(a, type) and dataclasses.is_dataclass(a))
        return _reply_model(f"Ask{inner.__name__}", f.nested, inner.__doc__ or "") | None
    if typing.get_origin(f.type) is tuple:
        return list[args[0]]  # type: ignore[valid-type]
    return f.type


def _reply_model(name: str, fields: tuple[Shown, ...], doc: str) -> type[BaseModel]:
    spec: dict[str, Any] = {
        f.name: (_pydantic_type(f), Field(description=f.description)) for f in fields
    }
    return create_model(name, __doc__=doc, **spec)


# Derived from qa.answer.types, the one declaration of an answer's fields.
AskReply = _reply_model(
    "AskReply", shown_fields(Answer), "The reply of ``POST /api/ask`` and ``/ask``: an Answer."
)


class Health(BaseModel):
    ready: bool
    build: str | None = Field(description="The build answering now (changes when one goes live).")
    status: str
    rebuilding: bool = Field(False, description="A rebuild runs or is queued.")
    rebuild: dict[str, Any] | None = Field(
        None, description="The Library's rebuild: stage, done, total, last, failed."
    )


class ErrorReply(BaseModel):
    error: str


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def authorized(request: Request, auth: tuple[str, str] | None) -> bool:
    """Whether ``request`` carries the page's login: HTTP Basic or the session cookie."""
    if auth is None:
        return True
    app = request.app
    cookie_id = getattr(app, "cookie_id", None)
    tokens = getattr(app, "tokens", {})
    for name in (f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}"):
        token = request.cookies.get(name)
        if token and tokens.get(token) == auth[0]:
            return True
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    # Both compared in full, so the time taken tells nothing about either.
    return secrets.compare_digest(user, auth[0]) & secrets.compare_digest(password, auth[1])


def login_required() -> JSONResponse:
    """The 401 of a request without the login."""
    return _error(
        401,
        "log in: send the page's user and password (HTTP Basic)",
        **{"WWW-Authenticate": 'Basic realm="qa"'},
    )


def router(
    live: LiveIndex,
    auth: tuple[str, str] | None = None,
    concurrency: int = 4,
    rebuild: Callable[[], dict[str, Any]] | None = None,
) -> APIRouter:
    """The ``/api`` routes, answering from ``live``.

    Args:
        live: The index to answer from.
        auth: The page's login, if it has one; the routes then need it too.
        concurrency: At most this many questions are answered at once.
        rebuild: The background rebuild's state, for ``/api/health``.
    """
    slots = threading.BoundedSemaphore(concurrency)
    api = APIRouter(prefix="/api", tags=["qa"])
    errors: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorReply, "description": why}
        for code, why in (
            (400, "The body is not JSON."),
            (401, "A login is set and the request lacks it."),
            (413, "The body is larger than 64 KiB."),
            (422, "The question is missing, empty, or of the wrong type, or a doc is unknown."),
            (503, "The index is not ready."),
        )
    }

    def allowed(request: Request) -> bool:
        return authorized(request, auth)

    @api.post(
        "/ask",
        response_model=None,
        responses={200: {"model": AskReply}, **errors},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": AskRequest.model_json_schema()}},
            }
        },
        summary="Answer a question from the articles, with its conversation",
    )
    async def ask(request: Request) -> JSONResponse:
        """Answer ``question``, reading it with ``history`` when it is a follow-up."""
        if not allowed(request):
            return login_required()
        body = await _read_body(request)
        if isinstance(body, JSONResponse):
            return body
        parsed = _parse(body)
        if isinstance(parsed, JSONResponse):
            return parsed
        question, history, docs = parsed
        from starlette.concurrency import run_in_threadpool

        def answer() -> dict[str, Any] | JSONResponse:
            with slots:
                retriever = live.get()
                try:
                    scoped = retriever.within(docs) if docs else retriever
                except QAError as exc:  # a document name that is not in the index
                    return _error(422, str(exc))
                return scoped.ask(question, history).to_dict()

        try:
            reply = await run_in_threadpool(answer)
        except QAError as exc:
            return _error(503, str(exc))
        return reply if isinstance(reply, JSONResponse) else JSONResponse(reply)

    @api.get(
        "/health",
        response_model=Health,
        responses={401: errors[401]},
        summary="Whether an index is loaded, and which build",
    )
    def health(request: Request) -> Any:
        """Whether the app can answer now, and the id of the build it answers from."""
        if not allowed(request):
            return login_required()
        state = rebuild() if rebuild is not None else None
        building = {
            "rebuilding": bool(state and (state["running"] or state["queued"])),
            "rebuild": state,
        }
        try:
            live.wait(timeout=0)
            retriever = live.get()
        except QAError as exc:
            return JSONResponse({"ready": False, "build": None, "status": str(exc), **building})
        return {"ready": True, "build": retriever.build_id, "status": live.status(), **building}

    return api


async def _read_body(request: Request) -> bytes | JSONResponse:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return _error(413, f"the body is over {MAX_BODY_BYTES} bytes; send one short question")
    body = b""
    async for chunk in request.stream():  # a body sent without a length is counted as it comes
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return _error(413, f"the body is over {MAX_BODY_BYTES} bytes; send one short question")
    return body


def _parse(body: bytes) -> tuple[str, list[str], list[str]] | JSONResponse:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _error(400, 'the body is not JSON; send {"question": "...", "history": [...]}')
    try:
        request = AskRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the body"
        message = str(first["msg"]).removeprefix("Value error, ")
        return _error(
            422,
            f"{where}: {message}; send a JSON object "
            '{"question": "...", "history": ["earlier question", ...]}',
        )
    # Only the latest turns are read anyway.
    return request.question, request.history[-MAX_HISTORY:], request.docs
