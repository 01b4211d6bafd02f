"""The engine protocol over HTTP (Starlette on uvicorn): requests, an event stream per job, cancel.

Routes (all under /v1; every answer carries the protocol version, as a JSON field and as the
`X-Rfedit-Protocol` header):

    GET    /v1/info                 engine, device, memory mode, cache, queue
    POST   /v1/model                choose and load a model (JSON ModelChoice) -> a job
    POST   /v1/jobs                 submit an EditRequest (a codec frame) -> a job
    GET    /v1/jobs/{id}/events     server-sent events: queued, started, model_loading,
                                    model_ready, progress, preview, result | error | cancelled
    GET    /v1/jobs/{id}/result     the EditResult (a codec frame), once
    DELETE /v1/jobs/{id}            cancel one job;  DELETE /v1/jobs  cancels all
    POST   /v1/cached               would this request reuse a cached inversion?
    DELETE /v1/cached               forget every cached inversion
    POST   /v1/inversions/export    a request's cached inversion as a file (project files)
    POST   /v1/inversions/import    files from a project -> the engine's cache

Security: every request needs the token (constant-time compare); a body over the limit is
refused before it is read whole; images travel as bytes and no route takes a path. Every
refusal is a 4xx with one line of JSON `error`; the server goes on serving.

Shared memory (only with `shared_memory`: the local engine, or a server bound to loopback): a
frame body may instead be a JSON segment description (Content-Type
application/x-rfedit-segment), and `GET /v1/jobs/{id}/result?segment=NAME&size=BYTES` writes
the result into the client's segment and answers its length. Only segments of the protocol's
own names, owned by this user, private and within the body limit are opened (protocol/shm.py).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from rfedit_desktop.errors import EditError
from rfedit_desktop.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION, codec, shm
from rfedit_desktop.protocol.codec import ProtocolError
from rfedit_desktop.server.loras import served_loras

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 320 << 20  # a 8192² RGBA image with its mask, and headroom


class Host(Protocol):
    """What the app needs from an engine host (one local engine, or Ray Serve replicas)."""

    table: Any

    def submit(self, kind: str, request: Any = None, choice: Any = None) -> Any: ...
    def load(self, choice: Any) -> Any: ...
    def cancel(self, job_id: str) -> bool: ...
    def cancel_all(self) -> int: ...
    def info(self) -> dict[str, Any]: ...
    def is_cached(self, request: Any) -> Any: ...
    def clear_cache(self) -> Any: ...
    def export_inversion(self, request: Any) -> Any: ...
    def import_inversions(self, files: dict[str, bytes]) -> Any: ...


class TooLarge(Exception):
    pass


def answer(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse({"protocol": PROTOCOL_VERSION, **body}, status_code=status,
                        headers={PROTOCOL_HEADER: str(PROTOCOL_VERSION)})


def refuse(status: int, message: str) -> JSONResponse:
    return answer({"error": message}, status)


class Gate:
    """ASGI middleware: protocol header on every answer, token and version on every request."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode("utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v for k, v in scope.get("headers", [])}
        given = headers.get("authorization", b"")
        expected = b"Bearer " + self.token
        if not hmac.compare_digest(given, expected):
            await refuse(401, "a missing or wrong token: pass the engine's token "
                         "(Authorization: Bearer TOKEN)")(scope, receive, send)
            return
        version = headers.get(PROTOCOL_HEADER.lower(), b"").decode("latin-1")
        try:
            codec.check_version(int(version) if version.isdigit() else None)
        except ProtocolError as exc:
            await refuse(400, str(exc))(scope, receive, send)
            return

        async def send_with_version(message: dict) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                if PROTOCOL_HEADER.lower().encode() not in names:
                    message = {**message, "headers": [
                        *message.get("headers", []),
                        (PROTOCOL_HEADER.lower().encode(), str(PROTOCOL_VERSION).encode())]}
            await send(message)

        await self.app(scope, receive, send_with_version)


async def read_body(request: Request, limit: int) -> bytearray | memoryview:
    """The body, refused once it passes `limit` (by its declared length, before reading).

    With a declared length the buffer is allocated once and filled in place."""
    length = request.headers.get("content-length")
    if length is None:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise TooLarge()
        return body
    if not length.isdigit():
        raise ProtocolError("Content-Length is not a number")
    size = int(length)
    if size > limit:
        raise TooLarge()
    view = codec.byte_buffer(size)
    got = 0
    async for chunk in request.stream():
        if got + len(chunk) > size:
            raise ProtocolError("the body is longer than its Content-Length")
        view[got:got + len(chunk)] = chunk
        got += len(chunk)
    if got != size:
        raise ProtocolError("the body is shorter than its Content-Length")
    return view


