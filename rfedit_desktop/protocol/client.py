"""A blocking client of the engine protocol (stdlib http.client: no extra dependency, no Qt).

`rfedit-cli --server` uses it directly; the GUI's `jobs.EditService` calls it from its own
threads. Each call opens its own connection, so one client may be shared between threads.
When the engine is on this machine (a loopback URL, and the engine advertises the same
/dev/shm and user), request and result frames travel through shared memory (protocol/shm.py)
and only their descriptions over HTTP; `close` removes the segments.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

from rfedit_desktop.engine.request import EditRequest, EditResult
from rfedit_desktop.errors import EditError
from rfedit_desktop.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION, codec, shm
from rfedit_desktop.protocol.model_choice import ModelChoice

TERMINAL = ("result", "error", "cancelled")


class EngineError(EditError):
    """The engine refused a request; the message is its one line."""


class SegmentRefused(EngineError):
    """The engine could not use a shared-memory segment; the bytes can go over the socket."""


class EngineUnreachable(EditError):
    """No answer from the engine (not started, stopped, or the network is down)."""


class EngineClient:
    """The protocol's calls, one method each; `url` is http(s)://host:port[/prefix].

    `shared_memory=False` keeps every body on the socket even for an engine on this machine."""

    def __init__(self, url: str, token: str, timeout: float = 60.0,
                 shared_memory: bool = True) -> None:
        wrong = EditError(f"An engine URL looks like http://host:8765, not {url!r}.")
        try:
            parts = urlsplit(url if "://" in url else f"http://{url}")
            port = parts.port  # ValueError for a port that is not a number or out of range
        except ValueError:
            raise wrong from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise wrong
        self.url = url
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._token = token.strip()
        self.timeout = timeout
        self._shm_wanted = shared_memory and shm.is_loopback(self._host) and shm.available()
        self._shm_lock = threading.Lock()
        self._shm_checked = False
        self._pool: shm.SegmentPool | None = None
        self._result_guess = 0  # the last result's frame length: the next one's likely size

    def close(self) -> None:
        """Remove this client's shared-memory segments; later calls use plain HTTP bodies."""
        with self._shm_lock:
            self._shm_wanted, pool, self._pool = False, self._pool, None
        if pool is not None:
            pool.close()

    @property
    def uses_shared_memory(self) -> bool:
        """Whether bodies go through shared memory (asks the engine once)."""
        return self._segments() is not None

    def _segments(self) -> shm.SegmentPool | None:
        """The segment pool, once the engine said it maps this machine's /dev/shm as this
        user; None for a remote engine, or one that cannot (another host, container, user)."""
        with self._shm_lock:
            if not self._shm_wanted or self._shm_checked:
                return self._pool
        advertised = self.info().get("shared_memory")
        with self._shm_lock:
            if self._shm_wanted and not self._shm_checked:
                self._shm_checked = True
                if advertised == shm.identity():
                    self._pool = shm.SegmentPool()
            return self._pool

    # plumbing -----------------------------------------------------------------------------
    def _connect(self, timeout: float | None) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        return kind(self._host, self._port, timeout=timeout)

    def _open(self, method: str, path: str, body: bytes | list | None = None,
              content_type: str = "application/octet-stream",
              timeout: float | None = None) -> tuple[http.client.HTTPConnection,
                                                     http.client.HTTPResponse]:
        conn = self._connect(self.timeout if timeout is None else timeout)
        headers = {"Authorization": f"Bearer {self._token}",
                   PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
        if body is not None:
            headers["Content-Type"] = content_type
            if isinstance(body, list):  # buffers sent one by one: no joined copy
                headers["Content-Length"] = str(sum(memoryview(b).nbytes for b in body))
        try:
            conn.request(method, self._prefix + path, body=body, headers=headers)
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise EngineUnreachable(f"No answer from the engine at {self.url} "
                                    f"({type(exc).__name__}: {exc}).") from exc
        if response.status >= 400:
            data = response.read()
            conn.close()
            raise _refusal(data)(_error_line(response, data))
        self._check_version(response)
        return conn, response

    @staticmethod
    def _check_version(response: http.client.HTTPResponse) -> None:
        version = response.getheader(PROTOCOL_HEADER, "")
        try:
            codec.check_version(int(version) if version.isdigit() else None)
        except codec.ProtocolError as exc:
            raise EngineError(f"The engine is not compatible: {exc}.") from None

    def _call(self, method: str, path: str, body: bytes | list | None = None,
              content_type: str = "application/octet-stream") -> Any:
        conn, response = self._open(method, path, body, content_type)
        try:
            data = _read_all(response)
        except (OSError, http.client.HTTPException) as exc:
            raise EngineUnreachable(f"The engine at {self.url} stopped answering "
                                    f"({type(exc).__name__}).") from exc
        finally:
            conn.close()
        if (response.getheader("Content-Type") or "").startswith("application/json"):
            return codec.loads(bytes(data))
        return data

    # the protocol -------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        return self._call("GET", "/v1/info")

    def load(self, choice: ModelChoice | None) -> str:
        """Load `choice`, or (None) the model the engine serves; returns the load job's id."""
        body = codec.dumps(codec.choice_to_json(choice) if choice is not None else {})
        return self._call("POST", "/v1/model", body, "application/json")["job"]

    def _send_frame(self, path: str, parts: list[bytes | memoryview]) -> Any:
        """POST a codec frame: through a segment when the engine shares this machine's
        memory, else as the body."""
        pool = self._segments()
        if pool is None:
            return self._call("POST", path, parts)
        try:
            segment = pool.take(shm.frame_length(parts))
        except OSError:  # no room in /dev/shm: the socket carries it
            return self._call("POST", path, parts)
        try:
            length = segment.write(parts)
            return self._call("POST", path, codec.dumps(segment.describe(length)),
                              shm.CONTENT_TYPE)
        except SegmentRefused:
            self.close()  # this engine cannot read our segments: plain bodies from now on
            return self._call("POST", path, parts)
        finally:
            pool.give(segment)

    def submit(self, request: EditRequest, kind: str = "edit",
               choice: ModelChoice | None = None) -> str:
        """Queue a job; `choice` is the model it is for (None: the engine's current one)."""
        return self._send_frame("/v1/jobs", codec.request_parts(request, kind, choice))["job"]

    def events(self, job_id: str, timeout: float = 60.0) -> Iterator[dict[str, Any]]:
        """The job's events from the first, until a terminal one; EngineUnreachable if the
        stream breaks before it (the engine died, or the network did)."""
        conn, response = self._open("GET", f"/v1/jobs/{job_id}/events", timeout=timeout)
        try:
            data: list[bytes] = []
            while True:
                try:
                    line = response.readline()
                except (OSError, http.client.HTTPException) as exc:
                    raise EngineUnreachable(f"The engine at {self.url} stopped during the job "
                                            f"({type(exc).__name__}).") from exc
                if not line:
                    raise EngineUnreachable(f"The engine at {self.url} stopped during the job.")
                line = line.rstrip(b"\r\n")
                if line.startswith(b"data:"):
                    data.append(line[5:].strip())
                elif not line and data:
                    event = codec.loads(b"\n".join(data))
                    data = []
                    yield event
                    if event.get("type") in TERMINAL:
                        return
        finally:
            conn.close()

    def _result_body(self, job_id: str) -> EditResult:
        return codec.decode_result(self._call("GET", f"/v1/jobs/{job_id}/result"))

    def result(self, job_id: str) -> EditResult:
        pool = self._segments()
        if pool is None:
            return self._result_body(job_id)
        length = self._result_guess
        for _ in range(2):  # a segment of the last result's size, else of the size it said
            try:
                segment = pool.take(length)
            except OSError:  # no room in /dev/shm: the socket carries it
                return self._result_body(job_id)
            try:
                query = urlencode({"segment": segment.name, "size": segment.size})
                try:
                    answer = self._call("GET", f"/v1/jobs/{job_id}/result?{query}")
                except SegmentRefused:
                    self.close()  # plain bodies from now on
                    return self._result_body(job_id)
                length = int(answer["length"])
                if answer.get("written"):
                    self._result_guess = length
                    return codec.decode_result(segment.read(length))
            finally:
                pool.give(segment)
        raise EngineError("The engine did not write the result into shared memory.")

    def cancel(self, job_id: str) -> bool:
        return bool(self._call("DELETE", f"/v1/jobs/{job_id}")["cancelled"])

    def cancel_all(self) -> int:
        return int(self._call("DELETE", "/v1/jobs")["cancelled"])

    def is_cached(self, request: EditRequest) -> bool:
        return bool(self._send_frame("/v1/cached", codec.request_parts(request))["cached"])

    def clear_cache(self) -> dict[str, Any]:
        """Forget every cached inversion; the cache's stats afterwards."""
        return self._call("DELETE", "/v1/cached")["inversion_cache"]

    def export_inversion(self, request: EditRequest) -> tuple[str, bytes] | None:
        files = codec.decode_files(self._send_frame("/v1/inversions/export",
                                                    codec.request_parts(request)))
        return next(iter(files.items()), None)

    def import_inversions(self, files: dict[str, bytes]) -> int:
        return int(self._send_frame("/v1/inversions/import",
                                    [codec.encode_files(files)])["count"])

    def run(self, request: EditRequest, kind: str = "edit",
            on_event: Callable[[dict[str, Any]], None] | None = None) -> Any:
        """Submit, follow the events, return the EditResult (or invert's report).

        EditError with the engine's message if the job failed; Cancelled if it was cancelled.
        """
        from rfedit_desktop.errors import Cancelled  # noqa: PLC0415

        job_id = self.submit(request, kind)
        try:
            for event in self.events(job_id):
                if on_event is not None:
                    on_event(event)
                kind_ = event.get("type")
                if kind_ == "error":
                    raise EditError(str(event.get("message", "The edit failed.")))
                if kind_ == "cancelled":
                    raise Cancelled()
                if kind_ == "result":
                    return event["info"] if "info" in event else self.result(job_id)
        except KeyboardInterrupt:
            self.cancel(job_id)
            raise
        raise EngineUnreachable(f"The engine at {self.url} ended the job without an answer.")


def for_served_engine(request: EditRequest) -> EditRequest:
    """What a client sends a served engine (`rfedit-server`): each LoRA by its file name alone,
    which the server looks up in its own LoRA folder; it never opens a client's path."""
    if not request.loras:
        return request
    return dataclasses.replace(request, loras=tuple(
        (re.split(r"[\\/]", str(path))[-1], weight) for path, weight in request.loras))


def _read_all(response: http.client.HTTPResponse) -> memoryview:
    """The body into one writable buffer, so decoded arrays need no copy."""
    length = response.getheader("Content-Length")
    if length is None or not length.isdigit():
        return memoryview(bytearray(response.read()))
    view = codec.byte_buffer(int(length))
    got = 0
    while got < len(view):
        n = response.readinto(view[got:])
        if not n:
            raise http.client.IncompleteRead(bytes(view[:got]), len(view) - got)
        got += n
    return view


def _refusal(data: bytes) -> type[EngineError]:
    """SegmentRefused when the engine says it could not use a segment, else EngineError."""
    try:
        body = json.loads(data)
    except ValueError:
        return EngineError
    return SegmentRefused if isinstance(body, dict) and body.get("segment_refused") else EngineError


def _error_line(response: http.client.HTTPResponse, data: bytes) -> str:
    try:
        message = json.loads(data).get("error")
    except (ValueError, AttributeError):
        message = None
    text = message or data.decode("utf-8", "replace").strip().splitlines()[0:1]
    if isinstance(text, list):
        text = text[0] if text else response.reason
    return f"The engine refused the request ({response.status}): {text}"


def read_token(path: str) -> str:
    """A token file's first line; EditError if it cannot be read or is empty."""
    try:
        with open(path, encoding="utf-8") as f:
            token = f.readline().strip()
    except OSError as exc:
        raise EditError(f"Cannot read the token file {path}: {exc.strerror or exc}.") from exc
    if not token:
        raise EditError(f"The token file {path} is empty.")
    return token


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now (for tests and benchmarks)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
