"""The engine inside a server process: one thread owns it and runs the jobs one at a time.

CUDA and MPS state must not hop threads, so every engine call (edits, loads, cache questions,
inversion export/import) runs on this one thread. Short questions go ahead of queued edits but
never interrupt the running one. Every failure becomes a one-line `error` event; the next job
runs normally.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import itertools
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from rfedit_desktop.errors import Cancelled, EditError
from rfedit_desktop.protocol import codec
from rfedit_desktop.protocol.model_choice import ModelChoice
from rfedit_desktop.server.backend import Backend, EngineBackend
from rfedit_desktop.server.errors import friendly_message, is_out_of_memory
from rfedit_desktop.server.job_table import JobTable, ServerJob

log = logging.getLogger(__name__)

# At most this many previews per second go out per job; the last step always does.
PREVIEW_MIN_INTERVAL_S = 1 / 30
_QUICK, _WORK = 0, 1


class ModelNotAllowed(EditError):
    """A remote client asked for a model the server was not started with."""


class EngineHost:
    """Owns the engine thread of a server. Thread-safe; the web app calls it from its loop."""

    def __init__(self, choice: ModelChoice, backend: Backend | None = None,
                 models: tuple[str, ...] | None = None, where: str = "") -> None:
        """`models`: the only models clients may choose (None: any, for the local engine)."""
        self.table = JobTable()
        self.where = where or socket.gethostname()
        self._backend = backend if backend is not None else EngineBackend()
        self._choice = choice
        self._models = models
        self._engine: Any = None
        self._loaded: ModelChoice | None = None
        self._info: dict[str, Any] = {}
        self._state = "idle"
        self._running: ServerJob | None = None
        self._tasks: queue.PriorityQueue = queue.PriorityQueue()
        self._seq = itertools.count()
        self._thread = threading.Thread(target=self._loop, name="rfedit-engine", daemon=True)
        self._thread.start()

    # submitting ---------------------------------------------------------------------------
    def submit(self, kind: str, request: Any = None,
               choice: ModelChoice | None = None) -> ServerJob:
        if choice is not None:
            self._check_allowed(choice)
            if self._models is not None:  # a served engine: how it runs is the server's call
                choice = dataclasses.replace(self._choice, model=choice.model)
            self._choice = choice
        job = self.table.new(kind, self._choice, request)
        position = len(self.table.active()) - 1
        job.push({"type": "queued", "position": position})
        self._tasks.put((_WORK, next(self._seq), job))
        return job

    def load(self, choice: ModelChoice | None) -> ServerJob:
        return self.submit("load", choice=choice or self._choice)

    def ask(self, fn: Callable[[Any], Any]) -> concurrent.futures.Future:
        """Run `fn(engine)` on the engine thread ahead of queued edits (engine None if none)."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._tasks.put((_QUICK, next(self._seq), (fn, future)))
        return future

    def is_cached(self, request: Any) -> concurrent.futures.Future:
        return self.ask(lambda e: False if e is None else bool(self._backend.is_cached(e, request)))

    def export_inversion(self, request: Any) -> concurrent.futures.Future:
        return self.ask(lambda e: None if e is None
                        else self._backend.export_inversion(e, request))

    def import_inversions(self, files: dict[str, bytes]) -> concurrent.futures.Future:
        return self.ask(lambda e: 0 if e is None else self._backend.import_inversions(e, files))

    def clear_cache(self) -> concurrent.futures.Future:
        """Forget every cached inversion (memory and disk); answers the cache's new stats."""
        def clear(engine: Any) -> dict[str, Any]:
            if engine is None:
                return {}
            engine.cache.clear()
            return dict(engine.cache.stats())
        return self.ask(clear)

    def cancel(self, job_id: str) -> bool:
        job = self.table.get(job_id)
        return job is not None and job.request_cancel()

    def cancel_all(self) -> int:
        return sum(job.request_cancel() for job in self.table.active())

    def info(self) -> dict[str, Any]:
        running = self._running
        engine = dict(self._info) if self._loaded is not None else None
        cache = getattr(self._engine, "cache", None)
        if engine is not None and cache is not None:
            engine["inversion_cache"] = dict(cache.stats())  # now, not as it was at load
        return {
            "where": self.where,
            "pid": os.getpid(),
            "state": self._state,
            "choice": codec.choice_to_json(self._choice),
            "models": list(self._models) if self._models is not None else None,
            "engine": engine,
            "queue": len(self.table.active()),
            "running": running.id if running is not None else None,
            "replicas": 1,
        }

    def close(self) -> None:
        self.cancel_all()
        self._tasks.put((_QUICK, next(self._seq), None))

    def _check_allowed(self, choice: ModelChoice) -> None:
        if self._models is not None and choice.model not in self._models:
            raise ModelNotAllowed(
                f"This engine serves only {', '.join(self._models)}; "
                "start rfedit-server with --model to offer another.")

    # the engine thread --------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            _, _, task = self._tasks.get()
            if task is None:
                break
            if isinstance(task, ServerJob):
                self._run(task)
                continue
            fn, future = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(self._engine))
            except Exception as exc:  # noqa: BLE001 - a question never kills the thread
                future.set_exception(exc)
        self._engine = None
        self._backend.release()

    def _run(self, job: ServerJob) -> None:
        if not job.claim():
            return
        self._running = job
        try:
            self._ensure_engine(job)
            if job.kind == "load":
                job.push({"type": "result", "engine": dict(self._info)})
                return
            outcome = self._execute(job)
        except Cancelled:
            job.push({"type": "cancelled"})
            return
        except Exception as exc:  # noqa: BLE001 - errors never kill the engine
            if is_out_of_memory(exc):
                self._backend.release()
            log.warning("job %s failed: %s", job.id, exc, exc_info=not isinstance(exc, EditError))
            job.push({"type": "error", "message": friendly_message(exc, self._device())})
            return
        finally:
            self._running = None
        if job.cancel.is_set():
            job.push({"type": "cancelled"})  # cancelled after the last step: show nothing
            return
        self._finish(job, outcome)

    def _execute(self, job: ServerJob) -> Any:
        progress = _Progress(job)
        if job.kind == "invert":
            from rfedit_desktop.engine.pipeline import run_invert  # noqa: PLC0415

            return run_invert(self._engine, job.request, progress=progress, cancel=job.cancel)
        runner = self._backend.run_generate if job.kind == "generate" else self._backend.run_edit
        return runner(self._engine, job.request, progress, job.cancel)

    def _finish(self, job: ServerJob, outcome: Any) -> None:
        if job.kind == "invert":
            job.push({"type": "result", "info": outcome})
            return
        job.result = codec.result_parts(outcome)
        cached = None
        if job.kind == "edit":
            try:
                cached = bool(self._backend.is_cached(self._engine, job.request))
            except Exception:  # noqa: BLE001 - an indicator must never fail a job
                log.debug("cache query failed", exc_info=True)
        job.push({"type": "result", "nfe": int(outcome.nfe), "cache_hit": bool(outcome.cache_hit),
                  "shape": list(outcome.image.shape), "cached": cached})

    def _device(self) -> str:
        return str(self._info.get("device", self._choice.device))

    def _ensure_engine(self, job: ServerJob) -> None:
        """Load the job's model unless it is the one loaded; model events go to the job."""
        if self._engine is not None and self._loaded == job.choice:
            if job.kind == "load":
                job.push({"type": "model_ready", "engine": dict(self._info)})
            return
        if self._engine is not None:
            self._engine, self._loaded = None, None
            self._backend.release()
        self._state = "loading"
        job.push({"type": "model_loading", "fraction": 0.0,
                  "message": f"Loading {job.choice.label()}…"})
        start = time.perf_counter()

        def on_progress(fraction: float, message: str) -> None:
            if job.cancel.is_set():
                raise Cancelled()
            job.push({"type": "model_loading", "fraction": float(fraction), "message": message})

        try:
            engine = self._backend.load(job.choice, on_progress)
            info = dict(self._backend.info(engine))
        except Cancelled:
            self._state = "idle"
            raise
        except Exception as exc:
            self._state = "failed"
            self._backend.release()
            message = friendly_message(exc, job.choice.device)
            log.warning("model load failed: %s", message, exc_info=not isinstance(exc, EditError))
            job.push({"type": "model_failed", "message": message})
            raise EditError(message) from exc
        info.setdefault("load_seconds", time.perf_counter() - start)
        info.setdefault("choice", job.choice.model)
        self._engine, self._loaded, self._info = engine, job.choice, info
        self._state = "ready"
        job.push({"type": "model_ready", "engine": dict(info)})


class _Progress:
    """The engine's progress callback for one job: events, throttled previews, cancel."""

    def __init__(self, job: ServerJob) -> None:
        self.job = job
        self.last_preview = 0.0

    def __call__(self, event: Any) -> None:
        if self.job.cancel.is_set():
            raise Cancelled()
        step, total = int(event.step), int(event.total)
        self.job.push({"type": "progress", "phase": str(event.phase), "step": step,
                       "total": total})
        pixels = getattr(event, "preview", None)
        if pixels is None:
            return
        now = time.perf_counter()
        if now - self.last_preview >= PREVIEW_MIN_INTERVAL_S or (total and step >= total):
            self.last_preview = now
            self.job.push({"type": "preview", "phase": str(event.phase), "step": step,
                           "total": total, **codec.encode_preview(pixels)})
