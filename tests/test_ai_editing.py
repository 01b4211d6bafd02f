"""AI editing through the real window, worker thread and tiny Flux engine (offscreen).

Strokes are painted with mouse events on the canvas; the edit runs on the worker thread with
the tiny random-weight model at 64×64 and a few steps, so the whole file runs in seconds.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from rfedit_desktop.document import Document
from rfedit_desktop.engine.images import prepare_mask
from rfedit_desktop.engine.request import EditRequest
from rfedit_desktop.jobs import ModelChoice
from rfedit_desktop.ui.ai_editing import AiEditing
from rfedit_desktop.ui.main_window import MainWindow
from rfedit_desktop.ui.tool_state import Tool

SIZE = 64
STEPS = 4
WAIT_MS = 90_000


@pytest.fixture
def win(qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    # Never block on "save changes?" when the fixture closes a window with applied edits.
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    window = MainWindow(restore_state=False)
    qtbot.addWidget(window)
    window.resize(1100, 760)
    doc = Document.new(SIZE, SIZE, QColor(235, 230, 220))
    doc.add_layer("Strokes", undoable=False)
    doc.undo_stack.setClean()
    window.set_document(doc)
    ai = getattr(window, "ai_editing", None) or AiEditing(window)
    window.ai = ai  # type: ignore[attr-defined]
    ai.load_model(ModelChoice("tiny"))
    ai.panel.steps_spin.setValue(STEPS)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    window.canvas.setFocus()
    window.canvas.set_zoom(4.0)
    window.tools.update_brush(size=10, hardness=1.0, opacity=1.0, flow=1.0, spacing=0.1,
                              pressure_size=False, pressure_opacity=False)
    yield window
    stopped = ai.shutdown()
    window.document.undo_stack.setClean()
    window.close()
    assert stopped, "the worker thread did not stop"


RED = (200, 30, 30)


def stroke(qtbot, window, points, tool=Tool.BRUSH, colour: QColor | None = None) -> None:
    window.tools.set_tool(tool)
    window.tools.set_foreground(colour or QColor(*RED))
    canvas = window.canvas
    view = [canvas.transform.to_view(QPointF(x, y)).toPoint() for x, y in points]
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=view[0])
    for p in view[1:]:
        qtbot.mouseMove(canvas, p)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=view[-1])


def dilate(region: np.ndarray, radius: int) -> np.ndarray:
    out = region.copy()
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            out |= np.roll(np.roll(region, dy, axis=0), dx, axis=1)
    return out


def composite(window) -> np.ndarray:
    return window.document.composite_for_edit("visible").copy()


def run_and_wait(qtbot, window, prompt: str, preset: str | None = "stroke-to-image") -> list[int]:
    ai = window.ai
    if preset:
        ai.panel.apply_preset(preset)
    ai.panel.steps_spin.setValue(STEPS)
    ai.panel.prompt_edit.setPlainText(prompt)
    ids = ai.run()
    assert ids, ai.panel.status_label.text()
    qtbot.waitUntil(lambda: not ai.is_busy(), timeout=WAIT_MS)
    return ids


def test_strokes_to_staged_result_apply_undo_redo(qtbot, win) -> None:
    ai = win.ai
    stroke(qtbot, win, [(10, 40), (30, 20), (54, 44)])
    stroke(qtbot, win, [(12, 12), (20, 14)], colour=QColor(30, 90, 200))
    strokes_index = win.document.undo_stack.index()
    assert strokes_index == 2  # two strokes, two history entries
    previews = []
    ai.service.preview.connect(lambda job, image: previews.append(image))
    overlay_during: list[tuple[str, bool]] = []
    ai.service.preview.connect(
        lambda job, image: overlay_during.append(
            (ai._last_phase, ai.overlay.image() is not None and ai.overlay.image() == image)))
    before = composite(win)

    run_and_wait(qtbot, win, "a red mountain under a blue sky")

    (staged,) = ai.strip.results()
    assert staged.prompt == "a red mountain under a blue sky"
    assert staged.pixels.shape == (SIZE, SIZE, 3)
    assert previews and not previews[-1].isNull()  # a live preview reached the GUI
    # The canvas shows editing previews; inversion previews only go to the strip's slot.
    assert any(on for phase, on in overlay_during if phase == "edit")
    assert not any(on for phase, on in overlay_during if phase == "invert")
    assert win.document.undo_stack.index() == strokes_index  # staging changes nothing
    assert np.array_equal(composite(win), before)
    assert staged.metadata["seed"] == ai.panel.params()["seed"]
    assert staged.metadata["preset"] == "stroke-to-image"

    assert ai.apply(staged.id, "new-layer")
    stack = win.document.undo_stack
    assert stack.index() == strokes_index + 1  # ONE undo step
    assert stack.text(stack.index() - 1) == 'Edit: "a red mountain under a blue sky"'
    assert ai.strip.results() == []
    after = composite(win)
    assert np.array_equal(after[..., :3], staged.pixels)  # an opaque new layer on top
    entry = win.document.edit_history[-1]
    assert entry["prompt"] == "a red mountain under a blue sky"
    assert entry["metadata"]["steps"] == STEPS and "eta" in entry["metadata"]

    stack.undo()
    assert np.array_equal(composite(win), before)
    assert win.document.edit_history == []
    stack.redo()
    assert np.array_equal(composite(win), after)
    assert win.document.edit_history[-1]["prompt"] == "a red mountain under a blue sky"


def test_second_run_on_same_source_is_a_cache_hit(qtbot, win) -> None:
    ai = win.ai
    stroke(qtbot, win, [(5, 50), (60, 8)], colour=QColor(20, 160, 60))
    run_and_wait(qtbot, win, "a green snake")
    qtbot.waitUntil(lambda: ai.panel.is_cache_shown(), timeout=WAIT_MS)
    assert "inversion cached" in ai.panel.cache_label.text()

    # A re-edit with a new prompt, eta and window reuses the inversion: editing steps only.
    ai.panel.prompt_edit.setPlainText("a golden dragon")
    ai.panel.eta_spin.setValue(0.6)
    ai.panel.window_slider.setValue((0.0, 0.5))
    ai.run()
    qtbot.waitUntil(lambda: not ai.is_busy(), timeout=WAIT_MS)
    first, second = ai.strip.results()
    assert first.metadata["cache_hit"] is False
    assert first.metadata["nfe"] == 2 * STEPS  # inversion + editing
    assert second.metadata["cache_hit"] is True
    assert second.metadata["nfe"] == STEPS  # editing steps only
    assert second.metadata["eta"] == pytest.approx(0.6)

    # Painting changes the source: the indicator goes back to "not cached".
    stroke(qtbot, win, [(30, 30), (34, 34)])
    qtbot.waitUntil(lambda: not ai.panel.is_cache_shown(), timeout=WAIT_MS)


def test_undo_and_a_new_stroke_is_not_shown_cached(qtbot, win) -> None:
    """The light is the engine's answer for the pixels: undo + another stroke leaves the undo
    stack at the same index and count as the edited picture, yet the pixels differ."""
    ai = win.ai
    stack = win.document.undo_stack
    stroke(qtbot, win, [(5, 5), (60, 60)], colour=QColor(200, 20, 20))
    run_and_wait(qtbot, win, "a red line")
    qtbot.waitUntil(lambda: ai.panel.is_cache_shown(), timeout=WAIT_MS)
    edited = (stack.index(), stack.count())
    stack.undo()
    stroke(qtbot, win, [(60, 5), (5, 60)], colour=QColor(20, 20, 200))
    assert (stack.index(), stack.count()) == edited
    answers: list[bool] = []
    ai.cache.state_changed.connect(answers.append)
    qtbot.waitUntil(lambda: bool(answers), timeout=WAIT_MS)
    assert answers[-1] is False and not ai.panel.is_cache_shown()


def test_cancel_mid_edit_leaves_nothing(qtbot, win) -> None:
    ai = win.ai
    stroke(qtbot, win, [(8, 8), (56, 56)])
    index = win.document.undo_stack.index()
    before = composite(win)
    ai.panel.steps_spin.setValue(40)
    seen: list[tuple[str, int]] = []

    def on_progress(job, phase, step, total) -> None:
        seen.append((phase, step))
        if phase in ("invert", "edit") and step == 3:
            ai.cancel()

    ai.service.progress.connect(on_progress)
    ai.panel.prompt_edit.setPlainText("this will be cancelled")
    cancelled = []
    ai.service.cancelled.connect(cancelled.append)
    ai.run()
    qtbot.waitUntil(lambda: not ai.is_busy(), timeout=WAIT_MS)
    ai.service.progress.disconnect(on_progress)

    assert cancelled
    assert max(step for _, step in seen) < 40  # stopped before the end
    assert ai.strip.results() == [] and ai.strip.list.count() == 0
    assert win.document.undo_stack.index() == index
    assert np.array_equal(composite(win), before)
    assert "Cancelled" in ai.panel.status_label.text()
    assert not ai.panel.cancel_button.isEnabled()

    run_and_wait(qtbot, win, "the next one works", preset=None)  # the worker is still alive
    assert len(ai.strip.results()) == 1


def test_engine_errors_show_a_message_and_the_next_job_succeeds(qtbot, win, tmp_path) -> None:
    ai = win.ai
    stroke(qtbot, win, [(20, 20), (40, 40)])
    index = win.document.undo_stack.index()
    missing = tmp_path / "no-such-model"
    ai.load_model(ModelChoice(str(missing)))
    ai.panel.prompt_edit.setPlainText("a cat")
    ai.run()
    # The load's and the edit's failures come on streams of their own, in either order.
    qtbot.waitUntil(lambda: not ai.service.is_busy(), timeout=WAIT_MS)
    assert ai.panel.status_label.property("error") is True
    assert "no-such-model" in ai.panel.status_label.text()
    assert ai.strip.results() == []
    assert win.document.undo_stack.index() == index

    # A request the engine itself rejects, sent through the same worker.
    ai.load_model(ModelChoice("tiny"))
    failures: dict[int, str] = {}
    ai.service.failed.connect(lambda job, message: failures.setdefault(job, message))
    bad = EditRequest(image=np.zeros((SIZE, SIZE, 3), np.uint8), prompt="x", max_megapixels=99)
    bad_job = ai.service.submit(bad)
    qtbot.waitUntil(lambda: bad_job in failures, timeout=WAIT_MS)
    assert list(failures) == [bad_job]  # the tiny model loaded
    assert "max_megapixels" in failures[bad_job]

    run_and_wait(qtbot, win, "a cat")
    assert len(ai.strip.results()) == 1
    assert ai.panel.status_label.property("error") is False


def test_masked_edit_leaves_every_pixel_outside_the_mask_unchanged(qtbot, win) -> None:
    ai = win.ai
    stroke(qtbot, win, [(6, 50), (58, 50)], colour=QColor(40, 40, 200))
    stroke(qtbot, win, [(16, 16), (30, 30)], tool=Tool.MASK)
    mask = win.document.mask_array()
    assert mask is not None and 0 < (mask > 0).sum() < SIZE * SIZE / 2
    win.tools.set_tool(Tool.BRUSH)
    before = composite(win)
    outside = mask == 0

    run_and_wait(qtbot, win, "a bright yellow flower", preset="object-insert")
    (staged,) = ai.strip.results()
    # The engine feathers the mask a few pixels outward; beyond that band it returns the
    # original pixels exactly.
    far = ~dilate(mask > 0, 4)
    assert np.array_equal(staged.pixels[far], before[..., :3][far])
    inside = mask > 0.99
    assert np.abs(staged.pixels[inside].astype(int) - before[..., :3][inside]).max() > 0
    ai.strip.select(staged.id)  # the canvas shows the result only inside the mask
    clip = ai.overlay._clip
    assert clip is not None and clip.contains(QPoint(23, 23)) and not clip.contains(QPoint(2, 60))

    assert ai.apply(staged.id, "new-layer")
    after = composite(win)
    # In the document the edit is clipped to the painted mask: exact outside, feather or not.
    assert np.array_equal(after[outside], before[outside])
    assert not np.array_equal(after[inside], before[inside])
    win.document.undo_stack.undo()

    # Replacing the active layer keeps that layer's own pixels outside the mask.
    run_and_wait(qtbot, win, "a bright yellow flower", preset="object-insert")
    (staged,) = ai.strip.results()
    layer = win.document.active_layer
    layer_before = win.document.layer_array(layer).copy()
    assert ai.apply(staged.id, "replace")
    layer_after = win.document.layer_array(layer)
    assert np.array_equal(layer_after[outside], layer_before[outside])
    assert np.array_equal(composite(win)[outside], before[outside])


def test_variants_discard_and_bad_input(qtbot, win) -> None:
    ai = win.ai
    ai.panel.prompt_edit.setPlainText("")
    assert ai.run() == []  # no prompt: a message, nothing queued
    assert ai.panel.status_label.property("error") is True
    assert not ai.is_busy()

    stroke(qtbot, win, [(10, 10), (50, 30)])
    ai.panel.variants_spin.setValue(2)
    ai.panel.seed_spin.setValue(7)
    run_and_wait(qtbot, win, "two takes")
    seeds = sorted(r.metadata["seed"] for r in ai.strip.results())
    assert seeds == [7, 8]
    # "Reuse settings" puts a result's prompt and seed back, ready for a tweak and a re-run.
    second = next(r for r in ai.strip.results() if r.metadata["seed"] == 8)
    ai.panel.prompt_edit.setPlainText("something else")
    ai.panel.seed_spin.setValue(99)
    ai.strip.select(second.id)
    ai.strip.reuse_button.click()
    assert ai.panel.prompt() == "two takes" and ai.panel.params()["seed"] == 8
    assert ai.panel.preset() == "stroke-to-image"
    index = win.document.undo_stack.index()
    ai.strip.discard_current()
    assert len(ai.strip.results()) == 1
    ai.strip.discard_all()
    assert ai.strip.results() == []
    assert win.document.undo_stack.index() == index  # discarding is not a document change


def test_backslash_shows_the_original_on_the_canvas(qtbot, win) -> None:
    ai = win.ai
    stroke(qtbot, win, [(10, 10), (50, 50)])
    run_and_wait(qtbot, win, "compare me")
    (staged,) = ai.strip.results()
    ai.strip.select(staged.id)
    assert ai.overlay.isVisible() and ai.overlay.image() is not None
    win.canvas.setFocus()
    qtbot.keyPress(win.canvas, Qt.Key.Key_Backslash)
    assert not ai.overlay.isVisible() and ai.strip.compare.showing_original()
    qtbot.keyRelease(win.canvas, Qt.Key.Key_Backslash)
    assert ai.overlay.isVisible() and not ai.strip.compare.showing_original()


def test_edit_history_is_saved_in_the_ora(qtbot, win, tmp_path) -> None:
    from rfedit_desktop.document.opening import load_ora

    ai = win.ai
    stroke(qtbot, win, [(10, 30), (50, 30)])
    ai.panel.seed_spin.setValue(42)
    run_and_wait(qtbot, win, "a saved story")
    (staged,) = ai.strip.results()
    ai.apply(staged.id, "new-layer")
    path = tmp_path / "story.ora"
    win.document.save(path)
    loaded = load_ora(path)
    (entry,) = loaded.edit_history
    assert entry["prompt"] == "a saved story"
    assert entry["metadata"]["seed"] == 42
    assert entry["metadata"]["method"] == "rf-inversion"


def test_window_shows_before_torch_and_the_engine_process_loads_it() -> None:
    code = textwrap.dedent(
        """
        import sys, time
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from rfedit_desktop.ui.main_window import MainWindow
        from rfedit_desktop.ui.ai_editing import AiEditing
        from rfedit_desktop.jobs import ModelChoice
        w = MainWindow(restore_state=False)
        ai = getattr(w, "ai_editing", None) or AiEditing(w)
        w.show(); app.processEvents()
        print("shown-with-torch", "torch" in sys.modules)
        ready = []
        ai.service.model_ready.connect(ready.append)
        ai.load_model(ModelChoice("tiny"))
        deadline = time.time() + 120
        while not ready and time.time() < deadline:
            app.processEvents(); time.sleep(0.01)
        print("ready", bool(ready), "torch", "torch" in sys.modules)
        print("shutdown", ai.shutdown())
        w.document.undo_stack.setClean(); w.close()
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=180)
    assert "shown-with-torch False" in out.stdout, out.stderr[-2000:]
    assert "ready True torch False" in out.stdout, out.stderr[-2000:]  # torch is the engine's
    assert "shutdown True" in out.stdout


