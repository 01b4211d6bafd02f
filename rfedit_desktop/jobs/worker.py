"""The worker object that lives on the engine thread for the whole session.

It owns the engine (CUDA and MPS state must not hop threads) and runs one job at a time, in the
order the GUI submitted them. Every failure is caught here and reported as a message, so an
error in a job never reaches the event loop and the next job runs normally.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QImage

from rfedit_desktop.errors import Cancelled, EditError
from rfedit_desktop.jobs.backend import Backend
from rfedit_desktop.jobs.errors import friendly_message, is_out_of_memory
from rfedit_desktop.jobs.job import Job, JobKind
from rfedit_desktop.jobs.model_choice import ModelChoice
from rfedit_desktop.jobs.preview_image import to_qimage

log = logging.getLogger(__name__)

# At most this many previews per second cross to the GUI; the last step always does.
PREVIEW_MIN_INTERVAL_S = 1 / 30


class EngineWorker(QObject):
    """Signals are emitted on the worker thread and reach GUI receivers as queued calls."""

    model_loading = Signal(float, str)
    model_ready = Signal(dict)
    model_failed = Signal(str)
    job_started = Signal(int)
    progress = Signal(int, str, int, int)
    preview = Signal(int, QImage)
    result = Signal(int, object)
    failed = Signal(int, str)
    cancelled = Signal(int)
    cache_state = Signal(str, bool)
    job_done = Signal(int)  # after any of result/failed/cancelled, for bookkeeping

    def __init__(self, backend: Backend) -> None:
        super().__init__()
        self._backend = backend
        self._engine: Any = None
        self._choice: ModelChoice | None = None
        self._info: dict = {}
        self._device = "device"

    # dispatch ---------------------------------------------------------------------------
    @Slot(object)
    def run_job(self, job: Job) -> None:
        if not job.claim():
            self.job_done.emit(job.id)
            return
        try:
            if job.kind is JobKind.CACHE_QUERY:
                self._answer_cache_query(job)
            elif job.kind is JobKind.LOAD:
                self.job_started.emit(job.id)
                self._load(job)
            elif job.kind in (JobKind.EXPORT_INVERSION, JobKind.IMPORT_INVERSIONS):
                self._archive(job)
            else:
                self.job_started.emit(job.id)
                self._run(job)
        finally:
            job.finish()
            self.job_done.emit(job.id)

    # model ------------------------------------------------------------------------------
    def _ensure_engine(self, job: Job) -> bool:
        """Load the job's model unless it is the one already loaded; report failures."""
        if self._engine is not None and self._choice == job.choice:
            if job.kind is JobKind.LOAD:
                self.model_ready.emit(dict(self._info))  # asked again: confirm it
            return True
        if self._engine is not None:
            self._engine = None
            self._backend.release()
        self._choice = None
        self.model_loading.emit(0.0, f"Loading {job.choice.label()}…")
        start = time.perf_counter()

        def on_progress(fraction: float, message: str) -> None:
            if job.cancel.is_set():
                raise Cancelled()
            self.model_loading.emit(float(fraction), message)

        try:
            engine = self._backend.load(job.choice, on_progress)
            info = self._backend.info(engine)
        except Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message
            message = friendly_message(exc, job.choice.device)
            # A user error (missing folder, wrong model) needs no traceback in the log.
            log.warning("model load failed: %s", message,
                        exc_info=not isinstance(exc, EditError))
            self._backend.release()
            self.model_failed.emit(message)
            raise _Reported(message) from exc
        self._engine, self._choice = engine, job.choice
        self._device = str(info.get("device", job.choice.device))
        info = dict(info)
        info.setdefault("load_seconds", time.perf_counter() - start)
        info.setdefault("choice", job.choice.model)
        self._info = info
        self.model_ready.emit(info)
        return True

    def _load(self, job: Job) -> None:
        try:
            self._ensure_engine(job)
            self.result.emit(job.id, None)
        except Cancelled:
            self.cancelled.emit(job.id)
        except _Reported as exc:
            self.failed.emit(job.id, str(exc))

    # edits ------------------------------------------------------------------------------
    def _run(self, job: Job) -> None:
        last_preview = [0.0]

        def on_progress(event: Any) -> None:
            if job.cancel.is_set():
                raise Cancelled()
            self.progress.emit(job.id, str(event.phase), int(event.step), int(event.total))
            pixels = getattr(event, "preview", None)
            if pixels is None:
                return
            now = time.perf_counter()
            final = event.total and event.step >= event.total
            if now - last_preview[0] >= PREVIEW_MIN_INTERVAL_S or final:
                last_preview[0] = now
                self.preview.emit(job.id, to_qimage(pixels))

        try:
            self._ensure_engine(job)
            if job.cancel.is_set():
                raise Cancelled()
            runner = (self._backend.run_generate if job.kind is JobKind.GENERATE
                      else self._backend.run_edit)
            outcome = runner(self._engine, job.request, on_progress, job.cancel)
        except Cancelled:
            self.cancelled.emit(job.id)
            return
        except _Reported as exc:
            self.failed.emit(job.id, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - errors never kill the app
            if is_out_of_memory(exc):
                self._backend.release()
            log.warning("job %s failed: %s", job.id, exc,
                        exc_info=not isinstance(exc, EditError))
            self.failed.emit(job.id, friendly_message(exc, self._device))
            return
        if job.cancel.is_set():
            # Cancelled after the last step: the user asked for nothing, so show nothing.
            self.cancelled.emit(job.id)
            return
        self.result.emit(job.id, outcome)
        self._emit_cache_state(job)

    def _emit_cache_state(self, job: Job) -> None:
        if job.key and job.kind is JobKind.EDIT:
            try:
                self.cache_state.emit(job.key, self._backend.is_cached(self._engine, job.request))
            except Exception:  # noqa: BLE001 - an indicator must never fail a job
                log.debug("cache query failed", exc_info=True)

    def _answer_cache_query(self, job: Job) -> None:
        """Without a loaded engine nothing can be cached yet: answer False, load nothing."""
        cached = False
        if self._engine is not None and job.request is not None:
            try:
                cached = bool(self._backend.is_cached(self._engine, job.request))
            except Exception:  # noqa: BLE001
                log.debug("cache query failed", exc_info=True)
        self.cache_state.emit(job.key, cached)

    def _archive(self, job: Job) -> None:
        """Export needs no model (nothing is cached without one); import loads it first."""
        try:
            if job.kind is JobKind.IMPORT_INVERSIONS:
                self._ensure_engine(job)
                outcome: Any = self._backend.import_inversions(self._engine, job.payload)
            elif self._engine is None:
                outcome = None
            else:
                outcome = self._backend.export_inversion(self._engine, job.request)
        except Cancelled:
            self.cancelled.emit(job.id)
            return
        except _Reported as exc:
            self.failed.emit(job.id, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a missed shortcut, never a crash
            log.warning("inversion archive job failed", exc_info=True)
            self.failed.emit(job.id, friendly_message(exc, self._device))
            return
        self.result.emit(job.id, outcome)

    @Slot()
    def release_engine(self) -> None:
        """Drop the engine on its own thread before the thread stops."""
        self._engine = None
        self._choice = None
        try:
            self._backend.release()
        except Exception:  # noqa: BLE001
            log.debug("release failed", exc_info=True)


class _Reported(Exception):
    """A load failure already announced with model_failed; the job only needs failed()."""
