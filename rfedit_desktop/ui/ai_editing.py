"""AI editing in the window: the controller between the document, the panel and the worker.

It builds `EditRequest`s from the document (pixels, mask) and the Edit panel, sends them to the
worker, shows progress and live previews (on the canvas and in the staging strip), stages the
results, and applies a chosen one to the document as one undo step named after its prompt.
Only this module knows all three; each of them works without it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QRectF, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QBitmap,
    QColor,
    QImage,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QRegion,
    QTransform,
)
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from rfedit_desktop.engine.request import EditRequest
from rfedit_desktop.errors import EditError
from rfedit_desktop.jobs import EditService, ModelChoice, inversion_archive
from rfedit_desktop.jobs.preview_image import to_qimage
from rfedit_desktop.ui.edit_panel import INVERSION_FIELDS, EditPanel, scrollable
from rfedit_desktop.ui.model_dialog import ModelDialog, load_choice, save_choice
from rfedit_desktop.ui.settings import read_bool
from rfedit_desktop.ui.staging import COMPARE_KEY, RUNNING_ID, StagedResult, StagingStrip

log = logging.getLogger(__name__)

CACHE_QUERY_DELAY_MS = 350
# Above this many document pixels the cache indicator does not copy the picture on the GUI
# thread to ask the worker; it relies on the sources it has seen cached (re-edits) instead.
CACHE_QUERY_MAX_PIXELS = 4_000_000
SAVE_INVERSIONS_KEY = "ai/save_inversions"
PANEL_FIELDS = ("prompt", "source_prompt", "method", "steps", "gamma", "eta", "start", "stop",
                "decay_power", "strength", "guidance", "seed")
# A project keeps at most this many inversions (a 1-megapixel one is a few MB, a masked one
# with its trajectory tens of MB): the newest sources are the ones worth re-editing.
MAX_INVERSIONS_PER_DOCUMENT = 3


class PreviewOverlay(QWidget):
    """Draws the live preview (or a staged result) over the canvas's document rectangle.

    A transparent child of the canvas that ignores the mouse, so painting and panning go on
    underneath; it reads the canvas's view transform on every paint, so zoom and pan follow.
    """

    def __init__(self, canvas: QWidget) -> None:
        super().__init__(canvas)
        self._canvas = canvas
        self._image: QImage | None = None
        self._caption = ""
        self._clip: QRegion | None = None  # document pixels the image may cover (a mask)
        self._hidden_for_compare = False
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground, True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setGeometry(canvas.rect())
        canvas.installEventFilter(self)
        self.hide()

    def image(self) -> QImage | None:
        return self._image

    def set_image(self, image: QImage | None, caption: str = "",
                  clip: QRegion | None = None) -> None:
        """`clip`: show the image only there (a masked edit changes nothing elsewhere)."""
        self._image = image
        self._caption = caption
        self._clip = clip
        self.setVisible(image is not None and not self._hidden_for_compare)
        self.update()

    def set_comparing(self, on: bool) -> None:
        """While on, the canvas shows the document itself (the original)."""
        self._hidden_for_compare = on
        self.setVisible(self._image is not None and not on)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self._canvas and event.type() == QEvent.Type.Resize:
            self.setGeometry(self._canvas.rect())
        return False

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        if self._image is None:
            return
        canvas = self._canvas
        size = canvas.doc_size() if hasattr(canvas, "doc_size") else self._image.size()
        transform = getattr(canvas, "transform", None)
        if transform is None or size.isEmpty():
            return
        target = transform.rect_to_view(QRect(QPoint(0, 0), size))
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        if self._clip is not None:
            to_view = QTransform()
            to_view.translate(target.left(), target.top())
            to_view.scale(target.width() / size.width(), target.height() / size.height())
            painter.setClipRegion(to_view.map(self._clip))
        painter.drawImage(target, self._image)
        painter.setClipping(False)
        if self._caption:
            metrics = painter.fontMetrics()
            box = QRectF(target.left() + 6, target.top() + 6,
                         metrics.horizontalAdvance(self._caption) + 14, metrics.height() + 8)
            painter.fillRect(box, QColor(20, 20, 20, 190))
            painter.setPen(QColor(235, 235, 235))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self._caption)
        painter.end()


@dataclass
class _JobContext:
    """What the GUI remembers about a submitted edit until its result is staged."""

    document: Any
    request: EditRequest
    original: QImage
    target: str
    layer_id: int | None
    variant: int
    variants: int
    submitted: float
    clip: QRegion | None = None
    started: float = 0.0  # when the worker began it (perf_counter)


class AiEditing(QObject):
    """Installs the Edit dock, the staging strip, a Model menu and the canvas preview."""

    def __init__(self, window: Any, service: EditService | None = None,
                 choice: ModelChoice | None = None) -> None:
        super().__init__(window)
        self.window = window
        settings = getattr(window, "settings", None)
        self._choice = choice or (load_choice(settings) if settings is not None
                                  else ModelChoice())
        self.service = service or EditService(choice=self._choice, parent=self)
        self._contexts: dict[int, _JobContext] = {}
        self._cache_key = ""
        self._known_cached: set[str] = set()
        self._archive_jobs: dict[int, Any] = {}  # export/import job id -> document (or None)
        self._clips: dict[int, QRegion | None] = {}  # staged result id -> its mask region
        self._document: Any = None
        self._model_state = "idle"
        self._last_preview_step = ""
        self._last_phase = ""

        self.panel = EditPanel()
        self.strip = StagingStrip()
        self.edit_dock = window.add_edit_dock(scrollable(self.panel), "Edit")
        window.resizeDocks([self.edit_dock], [self.panel.sizeHint().height()],
                           Qt.Orientation.Vertical)  # the whole panel, Run included
        self.staging_dock = window.add_bottom_dock(self.strip, "Staging", "StagingDock")
        self.overlay = PreviewOverlay(window.canvas)
        self.model_label = QLabel("")
        status_area = getattr(window, "status_area", None)
        if status_area is not None and status_area.layout() is not None:
            status_area.layout().addWidget(self.model_label)
        self._build_actions()

        self._cache_timer = QTimer(self)
        self._cache_timer.setSingleShot(True)
        self._cache_timer.setInterval(CACHE_QUERY_DELAY_MS)
        self._cache_timer.timeout.connect(self.refresh_cache_state)

        p, s, svc = self.panel, self.strip, self.service
        p.run_requested.connect(self.run)
        p.cancel_requested.connect(self.cancel)
        p.model_change_requested.connect(self.choose_model)
        p.inversion_params_changed.connect(self._schedule_cache_query)
        p.source_combo.currentIndexChanged.connect(self._schedule_cache_query)
        s.apply_requested.connect(self.apply)
        s.selection_changed.connect(self._selection_changed)
        s.compare_changed.connect(self.overlay.set_comparing)
        s.reuse_requested.connect(self.reuse_settings)
        svc.model_loading.connect(self._on_model_loading)
        svc.model_ready.connect(self._on_model_ready)
        svc.model_failed.connect(self._on_model_failed)
        svc.job_started.connect(self._on_started)
        svc.progress.connect(self._on_progress)
        svc.preview.connect(self._on_preview)
        svc.result.connect(self._on_result)
        svc.failed.connect(self._on_failed)
        svc.cancelled.connect(self._on_cancelled)
        svc.cache_state.connect(self._on_cache_state)

        if hasattr(window, "document_changed"):
            window.document_changed.connect(self._watch_document)
        if getattr(window, "document", None) is not None:
            self._watch_document(window.document)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
            app.aboutToQuit.connect(self.shutdown)
        self._show_model_state(f"{self._choice.label()} · not loaded", "idle")

    # set-up -----------------------------------------------------------------------------
    def _build_actions(self) -> None:
        w = self.window
        self.run_action = QAction("Run Edit", w)
        self.run_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.run_action.triggered.connect(self.panel.request_run)
        self.cancel_action = QAction("Cancel Edit", w)
        self.cancel_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.cancel_action.setEnabled(False)  # a disabled action leaves Esc to other widgets
        self.cancel_action.triggered.connect(self.cancel)
        self.cancel_all_action = QAction("Cancel All Edits", w)
        self.cancel_all_action.triggered.connect(self.cancel_all)
        self.choose_model_action = QAction("Choose Model…", w)
        self.choose_model_action.triggered.connect(self.choose_model)
        self.reload_action = QAction("Load Model Now", w)
        self.reload_action.triggered.connect(lambda: self.load_model())
        self.save_inversions_action = QAction("Keep Inversions in Project Files", w)
        self.save_inversions_action.setCheckable(True)
        self.save_inversions_action.setToolTip(
            "Store the cached inversion of recent edit sources in the .ora, so that a reopened "
            "project re-edits at once (larger files)")
        settings = getattr(w, "settings", None)
        if settings is not None:
            self.save_inversions_action.setChecked(read_bool(settings, SAVE_INVERSIONS_KEY, False))
        self.save_inversions_action.toggled.connect(self.set_save_inversions)
        for action in (self.run_action, self.cancel_action):
            w.addAction(action)
        menu = w.menu_named("&Model") if hasattr(w, "menu_named") else None
        if menu is not None:
            for action in (self.run_action, self.cancel_action, self.cancel_all_action):
                menu.addAction(action)
            menu.addSeparator()
            menu.addAction(self.choose_model_action)
            menu.addAction(self.reload_action)
            menu.addSeparator()
            menu.addAction(self.save_inversions_action)

    def _watch_document(self, document: Any) -> None:
        old = self._document
        if old is not None:
            for signal in (old.region_changed, old.layers_changed):
                try:
                    signal.disconnect(self._document_edited)
                except (RuntimeError, TypeError):
                    pass
        self._document = document
        if document is not None:
            document.region_changed.connect(self._document_edited)
            document.layers_changed.connect(self._document_edited)
        self.overlay.set_image(None)
        self.panel.set_cache_state(None)
        stored = {name: data for name, data in getattr(document, "extra_files", {}).items()
                  if inversion_archive.key_of(name) is not None}
        if stored:
            self._archive_jobs[self.service.import_inversions(stored)] = None
        self._schedule_cache_query()

    # inversions in project files ----------------------------------------------------------
    def saves_inversions(self) -> bool:
        return self.save_inversions_action.isChecked()

    def set_save_inversions(self, on: bool) -> None:
        """The user setting; turning it off drops the stored inversions from the document."""
        if self.save_inversions_action.isChecked() != on:
            self.save_inversions_action.setChecked(on)  # re-enters through toggled
            return
        settings = getattr(self.window, "settings", None)
        if settings is not None:
            settings.setValue(SAVE_INVERSIONS_KEY, bool(on))
        document = self.window.document
        if not on and document is not None:
            for name in [n for n in document.extra_files if inversion_archive.key_of(n)]:
                del document.extra_files[name]

    def _store_inversion(self, document: Any, payload: Any) -> None:
        if document is None or not payload or not self.saves_inversions():
            return
        name, data = payload
        files = document.extra_files
        files.pop(name, None)
        files[name] = bytes(data)  # newest last
        stored = [n for n in files if inversion_archive.key_of(n)]
        for old in stored[:-MAX_INVERSIONS_PER_DOCUMENT]:
            del files[old]

    # model ------------------------------------------------------------------------------
    def load_model(self, choice: ModelChoice | None = None) -> int:
        """Load in the background (the app calls this right after the window shows)."""
        if choice is not None:
            self._choice = choice
        return self.service.load_model(self._choice)

    def choose_model(self) -> None:
        dialog = ModelDialog(self._choice, self.window)
        if not dialog.exec():
            return
        choice = dialog.choice()
        settings = getattr(self.window, "settings", None)
        if settings is not None:
            save_choice(settings, choice)
        self.load_model(choice)

    def _on_model_loading(self, fraction: float, message: str) -> None:
        pct = f" {fraction * 100:.0f}%" if fraction > 0 else ""
        self._show_model_state(f"{self._choice.label()} · loading{pct}", "loading")
        if message:
            self.panel.progress_bar.setFormat(message[:60])

    def _on_model_ready(self, info: dict) -> None:
        name = info.get("name") or info.get("model") or self._choice.model
        device = info.get("device", self._choice.device)
        self._show_model_state(f"{name} · {device} · ready", "ready")
        self._known_cached.clear()  # another model: another cache key
        if not self._contexts:
            self.panel.set_busy(False)  # clears the loading message from the progress bar
        self._schedule_cache_query()

    def _on_model_failed(self, message: str) -> None:
        self._show_model_state(f"{self._choice.label()} · not loaded", "error")
        self.panel.show_status(message, error=True)

    def _show_model_state(self, text: str, state: str) -> None:
        self._model_state = state
        self.panel.set_model_status(text, state)
        self.model_label.setText(f"model: {text}")

    def _model_text(self) -> str:
        """"demo · cpu": the loaded model and its real device, else the choice."""
        info = self.service.model_info
        if not info:
            return self._choice.label()
        return f"{info.get('name') or info.get('model') or self._choice.model} · " \
               f"{info.get('device', self._choice.device)}"

    # running ----------------------------------------------------------------------------
    def build_requests(self) -> list[tuple[EditRequest, _JobContext]]:
        """One request per variant from the document and the panel; EditError if impossible."""
        document = self.window.document
        if document is None:
            raise EditError("Open or create an image first.")
        params = self.panel.params()
        if not params["prompt"]:
            raise EditError("Type a prompt that describes the result first.")
        source = self.panel.source_mode()
        target = self.panel.target_mode()
        active = document.active_layer
        layer_id = active.id if active is not None and not active.is_mask else None
        if target == "replace" and layer_id is None:
            raise EditError("Select the paint layer the result should replace.")
        if source == "active" and layer_id is None:
            raise EditError("Select a paint layer to edit, or use the visible image.")
        try:
            pixels = document.composite_for_edit(source)
        except Exception as exc:  # noqa: BLE001 - a document error is the user's to fix
            raise EditError(str(exc)) from exc
        mask = document.mask_array()
        clip = mask_region(mask) if mask is not None else None
        original = to_qimage(pixels)
        count = self.panel.variants()
        out = []
        for i in range(count):
            fields = dict(params, seed=(params["seed"] + i) % (2**31))
            request = EditRequest(image=pixels, mask=mask, **fields)
            out.append((request, _JobContext(document, request, original, target, layer_id,
                                             i, count, time.perf_counter(), clip)))
        return out

    def run(self) -> list[int]:
        """Queue the edit (and its variants) behind whatever runs; returns the job ids."""
        try:
            planned = self.build_requests()
        except EditError as exc:
            self.panel.show_status(str(exc), error=True)
            return []
        key = self._source_key()
        # Until the worker answers, say what is known: a source seen cached, or "not cached".
        self.panel.set_cache_state(key in self._known_cached)
        ids = []
        for request, context in planned:
            job_id = self.service.submit(request, key=key if context.variant == 0 else "")
            self._contexts[job_id] = context
            ids.append(job_id)
        queued = " (queued)" if self.service.running_job is not None else ""
        self.panel.show_status(f"Editing “{planned[0][0].prompt}”{queued}…")
        self._set_busy(True)
        return ids

    def cancel(self) -> None:
        """Cancel the running edit; queued ones still run (Cancel All stops them too)."""
        running = self.service.running_job
        if running is not None and running in self._contexts:
            self.service.cancel(running)
        elif self._contexts:
            self.service.cancel(next(iter(self._contexts)))

    def cancel_all(self) -> None:
        for job_id in list(self._contexts):
            self.service.cancel(job_id)

    def is_busy(self) -> bool:
        return bool(self._contexts)

    def _set_busy(self, busy: bool) -> None:
        self.panel.set_busy(busy)
        self.cancel_action.setEnabled(busy)

    def _on_started(self, job_id: int) -> None:
        context = self._contexts.get(job_id)
        if context is None:
            return
        context.started = time.perf_counter()
        label = context.request.prompt[:24]
        if context.variants > 1:
            label += f" ({context.variant + 1}/{context.variants})"
        self.strip.begin_running(context.original, f"{label}\nstarting…")
        self.panel.set_progress("edit", 0, context.request.steps)

    def _on_progress(self, job_id: int, phase: str, step: int, total: int) -> None:
        if job_id not in self._contexts:
            return
        self.panel.set_progress(phase, step, total)
        self._last_preview_step = f"{phase} {step}/{total}"
        self._last_phase = phase
        elapsed = time.perf_counter() - self._contexts[job_id].started
        self.model_label.setText(f"model: {self._model_text()} · {phase} {step}/{total} · "
                                 f"{elapsed:.1f} s")

    def _on_preview(self, job_id: int, image: QImage) -> None:
        if job_id not in self._contexts:
            return
        caption = f"preview · {self._last_preview_step}"
        if self._last_phase == "invert":
            # The picture dissolving into noise is progress, not a result: the canvas keeps
            # the original and only the strip's small running slot shows it.
            self.overlay.set_image(None)
        else:
            self.overlay.set_image(image, caption, self._contexts[job_id].clip)
        self.strip.show_preview(image, self._last_preview_step or None)

    def _on_result(self, job_id: int, result: Any) -> None:
        if job_id in self._archive_jobs:
            document = self._archive_jobs.pop(job_id)
            if isinstance(result, int) and result:
                self._schedule_cache_query()  # imported: the indicator may turn green
            elif document is not None:
                self._store_inversion(document, result)
            return
        context = self._contexts.pop(job_id, None)
        if context is None or result is None:
            return
        self.strip.end_running()
        metadata = self._metadata(context, result)
        pixels = np.ascontiguousarray(result.image)
        staged = StagedResult(
            pixels=pixels, image=to_qimage(pixels), original=context.original,
            prompt=context.request.prompt, metadata=metadata, target=context.target,
            layer_id=context.layer_id, mask=context.request.mask,
        )
        self._clips[staged.id] = context.clip
        self.strip.add_result(staged)
        if self.saves_inversions() and context.variant == 0:
            self._archive_jobs[self.service.export_inversion(context.request)] = context.document
        seconds = sum(float(v) for v in (result.timings or {}).values())
        hit = "inversion from cache" if result.cache_hit else "inverted"
        self.panel.show_status(f"Done: {result.nfe} model evaluations, {hit}, {seconds:.1f} s. "
                               "Apply or discard it in the staging strip.")
        self._after_job()

    def _on_failed(self, job_id: int, message: str) -> None:
        if job_id in self._archive_jobs:
            del self._archive_jobs[job_id]  # a missed shortcut; the edit itself succeeded
            return
        if self._contexts.pop(job_id, None) is None:
            return
        self.strip.end_running()
        self.overlay.set_image(None)
        self.panel.show_status(message, error=True)
        status_bar = getattr(self.window, "statusBar", None)
        if status_bar is not None:
            status_bar().showMessage(f"Edit failed: {message}", 8000)
        self._after_job()

    def _on_cancelled(self, job_id: int) -> None:
        self._archive_jobs.pop(job_id, None)
        if self._contexts.pop(job_id, None) is None:
            return
        self.strip.end_running()
        self.panel.show_status("Cancelled; the picture is unchanged.")
        self._selection_changed(self.strip.current_id())
        self._after_job()

    def _after_job(self) -> None:
        if not self._contexts:
            self._set_busy(False)
            model = self.service.model_info
            if model is not None:
                self.model_label.setText(f"model: {self._model_text()} · ready")

    def _metadata(self, context: _JobContext, result: Any) -> dict[str, Any]:
        meta = dict(context.request.params())
        meta.update({k: v for k, v in (result.metadata or {}).items() if k not in ("image",)})
        meta.update(
            nfe=int(result.nfe),
            cache_hit=bool(result.cache_hit),
            timings={k: round(float(v), 4) for k, v in (result.timings or {}).items()},
            variant=context.variant,
            source=self.panel.source_mode(),
            preset=self.panel.preset(),
        )
        model = self.service.model_info or {}
        meta.setdefault("model", model.get("name") or self._choice.model)
        return meta

    # staging ----------------------------------------------------------------------------
    def apply(self, result_id: int, target: str) -> bool:
        """Apply a staged result as one undo step; False (with a message) if it cannot."""
        staged = self.strip.result(result_id)
        document = self.window.document
        if staged is None or document is None:
            return False
        layer_id = staged.layer_id
        if layer_id is not None and document.layer_by_id(layer_id) is None:
            layer_id = None  # the layer was deleted meanwhile: use the active one
        try:
            pixels = pixels_for_target(staged, target, document, layer_id)
            document.apply_edit(pixels, staged.metadata, target=target, layer_id=layer_id)
        except Exception as exc:  # noqa: BLE001 - a refused apply must not lose the result
            self.panel.show_status(f"Could not apply: {exc}", error=True)
            return False
        self.strip.remove(result_id)
        self.overlay.set_image(None)
        self.panel.show_status(f"Applied “{staged.prompt}” (undo with Ctrl+Z).")
        return True

    def reuse_settings(self, result_id: int) -> None:
        """Fill the Edit panel with a staged result's prompt, seed and parameters."""
        staged = self.strip.result(result_id)
        if staged is None:
            return
        meta = staged.metadata
        self.panel.set_params({k: meta[k] for k in PANEL_FIELDS if k in meta})
        preset = meta.get("preset")
        if preset:
            self.panel.select_preset_label(str(preset))
        self.panel.show_status(f"Settings of “{staged.prompt}” (seed {meta.get('seed')}) "
                               "are back in the panel.")

    def _selection_changed(self, result_id: int) -> None:
        if result_id == RUNNING_ID:
            self.overlay.set_image(self.strip.running_preview(), "preview")
            return
        staged = self.strip.result(result_id)
        if staged is None:
            self.overlay.set_image(None)
        else:
            self.overlay.set_image(staged.image, "result · hold \\ for the original",
                                   self._clips.get(result_id))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        """Hold backslash anywhere in the window (except in a text box) to see the original."""
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) \
                and event.key() == COMPARE_KEY and not event.isAutoRepeat() \
                and self.overlay.image() is not None and self._is_in_window(watched):
            focus = QApplication.focusWidget()
            if not isinstance(focus, (QLineEdit, QPlainTextEdit, QTextEdit, QAbstractSpinBox)):
                self.strip.set_comparing(kind == QEvent.Type.KeyPress)
                self.overlay.set_comparing(kind == QEvent.Type.KeyPress)
                return True
        return False

    def _is_in_window(self, watched: QObject) -> bool:
        return isinstance(watched, QWidget) and watched.window() is self.window

    # cache indicator --------------------------------------------------------------------
    def _document_edited(self, *_args: Any) -> None:
        if not self._contexts:
            # The artist painted: a staged result shown over the canvas would hide it.
            if self.overlay.image() is not None and self.strip.current_id() != RUNNING_ID:
                self.overlay.set_image(None)
        self._schedule_cache_query()

    def _schedule_cache_query(self, *_args: Any) -> None:
        self._cache_timer.start()

    def _source_key(self) -> str:
        document = self.window.document
        params = self.panel.params()
        stack = document.undo_stack if document is not None else None
        parts = (id(document), self.panel.source_mode(),
                 stack.index() if stack is not None else 0,
                 stack.count() if stack is not None else 0,
                 tuple(params[f] for f in INVERSION_FIELDS))
        return repr(parts)

    def refresh_cache_state(self) -> None:
        """Ask the worker whether the current source's inversion is cached."""
        if self.service.model_info is None:
            self.panel.set_cache_state(None)
            return
        if self._contexts:
            self._cache_timer.start()  # ask when the worker is free
            return
        key = self._source_key()
        document = self.window.document
        if key in self._known_cached:
            self.panel.set_cache_state(True)
            return
        if document is None or document.width * document.height > CACHE_QUERY_MAX_PIXELS:
            self.panel.set_cache_state(None)
            return
        try:
            params = dict(self.panel.params())
            params["prompt"] = params["prompt"] or "-"
            request = EditRequest(image=document.composite_for_edit(self.panel.source_mode()),
                                  mask=document.mask_array(), **params)
        except Exception:  # noqa: BLE001 - no source (e.g. no active layer): nothing cached
            self.panel.set_cache_state(None)
            return
        self._cache_key = key
        self.service.query_cache(key, request)

    def _on_cache_state(self, key: str, cached: bool) -> None:
        if key and cached:
            self._known_cached.add(key)
        if key and key == self._source_key():
            self._cache_key = key
            self.panel.set_cache_state(cached)

    # shutdown ---------------------------------------------------------------------------
    def shutdown(self) -> bool:
        """Cancel everything and stop the worker thread (window close, app quit)."""
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self._cache_timer.stop()
        return self.service.shutdown()