def test_overlay_follows_the_canvas(qtbot, win) -> None:
    """The preview overlay covers the canvas and ignores the mouse, so painting goes on."""
    ai = win.ai
    assert ai.overlay.geometry() == win.canvas.rect()
    assert ai.overlay.testAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    win.resize(win.width() + 40, win.height())
    QApplication.processEvents()
    assert ai.overlay.geometry() == win.canvas.rect()
    assert ai.overlay.mapTo(win.canvas, QPoint(0, 0)) == QPoint(0, 0)


def test_window_shortcuts_run_and_cancel(qtbot, win) -> None:
    ai = win.ai
    stroke(qtbot, win, [(10, 10), (40, 40)])
    ai.panel.steps_spin.setValue(200)  # long enough that Esc arrives mid-run
    ai.panel.prompt_edit.setPlainText("by keyboard")
    started = []
    ai.service.job_started.connect(started.append)
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=2000)
    win.canvas.setFocus()
    assert not ai.cancel_action.isEnabled()  # Esc belongs to other widgets while idle
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert ai.is_busy() and ai.cancel_action.isEnabled()
    qtbot.waitUntil(lambda: bool(started), timeout=WAIT_MS)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not ai.is_busy(), timeout=WAIT_MS)
    assert ai.strip.results() == []
    assert "Cancelled" in ai.panel.status_label.text()


