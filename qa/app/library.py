"""The Library's JSON routes: list, upload, remove and show the corpus's documents.

    GET    /api/documents         every file: title, format, passages, FAQ pairs,
                                  size, when added, read / skipped (why) / pending
    POST   /api/documents         multipart upload, field "files", one or more files
    GET    /api/documents/{name}  what `qa show --json` prints for that file
    DELETE /api/documents/{name}  remove that file

They need the page's login as ``/api/ask`` does.  Uploads and removals are
on when the app has a login (``--auth``) or was started with
``--allow-edits``; otherwise they answer 403, saying how to turn them on.
An upload answers once every file is saved and the rebuild is started; a
refused file is a 4xx naming it and the reason, and nothing is written.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from qa.app.api import authorized, login_required
from qa.corpus import MAX_FILE_BYTES
from qa.errors import QAError
from qa.library import Library, RefusedFile
from qa.live import LiveIndex
from qa.rebuild import Rebuilder

# Files one upload may carry; more are refused before any is read.
MAX_FILES = 20
EDITS_OFF = (
    "uploads and removals are off: start the app with --auth USER:PASSWORD "
    "(or, on a machine only you can reach, --allow-edits)"
)


def edits_enabled(auth: tuple[str, str] | None, allow_edits: bool) -> bool:
    """Whether the Library may change the corpus: with a login, or when allowed outright."""
    return auth is not None or allow_edits


def listing(library: Library, live: LiveIndex) -> list[dict[str, Any]]:
    """``GET /api/documents``: the corpus files with how the live build read them."""
    try:
        retriever = live.wait(timeout=0)
        retriever = live.get()
    except QAError:
        return library.listing(None, {})
    return library.listing(retriever.manifest, retriever.catalog.counts())


def router(
    library: Library,
    live: LiveIndex,
    rebuilder: Rebuilder,
    auth: tuple[str, str] | None = None,
    allow_edits: bool = False,
) -> APIRouter:
    """The ``/api/documents`` routes over ``library``; changes start ``rebuilder``."""
    api = APIRouter(prefix="/api", tags=["library"])
    can_edit = edits_enabled(auth, allow_edits)

    def refused(exc: RefusedFile, status: int = 422) -> JSONResponse:
        return JSONResponse(
            {"error": str(exc), "file": exc.name, "reason": exc.reason}, status_code=status
        )

    @api.get("/documents", summary="The corpus's documents and how each was read")
    def documents(request: Request) -> Any:
        if not authorized(request, auth):
            return login_required()
        return {
            "documents": listing(library, live),
            "edits": can_edit,
            "rebuild": rebuilder.state.to_dict(),
        }

    @api.post(
        "/documents",
        summary="Upload files (multipart field 'files') into the corpus",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "files": {
                                    "type": "array",
                                    "items": {"type": "string", "format": "binary"},
                                }
                            },
                            "required": ["files"],
                        }
                    }
                },
            }
        },
    )
    async def upload(request: Request) -> Any:
        if not authorized(request, auth):
            return login_required()
        if not can_edit:
            return JSONResponse({"error": EDITS_OFF}, status_code=403)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_FILES * (MAX_FILE_BYTES + 4096):
            return JSONResponse(
                {"error": f"the upload is too large; send at most {MAX_FILES} files"},
                status_code=413,
            )
        try:
            form = await request.form(
                max_files=MAX_FILES, max_fields=10, max_part_size=MAX_FILE_BYTES + 1
            )
        except Exception as exc:  # noqa: BLE001 - starlette's parse errors have no common base
            return JSONResponse(
                {"error": f"send the files as multipart/form-data, field 'files' ({exc})"},
                status_code=400,
            )
        files: list[tuple[str, bytes]] = []
        for item in form.getlist("files"):
            if isinstance(item, str):
                return JSONResponse(
                    {"error": "the 'files' field must hold files, not text"}, status_code=422
                )
            files.append((item.filename or "", await item.read()))
        await form.close()
        try:
            saved = await run_in_threadpool(library.add, files)
        except RefusedFile as exc:
            return refused(exc)
        rebuilder.request()
        return JSONResponse(
            {
                "saved": [asdict(s) for s in saved],
                "rebuild": rebuilder.state.to_dict(),
            },
            status_code=202,
        )

    @api.get("/documents/{name:path}", summary="How qa reads one document (`qa show --json`)")
    def show(name: str, request: Request) -> Any:
        if not authorized(request, auth):
            return login_required()
        try:
            return library.show(name)
        except RefusedFile as exc:
            return refused(exc, 404 if "no such document" in exc.reason else 422)

    @api.delete("/documents/{name:path}", summary="Remove one document from the corpus")
    def remove(name: str, request: Request) -> Any:
        if not authorized(request, auth):
            return login_required()
        if not can_edit:
            return JSONResponse({"error": EDITS_OFF}, status_code=403)
        try:
            library.remove(name)
        except RefusedFile as exc:
            return refused(exc, 404)
        rebuilder.request()
        return JSONResponse(
            {"removed": name, "rebuild": rebuilder.state.to_dict()}, status_code=202
        )

    return api