def mask_region(mask: np.ndarray) -> QRegion:
    """The document pixels a mask lets change, as a region to clip the canvas preview to."""
    inside = np.ascontiguousarray((np.asarray(mask) > 0).astype(np.uint8) * 255)
    h, w = inside.shape
    grey = QImage(inside.data, w, h, w, QImage.Format.Format_Grayscale8)
    mono = grey.createMaskFromColor(QColor(255, 255, 255).rgb(),
                                    Qt.MaskMode.MaskOutColor)
    return QRegion(QBitmap.fromImage(mono))


def pixels_for_target(staged: StagedResult, target: str, document: Any,
                      layer_id: int | None) -> np.ndarray:
    """The RGBA pixels that `apply_edit` receives, so that outside a mask nothing changes.

    New layer: the result, transparent outside the mask (alpha = mask), so the picture under
    it shows through exactly. Replace: the result blended into the layer's own pixels by the
    mask, so the layer keeps its pixels exactly where the mask is 0.
    """
    rgb = np.asarray(staged.pixels)[..., :3].astype(np.float32)
    h, w = rgb.shape[:2]
    mask = staged.mask
    if mask is None:
        alpha = np.full((h, w), 255, np.uint8)
        return np.dstack([rgb.astype(np.uint8), alpha])
    m = np.clip(np.asarray(mask, np.float32), 0.0, 1.0)
    if m.shape != (h, w):
        raise EditError("The mask no longer matches the result's size.")
    if target == "new-layer":
        alpha = np.rint(m * 255.0).astype(np.uint8)
        return np.dstack([rgb.astype(np.uint8), alpha])
    ref = layer_id if layer_id is not None else document.active_layer
    base = document.layer_array(ref).astype(np.float32)
    if base.shape[:2] != (h, w):
        raise EditError("The layer no longer matches the result's size.")
    m3 = m[..., None]
    out_rgb = base[..., :3] * (1.0 - m3) + rgb * m3
    out_a = base[..., 3] * (1.0 - m) + 255.0 * m
    out = np.dstack([out_rgb, out_a])
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