def test_inversions_kept_in_the_project_make_a_reopened_edit_instant(qtbot, win,
                                                                    tmp_path) -> None:
    from rfedit_desktop.document.opening import load_ora
    from rfedit_desktop.engine.inversion_archive import key_of

    ai = win.ai
    assert not ai.saves_inversions()  # opt-in: project files stay small by default
    ai.set_save_inversions(True)
    stroke(qtbot, win, [(12, 50), (50, 12)], colour=QColor(90, 20, 160))
    run_and_wait(qtbot, win, "a purple comet")
    qtbot.waitUntil(lambda: any(key_of(n) for n in win.document.extra_files), timeout=WAIT_MS)
    path = tmp_path / "with-inversion.ora"
    win.document.save(path)

    # Forget every cached inversion, then reopen the project: its stored one comes back.
    engine = ai.service.engine.client()
    stats = engine.clear_cache()
    assert stats["memory_entries"] == 0 and stats["disk_entries"] == 0
    assert engine.info()["info"]["engine"]["inversion_cache"]["memory_entries"] == 0
    reopened = load_ora(path)
    assert any(key_of(n) for n in reopened.extra_files)
    win.set_document(reopened)
    hits = []
    ai.service.result.connect(lambda job, r: hits.append(r) if isinstance(r, int) else None)
    qtbot.waitUntil(lambda: bool(hits), timeout=WAIT_MS)
    assert hits[0] >= 1
    reopened.set_active_layer(reopened.layers[-1])
    run_and_wait(qtbot, win, "a purple comet")
    staged = ai.strip.results()[-1]
    assert staged.metadata["cache_hit"] is True and staged.metadata["nfe"] == STEPS

    ai.set_save_inversions(False)
    assert not any(key_of(n) for n in win.document.extra_files)

    # Damaged entries are named in one error after the good ones went in; foreign names are
    # not inversions at all.
    from rfedit_desktop.errors import EditError

    assert key_of("inversion-../../etc.safetensors") is None
    with pytest.raises(EditError, match="2 of the project's stored inversions"):
        engine.import_inversions({"inversion-abc.safetensors": b"garbage",
                                  "inversion-def.safetensors": b"",
                                  "notes.txt": b"hello"})


