"""The server's jobs: their states, their event logs and the wake-ups of the streams that read them.

A job's events are an append-only log, so a client that subscribes late (or reconnects) still
gets every event from the first. Executors push from their own threads; the event streams wait
on the server's asyncio loop, woken thread-safely.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from rfedit_desktop.protocol.model_choice import ModelChoice

TERMINAL = ("result", "error", "cancelled")
KEEP_FINISHED = 16
KEEPALIVE_S = 10.0


@dataclass(eq=False)
class ServerJob:
    """One submitted unit of work: `kind` is load, edit, generate or invert."""

    id: str
    kind: str
    choice: ModelChoice
    request: Any = None
    digest: str = ""  # the source image's content digest (routing key on Ray)
    cancel: threading.Event = field(default_factory=threading.Event)
    state: str = "queued"
    result: list[bytes | memoryview] | None = None  # the result frame's buffers
    events: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = field(
        default_factory=list, repr=False)

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed", "cancelled")

    def claim(self) -> bool:
        """Executor side: start the job unless it was cancelled while queued."""
        with self._lock:
            if self.state != "queued":
                return False
            self.state = "running"
        self.push({"type": "started"})
        return True

    def push(self, event: dict[str, Any]) -> None:
        """Append an event (any thread); a terminal event ends the job and lets go of its
        request (a finished job is kept for its events, not for its pixels)."""
        with self._lock:
            if self.finished:
                return
            if event["type"] in TERMINAL:
                self.request = None
            if event["type"] == "result":
                self.state = "done"
            elif event["type"] == "error":
                self.state = "failed"
            elif event["type"] == "cancelled":
                self.state = "cancelled"
            self.events.append(event)
            waiters, self._waiters = self._waiters, []
        for loop, waiter in waiters:
            try:
                loop.call_soon_threadsafe(waiter.set)
            except RuntimeError:  # the loop has closed: nobody is listening any more
                pass

    def request_cancel(self) -> bool:
        """Cancel: a queued job ends now, a running one at its next step. False if over."""
        self.cancel.set()
        with self._lock:
            queued = self.state == "queued"
            over = self.finished
        if queued:
            self.push({"type": "cancelled"})
        return not over

    def _events_or_waiter(self, start: int) -> tuple[list[dict[str, Any]], asyncio.Event | None]:
        with self._lock:
            if len(self.events) > start or self.finished:
                return list(self.events[start:]), None
            waiter = asyncio.Event()
            self._waiters.append((asyncio.get_running_loop(), waiter))
            return [], waiter

    async def stream(self) -> AsyncIterator[dict[str, Any] | None]:
        """Every event from the first; None now and then while nothing happens (keep-alive)."""
        index = 0
        while True:
            events, waiter = self._events_or_waiter(index)
            for event in events:
                yield event
                if event["type"] in TERMINAL:
                    return
            index += len(events)
            if waiter is None:
                if not events:
                    return  # finished without a terminal event (cannot happen; be safe)
                continue
            try:
                await asyncio.wait_for(waiter.wait(), KEEPALIVE_S)
            except asyncio.TimeoutError:
                yield None


class JobTable:
    """All jobs of one server, by id; finished ones are forgotten after a while."""

    def __init__(self) -> None:
        self._jobs: OrderedDict[str, ServerJob] = OrderedDict()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def new(self, kind: str, choice: ModelChoice, request: Any = None,
            digest: str = "") -> ServerJob:
        with self._lock:
            job = ServerJob(f"j{next(self._ids)}", kind, choice, request, digest)
            self._jobs[job.id] = job
            finished = [j for j in self._jobs.values() if j.finished]
            for old in finished[:max(0, len(finished) - KEEP_FINISHED)]:
                del self._jobs[old.id]
        return job

    def get(self, job_id: str) -> ServerJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def active(self) -> list[ServerJob]:
        with self._lock:
            return [j for j in self._jobs.values() if not j.finished]

    def take_result(self, job_id: str) -> list[bytes | memoryview] | None:
        """The result's bytes, once: they are large, so the table lets go of them."""
        job = self.get(job_id)
        if job is None:
            return None
        with job._lock:
            data, job.result = job.result, None
        return data
