"""The GUI's client of the engine: submit, follow, cancel; the job state lives here.

Each job gets a short-lived thread that talks the engine protocol (upload, event stream,
result download); its events cross to the GUI thread as a queued signal and change the job's
state there, so the window never waits on the engine. If a local engine process dies, the job
that was running fails with one line, jobs that had not started go to the new engine, and the
model is loaded again.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from rfedit_desktop.errors import EditError
from rfedit_desktop.jobs.engine_link import (
    EngineLink,
    LocalEngine,
    RemoteEngine,
    shared_local_engine,
)
from rfedit_desktop.jobs.job import Job, JobKind, JobState
from rfedit_desktop.jobs.preview_image import to_qimage
from rfedit_desktop.jobs.request_pixels import RequestPixels
from rfedit_desktop.protocol import codec
from rfedit_desktop.protocol.client import EngineClient, EngineUnreachable, for_served_engine
from rfedit_desktop.protocol.model_choice import ModelChoice

log = logging.getLogger(__name__)

ENGINE_LOST = ("The engine process stopped ({how}) during this job and has been restarted; "
               "your document and staged results are unchanged.")
JOB_THREAD_GRACE_S = 2.0
_QUICK = (JobKind.CACHE_QUERY, JobKind.EXPORT_INVERSION, JobKind.IMPORT_INVERSIONS)


class EditService(QObject):
    """All signals arrive on the GUI thread."""

    model_loading = Signal(float, str)
    model_ready = Signal(dict)
    model_failed = Signal(str)
    job_started = Signal(int)
    progress = Signal(int, str, int, int)  # job id, phase, step, total
    preview = Signal(int, object)  # job id, QImage
    # job id, EditResult (None for a load job), and for an edit its picture as a QImage, made
    # on the job thread (a 12-megapixel result would hold the GUI thread ~45 ms)
    result = Signal(int, object, object)
    failed = Signal(int, str)
    cancelled = Signal(int)
    cache_state = Signal(str, bool)
    queue_changed = Signal(int)  # jobs queued or running (cache queries not counted)
    engine_changed = Signal(str)  # where the engine runs, in words
    engine_lost = Signal(str)  # one line: the engine process died and was restarted
    _event = Signal(int, object)

    def __init__(self, engine: EngineLink | None = None, choice: ModelChoice | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._choice = choice or ModelChoice()
        self._link: EngineLink = engine if engine is not None else shared_local_engine(
            self._choice)
        self._ids = itertools.count(1)
        self._pixels = RequestPixels()  # window pictures -> pixels, on the upload threads
        self._jobs: dict[int, Job] = {}
        self._running: int | None = None
        self._model_info: dict | None = None
        self._closed = False
        self._releasing = False
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._dispatcher: threading.Thread | None = None
        self._threads: set[threading.Thread] = set()  # the job threads still running
        self._post_lock = threading.Lock()  # a post never races the service's shutdown
        self._event.connect(self._on_event)

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

    @property
    def engine(self) -> EngineLink:
        return self._link

    def where(self) -> str:
        return self._link.where()

    def pending_jobs(self) -> list[int]:
        """Queued or running work (loads, edits), oldest first."""
        return [j.id for j in self._jobs.values() if j.kind not in _QUICK]

    def is_busy(self) -> bool:
        return bool(self.pending_jobs())

    # engine -----------------------------------------------------------------------------
    def set_engine(self, engine: EngineLink) -> None:
        """Use another engine (local or remote) from now on; running jobs are cancelled."""
        self.cancel_all()
        self._link = engine
        self._model_info = None
        self.engine_changed.emit(engine.where())

    # submitting -------------------------------------------------------------------------
    def load_model(self, choice: ModelChoice | None = None) -> int:
        """Load (or switch to) a model in the background; later jobs use it."""
        if choice is not None:
            self._choice = choice
            self._model_info = None
        if isinstance(self._link, RemoteEngine):  # it serves its own models, its own way
            named = ModelChoice(self._link.model) if self._link.model else None
            return self._submit(Job(next(self._ids), JobKind.LOAD, payload=named))
        if isinstance(self._link, LocalEngine):
            self._link.choice = self._choice  # what a restarted local engine loads
        return self._submit(Job(next(self._ids), JobKind.LOAD, payload=self._choice))

    def submit(self, request: Any, key: str = "", kind: JobKind = JobKind.EDIT) -> int:
        """Queue an edit (or generation) behind whatever is running; returns its job id.

        `key` names the source for the cache indicator: after the job the engine says
        whether that source's inversion is now cached. The request's image may be a QImage
        (the window's composite): it becomes pixels on the upload thread.
        """
        return self._submit(Job(next(self._ids), kind, request=request, key=key,
                                payload=self._job_choice()))

    def _job_choice(self) -> ModelChoice | None:
        """The model an edit is for, sent with it so that another client's choice on a shared
        engine never decides which model runs this window's edit."""
        if isinstance(self._link, RemoteEngine):
            return ModelChoice(self._link.model) if self._link.model else None
        return self._choice

    def export_inversion(self, request: Any) -> int:
        """Ask for `request`'s cached inversion as (file name, bytes); result(id, None) if none."""
        return self._submit(Job(next(self._ids), JobKind.EXPORT_INVERSION, request=request))

    def import_inversions(self, files: dict[str, bytes]) -> int:
        """Give the engine's cache the inversions a project carries; result(id, count)."""
        return self._submit(Job(next(self._ids), JobKind.IMPORT_INVERSIONS, payload=dict(files)))

    def query_cache(self, key: str, request: Any) -> None:
        """Ask the engine whether `request`'s pixels have a cached inversion; the answer comes
        as cache_state(key, …). Without a loaded model nothing is cached: answered at once."""
        if self._model_info is None:
            self.cache_state.emit(key, False)
            return
        self._submit(Job(next(self._ids), JobKind.CACHE_QUERY, request=request, key=key))

    def _submit(self, job: Job) -> int:
        if self._closed:
            raise RuntimeError("the edit service has been shut down")
        self._jobs[job.id] = job
        if job.kind in _QUICK:
            self._start_thread(self._ask, job, self._link, name=f"rfedit-ask-{job.id}")
            return job.id
        # Uploads go one at a time, in submission order, so jobs run in that order.
        self._outbox.put((job, self._link))
        if self._dispatcher is None:
            self._dispatcher = threading.Thread(target=self._dispatch, daemon=True,
                                                name="rfedit-submit")
            self._dispatcher.start()
        self.queue_changed.emit(len(self.pending_jobs()))
        return job.id

    # cancelling -------------------------------------------------------------------------
    def cancel(self, job_id: int) -> bool:
        """Cancel a queued or running job; False if it is unknown or already over."""
        job = self._jobs.get(job_id)
        if job is None or job.over:
            return False
        job.cancel.set()
        if job.remote_id is None:
            # Not at the engine yet: report now; the job thread cancels it there if it lands.
            self._on_event(job.id, {"type": "cancelled"})
        else:
            link, remote = self._link, job.remote_id
            threading.Thread(target=_cancel_remote, args=(link, remote), daemon=True).start()
        return True

    def cancel_all(self) -> None:
        """Cancel this service's edits and loads (other clients of the engine keep theirs)."""
        for job_id in self.pending_jobs():
            self.cancel(job_id)

    # the job threads --------------------------------------------------------------------
    def _post(self, job: Job, event: dict[str, Any]) -> None:
        """From a job thread: hand an event to the GUI thread, unless the service has shut
        down (its window may be gone; nobody is left to show the event)."""
        with self._post_lock:
            if self._closed:
                return
            try:
                self._event.emit(job.id, event)
            except RuntimeError:  # the service was deleted while the thread ran
                pass

    def _start_thread(self, target: Any, *args: Any, name: str) -> None:
        def run() -> None:
            try:
                target(*args)
            finally:
                self._threads.discard(thread)

        thread = threading.Thread(target=run, daemon=True, name=name)
        self._threads.add(thread)
        thread.start()

    def _dispatch(self) -> None:
        """Submit thread: upload each job in order, then follow it on a thread of its own.
        Ends at the None that `shutdown` queues."""
        while True:
            item = self._outbox.get()
            if item is None:
                return
            job, link = item
            try:
                self._upload(job, link)
            except Exception as exc:  # noqa: BLE001 - reported by _follow's handler
                self._start_thread(self._follow, job, link, exc, name=f"rfedit-job-{job.id}")
                continue
            self._start_thread(self._follow, job, link, name=f"rfedit-job-{job.id}")

    def _wire_request(self, request: Any, link: EngineLink) -> Any:
        """The request as it is sent (on a job thread): pixels for a window picture, LoRA
        file names for a remote engine."""
        request = self._pixels.pixels_for(request)
        return for_served_engine(request) if isinstance(link, RemoteEngine) else request

    def _upload(self, job: Job, link: EngineLink) -> None:
        if job.cancel.is_set():
            return
        client = link.client()
        if job.kind is JobKind.LOAD:
            job.remote_id = client.load(job.payload)
        else:
            job.remote_id = client.submit(self._wire_request(job.request, link),
                                          _wire_kind(job.kind), job.payload)
        if job.cancel.is_set():
            client.cancel(job.remote_id)

    def _follow(self, job: Job, link: EngineLink, failure: Exception | None = None) -> None:
        """Job thread: post the job's events until it ends; never raises."""
        started = False
        for attempt in range(2):
            try:
                if failure is not None:
                    raise failure
                if job.remote_id is None:
                    return  # cancelled before it was sent
                client = link.client()
                for event in client.events(job.remote_id):
                    started = started or event["type"] == "started"
                    if event["type"] == "preview":
                        event["image"] = to_qimage(codec.decode_preview(event))
                    elif event["type"] == "result" and job.kind is not JobKind.LOAD:
                        event["result"] = client.result(job.remote_id)
                        if job.kind in (JobKind.EDIT, JobKind.GENERATE):
                            event["picture"] = to_qimage(event["result"].image)
                    self._post(job, event)
                return
            except EngineUnreachable as exc:
                failure = None
                how = link.died()
                if how is None:
                    self._post(job, {"type": "error", "message": str(exc)})
                    return
                link.restart()
                if started or attempt:
                    self._post(job, {"type": "error", "message": ENGINE_LOST.format(how=how),
                                     "engine_lost": how})
                    return
                try:  # it never ran: send it again, to the new engine
                    job.remote_id = None
                    self._upload(job, link)
                except Exception as again:  # noqa: BLE001
                    failure = again
            except EditError as exc:
                self._post(job, {"type": "error", "message": str(exc)})
                return
            except Exception as exc:  # noqa: BLE001 - a job thread must report, not die
                log.warning("job %s failed in the client", job.id, exc_info=True)
                self._post(job, {"type": "error",
                                 "message": f"The edit failed unexpectedly ({exc})."})
                return

    def _ask(self, job: Job, link: EngineLink) -> None:
        """Thread of a quick question (cache, inversion export/import)."""
        if job.request is not None:
            job.request = self._wire_request(job.request, link)
        try:
            value = _ask(link.client(), job)
        except EditError as exc:
            log.debug("engine question failed: %s", exc)
            value = False if job.kind is JobKind.CACHE_QUERY else None
            if job.kind in (JobKind.IMPORT_INVERSIONS, JobKind.EXPORT_INVERSION):
                self._post(job, {"type": "error", "message": str(exc)})
                return
        self._post(job, {"type": "answer", "value": value})

    # events, on the GUI thread ----------------------------------------------------------
    def _on_event(self, job_id: int, event: dict[str, Any]) -> None:
        """Events of one job arrive in order; across jobs they are put in submission order
        (a later job's start waits for the earlier job's end), as the window shows one running
        job at a time. A failure or cancel is shown at once."""
        job = self._jobs.get(job_id)
        if job is None or job.over:
            return
        if (event.get("type") not in ("cancelled", "error") and job.kind not in _QUICK
                and any(j.id < job.id and j.kind not in _QUICK for j in self._jobs.values())):
            job.held.append(event)
            return
        self._apply(job, event)

    def _release_held(self) -> None:
        if self._releasing:
            return
        self._releasing = True
        try:
            while True:
                first = min((j for j in self._jobs.values() if j.kind not in _QUICK),
                            key=lambda j: j.id, default=None)
                if first is None or not first.held:
                    return
                held, first.held = first.held, []
                for event in held:
                    if not first.over:
                        self._apply(first, event)
        finally:
            self._releasing = False

    def _apply(self, job: Job, event: dict[str, Any]) -> None:
        job_id = job.id
        kind = event.get("type")
        if kind == "result" and job.cancel.is_set():
            kind = "cancelled"  # finished before the cancel reached the engine: show nothing
        if kind == "started":
            job.state = JobState.RUNNING
            self._running = job_id
            self.job_started.emit(job_id)
        elif kind == "model_loading":
            self.model_loading.emit(float(event.get("fraction", 0.0)), str(event.get("message")))
        elif kind == "model_ready":
            self._model_info = dict(event.get("engine") or {})
            self.engine_changed.emit(self._link.where())
            self.model_ready.emit(dict(self._model_info))
        elif kind == "model_failed":
            self._model_info = None
            job.model_failure_shown = True
            self.model_failed.emit(str(event.get("message", "")))
        elif kind == "progress":
            self.progress.emit(job_id, str(event["phase"]), int(event["step"]),
                               int(event["total"]))
        elif kind == "preview":
            self.progress.emit(job_id, str(event["phase"]), int(event["step"]),
                               int(event["total"]))
            self.preview.emit(job_id, event["image"])
        elif kind == "answer":
            self._answer(job, event["value"])
        elif kind == "result":
            job.state = JobState.FINISHED
            self._done(job)
            self.result.emit(job_id, event.get("result"), event.get("picture"))
            if job.key and event.get("cached") is not None:
                self.cache_state.emit(job.key, bool(event["cached"]))
        elif kind == "error":
            job.state = JobState.FAILED
            self._done(job)
            message = str(event.get("message", "The job failed."))
            if job.kind is JobKind.LOAD and not job.model_failure_shown:
                self._model_info = None
                self.model_failed.emit(message)
            self.failed.emit(job_id, message)
            if "engine_lost" in event:
                # A load that lost its engine is not retried: an engine that dies while
                # loading would otherwise be restarted for ever.
                self._on_engine_lost(message, reload=job.kind is not JobKind.LOAD)
        elif kind == "cancelled":
            job.state = JobState.CANCELLED
            self._done(job)
            self.cancelled.emit(job_id)

    def _answer(self, job: Job, value: Any) -> None:
        job.state = JobState.FINISHED
        self._done(job)
        if job.kind is JobKind.CACHE_QUERY:
            self.cache_state.emit(job.key, bool(value))
        else:
            self.result.emit(job.id, value, None)

    def _done(self, job: Job) -> None:
        self._jobs.pop(job.id, None)
        if self._running == job.id:
            self._running = None
        if job.kind not in _QUICK:
            self.queue_changed.emit(len(self.pending_jobs()))
            QTimer.singleShot(0, self, self._release_held)  # after this job's own signals

    def _on_engine_lost(self, message: str, reload: bool) -> None:
        """The local engine died: forget its model, say so, and load it in the new one."""
        self._model_info = None
        self.engine_lost.emit(message)
        self.engine_changed.emit(self._link.where())
        if reload and not self._closed:
            self.load_model()

    # shutdown ---------------------------------------------------------------------------
    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel this window's jobs (window close, app quit). True when nothing is left.

        The shared local engine itself ends with the app (`engine_link.stop_shared`) or, if the
        app dies, by itself when its stdin closes.
        """
        self.cancel_all()
        with self._post_lock:
            self._closed = True
        self._outbox.put(None)
        deadline = time.monotonic() + timeout_ms / 1000
        if self._dispatcher is not None:
            self._dispatcher.join(timeout_ms / 1000)
        # A job thread ends when the engine confirms the cancel (at its next step); its events
        # are dropped by now, so it is given a moment, not the whole timeout.
        grace = min(deadline, time.monotonic() + JOB_THREAD_GRACE_S)
        for thread in list(self._threads):
            thread.join(max(0.0, grace - time.monotonic()))
        return not (self._dispatcher is not None and self._dispatcher.is_alive())


def _wire_kind(kind: JobKind) -> str:
    return "generate" if kind is JobKind.GENERATE else "edit"


def _ask(client: EngineClient, job: Job) -> Any:
    if job.kind is JobKind.CACHE_QUERY:
        return client.is_cached(job.request)
    if job.kind is JobKind.EXPORT_INVERSION:
        return client.export_inversion(job.request)
    return client.import_inversions(job.payload)


def _cancel_remote(link: EngineLink, remote_id: str) -> None:
    try:
        link.client().cancel(remote_id)
    except EditError:
        log.debug("cancel did not reach the engine", exc_info=True)