def test_pixels_for_target_clip_to_the_mask(qapp) -> None:
    from rfedit_desktop.jobs.preview_image import to_qimage
    from rfedit_desktop.ui.edit_apply import pixels_for_target
    from rfedit_desktop.ui.staging import StagedResult

    doc = Document.new(8, 8, QColor(10, 20, 30))
    layer = doc.active_layer
    result = np.full((8, 8, 3), 200, np.uint8)
    mask = np.zeros((8, 8), np.float32)
    mask[2:6, 2:6] = 1.0
    mask[2, 2] = 0.5
    staged = StagedResult(pixels=result, image=to_qimage(result), original=to_qimage(result),
                          prompt="p", metadata={}, mask=mask)

    new = pixels_for_target(staged, "new-layer", doc, layer.id)
    assert new.shape == (8, 8, 4)
    assert (new[..., 3][mask == 0] == 0).all() and (new[..., 3][mask == 1] == 255).all()
    assert new[2, 2, 3] == 128

    replaced = pixels_for_target(staged, "replace", doc, layer.id)
    base = doc.layer_array(layer)
    assert np.array_equal(replaced[mask == 0], base[mask == 0])
    assert (replaced[mask == 1][:, :3] == 200).all()
    assert replaced[2, 2, 0] == 105  # halfway between 10 and 200

    from rfedit_desktop.ui.edit_apply import mask_region

    region = mask_region(mask)
    assert region.contains(QPoint(2, 2)) and region.contains(QPoint(5, 5))
    assert not region.contains(QPoint(1, 1)) and not region.contains(QPoint(6, 2))
    assert region.boundingRect().width() == 4 and region.boundingRect().height() == 4

    staged.mask = None
    opaque = pixels_for_target(staged, "replace", doc, layer.id)
    assert (opaque[..., 3] == 255).all() and (opaque[..., :3] == 200).all()
    staged.mask = np.ones((4, 4), np.float32)
    with pytest.raises(Exception, match="mask"):
        pixels_for_target(staged, "new-layer", doc, layer.id)


