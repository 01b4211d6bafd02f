"""The GUI thread's handle on the worker: submit, queue, cancel, shut down.

Jobs cross to the worker by a queued signal, so they run in submission order on its thread.
Cancelling sets the job's `threading.Event`, which the engine checks between steps; a job that
has not started yet is dropped at once. Nothing here ever calls `QThread.terminate`.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import weakref
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal
from PySide6.QtGui import QImage

from rfedit_desktop.jobs.backend import Backend, EngineBackend
from rfedit_desktop.jobs.job import Job, JobKind, JobState
from rfedit_desktop.jobs.model_choice import ModelChoice
from rfedit_desktop.jobs.worker import EngineWorker

log = logging.getLogger(__name__)


class EditService(QObject):
    """Owns the worker thread. All signals arrive on the GUI thread."""

    model_loading = Signal(float, str)
    model_ready = Signal(dict)
    model_failed = Signal(str)
    job_started = Signal(int)
    progress = Signal(int, str, int, int)  # job id, phase, step, total
    preview = Signal(int, QImage)
    result = Signal(int, object)  # job id, EditResult (None for a load job)
    failed = Signal(int, str)
    cancelled = Signal(int)
    cache_state = Signal(str, bool)
    queue_changed = Signal(int)  # jobs queued or running (cache queries not counted)
    _dispatch = Signal(object)
    _release = Signal()

    def __init__(self, backend: Backend | None = None, choice: ModelChoice | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._choice = choice or ModelChoice()
        self._ids = itertools.count(1)
        self._jobs: dict[int, Job] = {}
        self._running: int | None = None
        self._pending_query: Job | None = None
        self._model_info: dict | None = None
        self._thread = QThread()
        self._thread.setObjectName("rfedit-engine")
        self._worker = EngineWorker(backend if backend is not None else EngineBackend())
        self._worker.moveToThread(self._thread)
        self._dispatch.connect(self._worker.run_job)
        self._release.connect(self._worker.release_engine)
        w = self._worker
        w.model_loading.connect(self.model_loading)
        w.model_ready.connect(self._on_model_ready)
        w.model_failed.connect(self._on_model_failed)
        w.job_started.connect(self._on_started)
        w.progress.connect(self.progress)
        w.preview.connect(self.preview)
        w.result.connect(self.result)
        w.failed.connect(self.failed)
        w.cancelled.connect(self._on_worker_cancelled)
        w.cache_state.connect(self.cache_state)
        w.job_done.connect(self._on_done)
        self._closed = False

    # state ------------------------------------------------------------------------------
    @property
    def choice(self) -> ModelChoice:
        return self._choice

    @property
    def model_info(self) -> dict | None:
        """The loaded model's `engine.info()`, or None while none is loaded."""
        return self._model_info

    @property
    def running_job(self) -> int | None:
        return self._running

    def pending_jobs(self) -> list[int]:
        """Queued or running work (loads, edits), oldest first."""
        return [j.id for j in self._jobs.values() if j.kind is not JobKind.CACHE_QUERY]

    def is_busy(self) -> bool:
        return bool(self.pending_jobs())

    # submitting -------------------------------------------------------------------------
    def load_model(self, choice: ModelChoice | None = None) -> int:
        """Load (or switch to) a model in the background; later jobs use it."""
        if choice is not None:
            self._choice = choice
            self._model_info = None
        return self._submit(Job(next(self._ids), JobKind.LOAD, self._choice))

    def submit(self, request: Any, key: str = "", kind: JobKind = JobKind.EDIT) -> int:
        """Queue an edit (or generation) behind whatever is running; returns its job id.

        `key` names the source for the cache indicator: after the job the worker reports
        whether that source's inversion is now cached.
        """
        return self._submit(Job(next(self._ids), kind, self._choice, request=request, key=key))

    def export_inversion(self, request: Any) -> int:
        """Ask for `request`'s cached inversion as (file name, bytes); result(id, None) if none."""
        return self._submit(Job(next(self._ids), JobKind.EXPORT_INVERSION, self._choice,
                                request=request))

    def import_inversions(self, files: dict[str, bytes]) -> int:
        """Give the engine's cache the inversions a project carries; result(id, count)."""
        return self._submit(Job(next(self._ids), JobKind.IMPORT_INVERSIONS, self._choice,
                                payload=dict(files)))

    def query_cache(self, key: str, request: Any) -> None:
        """Ask whether `request`'s inversion is cached; the answer comes as cache_state(key, …).

        Only the newest question matters, so an unanswered older one is dropped.
        """
        if self._pending_query is not None:
            self._pending_query.drop()
        job = Job(next(self._ids), JobKind.CACHE_QUERY, self._choice, request=request, key=key)
        self._pending_query = job
        self._submit(job)

    def _submit(self, job: Job) -> int:
        if self._closed:
            raise RuntimeError("the edit service has been shut down")
        if not self._thread.isRunning():
            # Started on first use, so a window that never edits never owns a running thread.
            self._thread.start()
            _stop_at_exit(self)
        self._jobs[job.id] = job
        self._dispatch.emit(job)
        if job.kind is not JobKind.CACHE_QUERY:
            self.queue_changed.emit(len(self.pending_jobs()))
        return job.id

    # cancelling -------------------------------------------------------------------------
    def cancel(self, job_id: int) -> bool:
        """Cancel a queued or running job; False if it is unknown or already over."""
        job = self._jobs.get(job_id)
        if job is None:
            return False
        if job.drop():
            # Never started: report now; the worker will skip it silently.
            self.cancelled.emit(job_id)
        return True

    def cancel_all(self) -> None:
        for job_id in list(self._jobs):
            self.cancel(job_id)

    # bookkeeping ------------------------------------------------------------------------
    def _on_started(self, job_id: int) -> None:
        self._running = job_id
        self.job_started.emit(job_id)

    def _on_worker_cancelled(self, job_id: int) -> None:
        job = self._jobs.get(job_id)
        if job is not None and job.state is not JobState.DROPPED:
            self.cancelled.emit(job_id)

    def _on_done(self, job_id: int) -> None:
        job = self._jobs.pop(job_id, None)
        if self._running == job_id:
            self._running = None
        if self._pending_query is job:
            self._pending_query = None
        if job is not None and job.kind is not JobKind.CACHE_QUERY:
            self.queue_changed.emit(len(self.pending_jobs()))

    def _on_model_ready(self, info: dict) -> None:
        self._model_info = dict(info)
        self.model_ready.emit(dict(info))

    def _on_model_failed(self, message: str) -> None:
        self._model_info = None
        self.model_failed.emit(message)

    # shutdown ---------------------------------------------------------------------------
    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel everything, let the running step finish, stop the thread. True if stopped.

        Called on app close. A step cannot be interrupted midway, so this waits for it; it
        gives up after `timeout_ms` (the caller then keeps the service alive to avoid
        destroying a running thread).
        """
        if self._closed or not self._thread.isRunning():
            self._closed = True
            return not self._thread.isRunning()
        self._closed = True
        self.cancel_all()
        self._release.emit()
        self._thread.quit()
        stopped = self._thread.wait(timeout_ms)
        if not stopped:
            log.warning("engine thread still busy after %d ms", timeout_ms)
        return bool(stopped)


def _stop_at_exit(service: EditService) -> None:
    """Stop the thread if the program ends without shutting the service down (a script that
    returns early, an exception): Qt aborts the process when a running QThread is destroyed."""
    ref = weakref.ref(service)

    def stop() -> None:
        alive = ref()
        if alive is not None:
            try:
                alive.shutdown()
            except RuntimeError:  # the C++ side is already gone
                pass

    atexit.register(stop)
