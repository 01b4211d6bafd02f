"""The GUI's job queue through the engine protocol: order, cancel, errors, clean shutdown.

A scripted backend stands in for the engine inside a real server (uvicorn on 127.0.0.1, in a
thread of this process) so that the timing of cancels is exact; the real engine process is
exercised in tests/test_local_engine.py.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pytest
from thread_engine import ThreadEngine

from rfedit_desktop.engine.request import EditRequest, EditResult
from rfedit_desktop.errors import Cancelled, EditError
from rfedit_desktop.jobs import EditService, ModelChoice
from rfedit_desktop.server.errors import friendly_message, is_out_of_memory


@dataclass
class Step:
    phase: str
    step: int
    total: int
    preview: np.ndarray | None = None
    message: str = ""


class ScriptedBackend:
    """Runs `steps` steps per job; a request may ask to fail, to block, or to run out of memory."""

    def __init__(self) -> None:
        self.loads: list[str] = []
        self.ran: list[str] = []
        self.released = 0
        self.gate = threading.Event()
        self.gate.set()
        self.step_started = threading.Event()
        self.thread_names: set[str] = set()

    def load(self, choice, progress):
        self.thread_names.add(threading.current_thread().name)
        progress(0.5, "half")
        if choice.model == "missing":
            raise EditError("Model folder 'missing' not found.")
        self.loads.append(choice.model)
        return {"model": choice.model}

    def info(self, engine):
        return {"model": engine["model"], "device": "cpu"}

    def run_edit(self, engine, request, progress, cancel):
        self.thread_names.add(threading.current_thread().name)
        request = request.prompt
        if request == "reject":
            raise EditError("steps must be at least 1")
        if request == "oom":
            raise RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")
        if request == "bug":
            raise ZeroDivisionError("division by zero")
        for i in range(1, 5):
            self.step_started.set()
            self.gate.wait(5)
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            progress(Step("edit", i, 4, np.full((8, 8, 3), i * 10, np.uint8)))
        self.ran.append(request)
        return EditResult(image=np.full((4, 4, 3), len(self.ran), np.uint8),
                          metadata={"prompt": request})

    run_generate = run_edit

    def is_cached(self, engine, request):
        return request.prompt in self.ran

    def release(self):
        self.released += 1


class Recorder:
    def __init__(self, service: EditService) -> None:
        self.events: list[tuple] = []
        for name in ("job_started", "result", "failed", "cancelled", "model_ready", "model_loading",
                     "model_failed", "cache_state", "preview", "progress"):
            getattr(service, name).connect(lambda *a, n=name: self.events.append((n, *a)))

    def of(self, name: str) -> list[tuple]:
        return [e[1:] for e in self.events if e[0] == name]


def req(prompt: str) -> EditRequest:
    return EditRequest(image=np.zeros((4, 4, 3), np.uint8), prompt=prompt)


def prompts(results) -> list:
    return [(job, r.metadata["prompt"]) for job, r, *_ in results]


@pytest.fixture
def service(qtbot):
    backend = ScriptedBackend()
    link = ThreadEngine(backend)
    svc = EditService(engine=link, choice=ModelChoice("tiny"))
    svc.backend = backend  # type: ignore[attr-defined]
    yield svc
    backend.gate.set()
    assert svc.shutdown(5000)
    link.stop()


def reached_engine(qtbot, service: EditService, count: int, every: bool = False) -> None:
    """Cancels travel to the engine asynchronously: wait until it has `count` of them and
    (`every`) every job that reached it (an upload may still have been under way)."""
    table = service.engine.host.table
    qtbot.waitUntil(lambda: sum(j.cancel.is_set() for j in table._jobs.values()) >= count,
                    timeout=5000)
    if every:
        qtbot.wait(300)
        qtbot.waitUntil(lambda: all(j.cancel.is_set() for j in table._jobs.values()),
                        timeout=5000)


def wait_idle(qtbot, service: EditService) -> None:
    qtbot.waitUntil(lambda: not service.is_busy(), timeout=5000)


def test_a_result_comes_with_its_picture_made_off_the_gui_thread(qtbot, service) -> None:
    """The QImage of a 12-megapixel result costs ~45 ms to make: the job thread makes it."""
    from PySide6.QtGui import QImage

    from rfedit_desktop.jobs import service as service_module

    made_on: list[str] = []
    real = service_module.to_qimage

    def recording(pixels):
        made_on.append(threading.current_thread().name)
        return real(pixels)

    service_module.to_qimage = recording
    try:
        rec = Recorder(service)
        job = service.submit(req("pic"))
        wait_idle(qtbot, service)
    finally:
        service_module.to_qimage = real
    [(got_job, result, picture)] = rec.of("result")
    assert got_job == job and isinstance(picture, QImage)
    assert (picture.width(), picture.height()) == (4, 4)
    assert picture.pixelColor(2, 1).red() == int(result.image[1, 2, 0])
    assert made_on and threading.current_thread().name not in made_on


def test_a_window_picture_becomes_pixels_off_the_gui_thread_once_per_run(qtbot, service,
                                                                        monkeypatch) -> None:
    """The window hands over its composite as a QImage; the service converts it on the
    upload thread, once for all the variants of a Run, and the engine gets those pixels."""
    from PySide6.QtGui import QColor, QImage

    from rfedit_desktop.document.image_io import qimage_to_array
    from rfedit_desktop.jobs import request_pixels

    seen: list[tuple[str, np.ndarray]] = []

    class Seeing(ScriptedBackend):
        def run_edit(self, engine, request, progress, cancel):
            seen.append((request.prompt, np.asarray(request.image).copy()))
            return EditResult(image=np.zeros((4, 4, 3), np.uint8),
                              metadata={"prompt": request.prompt})

    converted_on: list[str] = []
    real = request_pixels.qimage_to_array

    def recording(image, straight=True):
        converted_on.append(threading.current_thread().name)
        return real(image, straight=straight)

    monkeypatch.setattr(request_pixels, "qimage_to_array", recording)
    link = ThreadEngine(Seeing())
    svc = EditService(engine=link, choice=ModelChoice("tiny"))
    try:
        picture = QImage(6, 4, QImage.Format.Format_ARGB32_Premultiplied)
        picture.fill(QColor(10, 120, 240, 200))
        for prompt in ("v1", "v2", "v3"):
            svc.submit(EditRequest(image=picture, prompt=prompt))
        wait_idle(qtbot, svc)
    finally:
        assert svc.shutdown(5000)
        link.stop()
    want = qimage_to_array(picture, straight=True)
    assert [p for p, _ in seen] == ["v1", "v2", "v3"]
    assert all(np.array_equal(pixels, want) for _, pixels in seen)
    assert len(converted_on) == 1, "the variants share one conversion"
    assert threading.current_thread().name not in converted_on


def test_jobs_run_in_order_on_the_worker_thread(qtbot, service) -> None:
    rec = Recorder(service)
    ids = [service.submit(req(name)) for name in ("a", "b", "c")]
    wait_idle(qtbot, service)
    assert prompts(rec.of("result")) == list(zip(ids, "abc", strict=True))
    assert service.backend.ran == ["a", "b", "c"]
    assert service.backend.loads == ["tiny"]  # loaded once, lazily, for the first job
    assert threading.main_thread().name not in service.backend.thread_names
    previews = [e for e in rec.of("preview") if e[0] == ids[0]]
    assert previews and not previews[-1][1].isNull()
    assert previews[-1][1].pixelColor(0, 0).red() == 40  # the last step's preview arrives


def test_cancel_running_job_stops_it_and_the_next_job_runs(qtbot, service) -> None:
    rec = Recorder(service)
    service.backend.gate.clear()
    first = service.submit(req("slow"))
    second = service.submit(req("next"))
    assert service.backend.step_started.wait(5)
    assert service.cancel(first)
    reached_engine(qtbot, service, 1)
    service.backend.gate.set()
    wait_idle(qtbot, service)
    assert rec.of("cancelled") == [(first,)]
    assert prompts(rec.of("result")) == [(second, "next")]
    assert "slow" not in service.backend.ran


def test_cancel_queued_job_is_reported_at_once_and_never_runs(qtbot, service) -> None:
    rec = Recorder(service)
    service.backend.gate.clear()
    first = service.submit(req("a"))
    queued = service.submit(req("b"))
    assert service.cancel(queued)
    assert rec.of("cancelled") == [(queued,)]  # synchronously, before the engine sees it
    service.backend.gate.set()
    wait_idle(qtbot, service)
    assert service.backend.ran == ["a"]
    assert prompts(rec.of("result")) == [(first, "a")]
    assert rec.of("cancelled") == [(queued,)]  # not reported twice


def test_cancel_all(qtbot, service) -> None:
    rec = Recorder(service)
    service.backend.gate.clear()
    ids = [service.submit(req(n)) for n in ("a", "b", "c")]
    assert service.backend.step_started.wait(5)
    service.cancel_all()
    reached_engine(qtbot, service, 1, every=True)
    service.backend.gate.set()
    wait_idle(qtbot, service)
    assert sorted(e[0] for e in rec.of("cancelled")) == ids
    assert rec.of("result") == [] and service.backend.ran == []


@pytest.mark.parametrize(
    ("request_", "expected"),
    [("reject", "steps must be at least 1"), ("oom", "Out of memory"),
     ("bug", "ZeroDivisionError")],
)
def test_errors_become_messages_and_the_next_job_succeeds(qtbot, service, request_,
                                                          expected) -> None:
    rec = Recorder(service)
    bad = service.submit(req(request_))
    good = service.submit(req("fine"))
    wait_idle(qtbot, service)
    (failed,) = rec.of("failed")
    assert failed[0] == bad and expected in failed[1]
    assert prompts(rec.of("result")) == [(good, "fine")]
    if request_ == "oom":
        assert service.backend.released >= 1  # caches emptied after out of memory


def test_missing_model_reports_and_a_later_model_loads(qtbot, service) -> None:
    rec = Recorder(service)
    service.load_model(ModelChoice("missing"))
    job = service.submit(req("x"))
    wait_idle(qtbot, service)
    assert rec.of("model_failed") and "not found" in rec.of("model_failed")[0][0]
    assert job in [e[0] for e in rec.of("failed")]  # the edit failed too
    assert service.model_info is None
    service.load_model(ModelChoice("tiny"))
    ok = service.submit(req("y"))
    wait_idle(qtbot, service)
    assert rec.of("model_ready")[-1][0]["model"] == "tiny"
    assert (0.5, "half") in rec.of("model_loading")  # load progress reaches the GUI
    loads = list(service.backend.loads)
    service.load_model(ModelChoice("tiny"))  # the same model again: confirmed, not reloaded
    wait_idle(qtbot, service)
    assert service.backend.loads == loads and service.model_info["model"] == "tiny"
    assert (ok, "y") in prompts(r for r in rec.of("result") if r[1] is not None)


def test_cache_query_answers_after_an_edit(qtbot, service) -> None:
    rec = Recorder(service)
    service.query_cache("k", req("img"))
    qtbot.waitUntil(lambda: bool(rec.of("cache_state")), timeout=5000)
    assert rec.of("cache_state") == [("k", False)]  # no engine yet: nothing cached, nothing loaded
    assert service.backend.loads == []
    service.submit(req("img"), key="k")
    wait_idle(qtbot, service)
    qtbot.waitUntil(lambda: len(rec.of("cache_state")) == 2, timeout=5000)
    assert rec.of("cache_state")[-1] == ("k", True)


def test_shutdown_cancels_a_running_job(qtbot) -> None:
    backend = ScriptedBackend()
    link = ThreadEngine(backend)
    svc = EditService(engine=link, choice=ModelChoice("tiny"))
    backend.gate.clear()
    svc.submit(req("long"))
    assert backend.step_started.wait(5)
    threading.Timer(0.05, backend.gate.set).start()
    assert svc.shutdown(5000)
    qtbot.waitUntil(lambda: link.host.info()["running"] is None, timeout=5000)
    assert backend.ran == []
    with pytest.raises(RuntimeError):
        svc.submit(req("after"))
    link.stop()


def test_shutdown_ends_the_service_threads(qtbot) -> None:
    def service_threads() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name.startswith(("rfedit-submit",
                                                                        "rfedit-job-"))}

    before = service_threads()
    backend = ScriptedBackend()
    link = ThreadEngine(backend)
    svc = EditService(engine=link, choice=ModelChoice("tiny"))
    backend.gate.clear()
    svc.submit(req("long"))
    assert backend.step_started.wait(5)
    # the submit thread and the job's thread
    qtbot.waitUntil(lambda: len(service_threads() - before) == 2, timeout=5000)
    threading.Timer(0.05, backend.gate.set).start()
    assert svc.shutdown(5000)
    assert service_threads() - before == set()
    link.stop()


def test_model_choice_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="device"):
        ModelChoice("demo", device="tpu")
    with pytest.raises(ValueError, match="memory mode"):
        ModelChoice("demo", memory_mode="magic")
    with pytest.raises(ValueError):
        ModelChoice("  ")
    assert ModelChoice("/models/flux-dev/").label() == "flux-dev · auto"
    assert ModelChoice("black-forest-labs/FLUX.1-dev").label().startswith("black-forest-labs/")


def test_friendly_messages() -> None:
    assert is_out_of_memory(RuntimeError("MPS backend out of memory (MPS allocated: 1 GB)"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    assert "Out of memory on the cuda" in friendly_message(MemoryError(), "cuda")
    assert friendly_message(EditError("Prompt is empty.")) == "Prompt is empty."


def test_many_emits_do_not_drop_references_to_true(qtbot) -> None:
    """PySide6-Essentials 6.12.0 dropped a reference to True on every emit(); pyproject pins
    it below 6.12 and this fails if a broken wheel comes back."""
    import sys

    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        ping = Signal(int)

    emitter = Emitter()
    before = sys.getrefcount(True)
    for i in range(5000):
        emitter.ping.emit(i)
    assert sys.getrefcount(True) > before - 100