def test_stroke_to_image_with_the_demo_model(qtbot, win) -> None:
    """The shipped demo model through the same GUI path: a red blob on blue becomes a picture
    that keeps the layout (red middle, blue corners) and re-edits from the cache."""
    from rfedit_desktop import paths

    if not (paths.demo_model_dir() / "model_index.json").is_file():
        pytest.skip("the demo model is not installed in resources/demo-model")
    ai = win.ai
    ready: list[dict] = []
    ai.service.model_ready.connect(ready.append)
    ai.load_model(ModelChoice("demo"))
    qtbot.waitUntil(lambda: bool(ready), timeout=WAIT_MS)
    doc = win.document
    blue = np.zeros((SIZE, SIZE, 4), np.uint8)
    blue[...] = (40, 70, 200, 255)
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    blue[(x - 32) ** 2 + (y - 32) ** 2 < 18 ** 2] = (210, 30, 30, 255)
    from rfedit_desktop.jobs.preview_image import to_qimage

    doc.set_layer_image(doc.layers[0], to_qimage(blue), "Paint")
    run_and_wait(qtbot, win, "a large red circle on a blue background")
    (staged,) = ai.strip.results()
    px = staged.pixels.astype(int)
    centre, corner = px[26:38, 26:38].mean(axis=(0, 1)), px[:8, :8].mean(axis=(0, 1))
    assert centre[0] > centre[2] + 40, centre  # red stays red
    assert corner[2] > corner[0] + 40, corner  # blue stays blue
    ai.panel.prompt_edit.setPlainText("a large red square on a blue background")
    ai.run()
    qtbot.waitUntil(lambda: not ai.is_busy(), timeout=WAIT_MS)
    assert ai.strip.results()[-1].metadata["cache_hit"] is True
    assert ai.strip.results()[-1].metadata["nfe"] == STEPS