def create_app(host: Host, token: str, max_body: int = DEFAULT_MAX_BODY,
               lora_dir: Path | None = None, client_paths: bool = False,
               shared_memory: bool = False) -> ASGIApp:
    """The protocol's ASGI app around `host`, guarded by `token`.

    LoRAs are named by file name and looked up in `lora_dir` (server/loras.py); only the
    GUI's own local engine (`client_paths`) takes its client's paths as they are. With
    `shared_memory` (clients on this machine only) bodies may come through segments."""
    if not token:
        raise ValueError("the engine needs a token")
    maps = shm.SegmentMaps(max_body) if shared_memory and shm.available() else None

    def segment_maps() -> shm.SegmentMaps:
        if maps is None:
            raise ProtocolError("this engine takes no shared memory (only an engine on the "
                                "client's machine does): send the body itself")
        return maps

    def served(edit: Any) -> Any:
        return edit if client_paths else served_loras(edit, lora_dir)

    def handled(fn: Callable[[Request], Awaitable[Response]]) -> Callable[[Request],
                                                                           Awaitable[Response]]:
        async def route(request: Request) -> Response:
            try:
                return await fn(request)
            except shm.SegmentError as exc:  # the client may send the bytes themselves
                return answer({"error": str(exc), "segment_refused": True}, exc.status)
            except TooLarge:
                return refuse(413, f"the request is larger than this engine's limit of "
                              f"{max_body >> 20} MiB")
            except ProtocolError as exc:
                return refuse(400, str(exc))
            except EditError as exc:
                return refuse(409, str(exc))
        return route

    async def frame(request: Request) -> bytearray | memoryview:
        if request.headers.get("content-type") == shm.CONTENT_TYPE:
            described = await json_body(request)
            return await asyncio.to_thread(segment_maps().read, described)
        return await read_body(request, max_body)

    async def json_body(request: Request) -> Any:
        return codec.loads(bytes(await read_body(request, 1 << 20)))

    def job_or_404(request: Request) -> Any:
        job = host.table.get(request.path_params["job_id"])
        if job is None:
            raise HTTPException(404, "no such job (finished jobs are forgotten after a while)")
        return job

    async def info(request: Request) -> Response:
        return answer({"info": host.info(), "max_body": max_body,
                       "shared_memory": shm.identity() if maps is not None else None})

    async def model(request: Request) -> Response:
        choice = codec.choice_from_json(await json_body(request))
        job = host.load(choice)
        return answer({"job": job.id})

    async def submit(request: Request) -> Response:
        kind, edit, choice = codec.decode_request(await frame(request))
        job = host.submit(kind, served(edit), choice)
        return answer({"job": job.id, "position": job.events[0].get("position", 0)})

    async def events(request: Request) -> Response:
        job = job_or_404(request)

        async def stream():
            async for event in job.stream():
                if event is None:
                    yield b": keep-alive\n\n"
                    continue
                yield b"data: " + codec.dumps(event) + b"\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store",
                                          PROTOCOL_HEADER: str(PROTOCOL_VERSION)})

    async def result(request: Request) -> Response:
        job = job_or_404(request)
        if "segment" in request.query_params:
            return await result_into_segment(request, job)
        parts = host.table.take_result(job.id)
        if parts is None:
            raise HTTPException(404, "this job has no result (not finished, failed, or taken)")
        size = sum(memoryview(p).nbytes for p in parts)
        return StreamingResponse(iter(parts), media_type="application/octet-stream",
                                 headers={"Content-Length": str(size)})

    async def result_into_segment(request: Request, job: Any) -> Response:
        """The result written into the client's segment, if it fits; else only its length
        (the result stays, for a second call with a larger segment)."""
        query = request.query_params
        size = query.get("size", "")
        mapping, capacity, _ = segment_maps().open(
            {"segment": query["segment"], "size": int(size) if size.isdigit() else None,
             "length": 0})
        pending = job.result
        if pending is None:
            raise HTTPException(404, "this job has no result (not finished, failed, or taken)")
        length = shm.frame_length(pending)
        if length > capacity:
            return answer({"length": length, "written": False})
        parts = host.table.take_result(job.id)
        if parts is None:
            raise HTTPException(404, "this job has no result (not finished, failed, or taken)")
        await asyncio.to_thread(shm.write_parts, mapping, parts)
        return answer({"length": length, "written": True})

    async def cancel(request: Request) -> Response:
        job = job_or_404(request)
        return answer({"cancelled": host.cancel(job.id)})

    async def cancel_all(request: Request) -> Response:
        return answer({"cancelled": host.cancel_all()})

    async def cached(request: Request) -> Response:
        _, edit, _ = codec.decode_request(await frame(request))
        return answer({"cached": bool(await asyncio.wrap_future(host.is_cached(served(edit))))})

    async def clear(request: Request) -> Response:
        return answer({"inversion_cache": await asyncio.wrap_future(host.clear_cache())})

    async def export(request: Request) -> Response:
        _, edit, _ = codec.decode_request(await frame(request))
        found = await asyncio.wrap_future(host.export_inversion(served(edit)))
        files = {found[0]: found[1]} if found else {}
        return Response(codec.encode_files(files), media_type="application/octet-stream")

    async def import_(request: Request) -> Response:
        files = codec.decode_files(await frame(request))
        return answer({"count": int(await asyncio.wrap_future(host.import_inversions(files)))})

    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        detail = getattr(exc, "detail", "") or "error"
        return refuse(status, str(detail))

    routes = [
        Route("/v1/info", handled(info), methods=["GET"]),
        Route("/v1/model", handled(model), methods=["POST"]),
        Route("/v1/jobs", handled(submit), methods=["POST"]),
        Route("/v1/jobs", handled(cancel_all), methods=["DELETE"]),
        Route("/v1/jobs/{job_id}/events", handled(events), methods=["GET"]),
        Route("/v1/jobs/{job_id}/result", handled(result), methods=["GET"]),
        Route("/v1/jobs/{job_id}", handled(cancel), methods=["DELETE"]),
        Route("/v1/cached", handled(cached), methods=["POST"]),
        Route("/v1/cached", handled(clear), methods=["DELETE"]),
        Route("/v1/inversions/export", handled(export), methods=["POST"]),
        Route("/v1/inversions/import", handled(import_), methods=["POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    return Gate(app, token)