def test_compare_methods_stages_one_labelled_result_per_method(qtbot, win) -> None:
    ai = win.ai
    stroke(qtbot, win, [(8, 8), (56, 56)])
    ai.panel.prompt_edit.setPlainText("a red circle")
    ai.panel.steps_spin.setValue(STEPS)
    ai.panel.n_max_spin.setValue(3)
    for method, action in ai.panel.compare_actions.items():
        action.setChecked(method in ("rf-inversion", "fireflow", "flowedit"))
    qtbot.mouseClick(ai.panel.compare_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ai.is_busy(), timeout=WAIT_MS)
    results = ai.strip.results()
    assert [r.metadata["method"] for r in results] == ["rf-inversion", "fireflow", "flowedit"]
    assert [r.metadata["nfe"] for r in results] == [2 * STEPS, 2 * (STEPS + 1), 2 * 3]
    assert all(r.metadata["compared"] for r in results)
    items = [ai.strip.list.item(i).text() for i in range(ai.strip.list.count())]
    assert any(t.startswith("fireflow\n10 NFE · ") and t.endswith(" s") for t in items), items
    # the same source: a second comparison reuses every cached inversion
    qtbot.mouseClick(ai.panel.compare_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ai.is_busy(), timeout=WAIT_MS)
    again = ai.strip.results()[3:]
    assert [r.metadata["cache_hit"] for r in again] == [True, True, True]
    assert [r.metadata["nfe"] for r in again] == [STEPS, STEPS + 1, 3]


@pytest.mark.parametrize("method", ["rf-solver", "flowedit"])
def test_a_newer_method_runs_from_the_panel_and_its_cache_shows(qtbot, win, method) -> None:
    ai = win.ai
    stroke(qtbot, win, [(10, 50), (50, 10)])
    combo = ai.panel.method_combo
    combo.setFocus()
    while combo.currentData() != method:
        qtbot.keyClick(combo, Qt.Key.Key_Down)
    run_and_wait(qtbot, win, "a red circle", preset=None)
    (result,) = ai.strip.results()
    assert result.metadata["method"] == method and result.metadata["steps"] == STEPS
    qtbot.waitUntil(lambda: ai.panel.is_cache_shown(), timeout=WAIT_MS)
    ai.panel.n_max_spin.setValue(2)  # FlowEdit's source side is cached per n_max
    if method == "flowedit":
        qtbot.waitUntil(lambda: not ai.panel.is_cache_shown(), timeout=WAIT_MS)
def test_a_masked_edit_kept_in_the_project_re_edits_without_inverting(qtbot, win,
                                                                     tmp_path) -> None:
    """The trajectory of a masked edit (views of one buffer) goes into the project too."""
    from rfedit_desktop.document.opening import load_ora
    from rfedit_desktop.engine.inversion_archive import key_of

    ai = win.ai
    ai.set_save_inversions(True)
    stroke(qtbot, win, [(12, 50), (50, 12)], colour=QColor(90, 20, 160))
    stroke(qtbot, win, [(20, 20), (40, 40)], tool=Tool.MASK)
    assert win.document.mask_array() is not None
    run_and_wait(qtbot, win, "a purple comet")
    qtbot.waitUntil(lambda: any(key_of(n) for n in win.document.extra_files)
                    or ai.panel.status_label.property("error") is True, timeout=WAIT_MS)
    assert ai.panel.status_label.property("error") is not True, ai.panel.status_label.text()
    path = tmp_path / "masked.ora"
    win.document.save(path)

    stats = ai.service.engine.client().clear_cache()
    assert stats["memory_entries"] == 0
    reopened = load_ora(path)
    win.set_document(reopened)
    imported = []
    ai.service.result.connect(
        lambda job, r: imported.append(r) if isinstance(r, int) else None)
    qtbot.waitUntil(lambda: bool(imported), timeout=WAIT_MS)
    assert imported[0] == 1
    reopened.set_active_layer(reopened.paint_layers[-1])
    assert reopened.mask_array() is not None
    run_and_wait(qtbot, win, "a purple comet")
    staged = ai.strip.results()[-1]
    assert staged.metadata["has_mask"] is True
    assert staged.metadata["cache_hit"] is True and staged.metadata["nfe"] == STEPS


def test_an_inversion_that_cannot_be_kept_is_reported(qtbot, win, monkeypatch) -> None:
    from thread_engine import ThreadEngine

    from rfedit_desktop.engine import inversion_bytes
    from rfedit_desktop.server.backend import EngineBackend

    def refuse(*args, **kwargs):
        raise RuntimeError("Some tensors share memory")

    monkeypatch.setattr(inversion_bytes, "entry_bytes", refuse)
    ai = win.ai
    local = ai.service.engine
    link = ThreadEngine(EngineBackend())  # the engine in this process, where the patch applies
    ai.service.set_engine(link)
    try:
        ai.load_model(ModelChoice("tiny"))
        ai.set_save_inversions(True)
        stroke(qtbot, win, [(12, 50), (50, 12)])
        run_and_wait(qtbot, win, "a kept comet")
        qtbot.waitUntil(lambda: ai.panel.status_label.property("error") is True,
                        timeout=WAIT_MS)
        assert "Could not keep the inversion" in ai.panel.status_label.text()
        assert ai.strip.results()  # the edit itself is there
    finally:
        ai.service.set_engine(local)
        link.stop()


def test_a_selection_is_the_edit_mask_feathered_as_it_is(qtbot, win) -> None:
    win.tools.set_tool(Tool.SELECT_ELLIPSE)
    canvas = win.canvas
    a = canvas.transform.to_view(QPointF(10, 10)).toPoint()
    b = canvas.transform.to_view(QPointF(40, 30)).toPoint()
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(canvas, b)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=b)
    selection = win.document.selection
    selection.feather(4)
    win.ai.panel.prompt_edit.setPlainText("a large red circle on a blue background")
    request = win.ai.build_requests()[0][0]
    expected = selection.mask_array()
    # The request carries the 8-bit coverage (a quarter of a float mask's bytes on the wire),
    # which the engine reads as exactly the float mask.
    assert request.mask is not None and request.mask.dtype == np.uint8
    assert np.array_equal(request.mask, selection.coverage())
    assert np.array_equal(prepare_mask(request.mask, SIZE, SIZE), expected)
    assert ((expected > 0) & (expected < 1)).any(), "the feathered edge is soft"
    assert expected[2, 60] == 0 and expected[20, 25] == 1
    selection.deselect()
    assert win.ai.build_requests()[0][0].mask is None, "no selection and no mask: everything"
