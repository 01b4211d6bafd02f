"""AI editing in the window: the controller between the document, the panel and the engine.

It builds `EditRequest`s from the document (pixels, mask) and the Edit panel, sends them to the
engine through `EditService`, shows progress and live previews (on the canvas and in the staging strip), stages the
results, and applies a chosen one to the document as one undo step named after its prompt.
Only this module knows all three; each of them works without it. Its collaborators live beside
it: model_menu (actions, model status), cache_indicator (the engine's cache answer),
preview_overlay, edit_apply, compare_key, project_inversions.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QRect
from PySide6.QtGui import QImage, QRegion
from PySide6.QtWidgets import QApplication

from rfedit_desktop.engine.request import EditRequest
from rfedit_desktop.errors import EditError
from rfedit_desktop.jobs import EditService, ModelChoice
from rfedit_desktop.jobs.engine_link import parse_remote, shared_local_engine
from rfedit_desktop.jobs.preview_image import to_qimage
from rfedit_desktop.ui.cache_indicator import CacheIndicator
from rfedit_desktop.ui.compare_key import CompareKeyFilter
from rfedit_desktop.ui.edit_apply import mask_region, pixels_for_target
from rfedit_desktop.ui.edit_area import EditArea
from rfedit_desktop.ui.edit_panel import EditPanel
from rfedit_desktop.ui.engine_settings import load_remote
from rfedit_desktop.ui.model_dialog import load_choice
from rfedit_desktop.ui.model_menu import ModelMenu
from rfedit_desktop.ui.preview_overlay import PreviewOverlay
from rfedit_desktop.ui.project_inversions import keep_inversion, stored_inversions
from rfedit_desktop.ui.staging import RUNNING_ID, StagedResult, StagingStrip

log = logging.getLogger(__name__)

PANEL_FIELDS = ("prompt", "source_prompt", "method", "steps", "gamma", "eta", "start", "stop",
                "decay_power", "strength", "guidance", "seed", "source_guidance", "n_max",
                "n_min", "n_avg", "keep_detail")


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
    started: float = 0.0  # when the engine began it (perf_counter)
    compared: bool = False  # one of a "Compare methods" run: labelled by method, NFE, seconds
    box: QRect | None = None  # the region the model sees, where previews are drawn
    paste_mask: Any = None  # where the result may go: the mask, else the edit area's box


class AiEditing(QObject):
    """Installs the Edit dock, the staging strip, a Model menu and the canvas preview."""

    def __init__(self, window: Any, service: EditService | None = None,
                 choice: ModelChoice | None = None) -> None:
        super().__init__(window)
        self.window = window
        settings = getattr(window, "settings", None)
        choice = choice or (load_choice(settings) if settings is not None else ModelChoice())
        self.service = service or EditService(engine=_engine_for(settings, choice),
                                              choice=choice, parent=self)
        self._contexts: dict[int, _JobContext] = {}
        self._archive_jobs: dict[int, Any] = {}  # export/import job id -> document (or None)
        self._clips: dict[int, QRegion | None] = {}  # staged result id -> its mask region
        self._document: Any = None
        self._last_preview_step = ""
        self._last_phase = ""

        self.panel = EditPanel()
        self.strip = StagingStrip()
        self.edit_dock = window.add_edit_dock(self.panel, "Edit")
        self.staging_dock = window.add_bottom_dock(self.strip, "Staging", "StagingDock")
        self.overlay = PreviewOverlay(window.canvas)
        self.area = EditArea(window.canvas, self.panel, settings)
        self.edit_dock.visibilityChanged.connect(self.area.set_active)
        self.models = ModelMenu(window, self.panel, self.service, choice, self)
        self.model_label, self.engine_label = self.models.model_label, self.models.engine_label
        self.run_action, self.cancel_action = self.models.run_action, self.models.cancel_action
        status_area = getattr(window, "status_area", None)
        if status_area is not None and status_area.layout() is not None:
            status_area.layout().addWidget(self.model_label)
            status_area.layout().addWidget(self.engine_label)
        self.cache = CacheIndicator(self.service, lambda: self.window.document,
                                    self._cache_request_fields, self.is_busy, self)
        self.cache.state_changed.connect(self.panel.set_cache_state)
        self.compare_filter = CompareKeyFilter(window, self.overlay, self.strip, self)

        p, s, svc = self.panel, self.strip, self.service
        p.run_requested.connect(self.run)
        p.compare_requested.connect(self.compare_methods)
        p.cancel_requested.connect(self.cancel)
        p.model_change_requested.connect(self.models.choose_model)
        p.inversion_params_changed.connect(self.cache.schedule)
        p.source_combo.currentIndexChanged.connect(self.cache.schedule)
        self.models.cancel_requested.connect(self.cancel)
        self.models.cancel_all_requested.connect(self.cancel_all)
        s.apply_requested.connect(self.apply)
        s.selection_changed.connect(self._selection_changed)
        s.compare_changed.connect(self.overlay.set_comparing)
        s.reuse_requested.connect(self.reuse_settings)
        svc.model_ready.connect(self._on_model_ready)
        svc.model_ready.connect(self.area.set_model)
        svc.model_failed.connect(self._on_model_failed)
        self.area.changed.connect(self.cache.schedule)
        svc.job_started.connect(self._on_started)
        svc.progress.connect(self._on_progress)
        svc.preview.connect(self._on_preview)
        svc.result.connect(self._on_result)
        svc.failed.connect(self._on_failed)
        svc.cancelled.connect(self._on_cancelled)
        svc.engine_lost.connect(self._on_engine_lost)

        if hasattr(window, "document_changed"):
            window.document_changed.connect(self._watch_document)
        if getattr(window, "document", None) is not None:
            self._watch_document(window.document)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.compare_filter)
            app.aboutToQuit.connect(self.shutdown)

    # the model (ModelMenu holds it; these are the window's and the app's handles) ---------
    def load_model(self, choice: ModelChoice | None = None) -> int:
        return self.models.load_model(choice)

    def saves_inversions(self) -> bool:
        return self.models.saves_inversions()

    def set_save_inversions(self, on: bool) -> None:
        self.models.set_save_inversions(on)

    def _on_model_ready(self, info: dict) -> None:
        if not self._contexts:
            self.panel.set_busy(False)  # clears the loading message from the progress bar
        self.cache.schedule()

    def _on_model_failed(self, _message: str) -> None:
        if not self._contexts:
            self.panel.set_busy(False)  # clears the "Loading …" line from the progress bar

    def _cache_request_fields(self) -> tuple[str, dict[str, Any]]:
        return self.panel.source_mode(), dict(self.panel.params(), region=self.area.region())

    # documents ------------------------------------------------------------------------
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
        self.area.set_document(document)
        stored = stored_inversions(getattr(document, "extra_files", {}))
        if stored:
            self._archive_jobs[self.service.import_inversions(stored)] = None
        self.cache.schedule()

    def _store_inversion(self, document: Any, payload: Any) -> None:
        if document is None or not payload or not self.models.saves_inversions():
            return
        keep_inversion(document.extra_files, payload)

    # running ----------------------------------------------------------------------------
    def build_requests(
        self, params: dict[str, Any] | None = None, variants: int | None = None
    ) -> list[tuple[EditRequest, _JobContext]]:
        """One request per variant from the document and the panel (or `params`); EditError
        if impossible."""
        document = self.window.document
        if document is None:
            raise EditError("Open or create an image first.")
        params = self.panel.params() if params is None else params
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
            original = document.picture_for_edit(source)  # the service makes it pixels
        except Exception as exc:  # noqa: BLE001 - a document error is the user's to fix
            raise EditError(str(exc)) from exc
        mask = document.selection.edit_coverage()  # the selection, else the painted mask
        self.area.refresh()  # the plan for exactly this mask and area
        box = self.area.box_rect()
        paste_mask = mask if mask is not None else self.area.box_mask()
        clip = mask_region(paste_mask) if paste_mask is not None else None
        count = self.panel.variants() if variants is None else variants
        out = []
        for i in range(count):
            fields = dict(params, seed=(params["seed"] + i) % (2**31))
            request = EditRequest(image=original, mask=mask, region=self.area.region(),
                                  **fields)
            out.append((request, _JobContext(document, request, original, target, layer_id,
                                             i, count, time.perf_counter(), clip, box=box,
                                             paste_mask=paste_mask)))
        return out

    def run(self) -> list[int]:
        """Queue the edit (and its variants) behind whatever runs; returns the job ids."""
        try:
            planned = self.build_requests()
        except EditError as exc:
            self.panel.show_status(str(exc), error=True)
            return []
        key = self.cache.key  # the engine says after the edit whether these pixels are cached
        ids = []
        for request, context in planned:
            job_id = self.service.submit(request, key=key if context.variant == 0 else "")
            self._contexts[job_id] = context
            ids.append(job_id)
        queued = " (queued)" if self.service.running_job is not None else ""
        self.panel.show_status(f"Editing “{planned[0][0].prompt}”{queued}…")
        self._set_busy(True)
        return ids

    def compare_methods(self) -> list[int]:
        """Queue the current edit once per method ticked in the panel, on the same source (the
        engine's cache serves every inversion it already holds); returns the job ids."""
        methods = self.panel.compare_methods()
        try:
            planned = [self.build_requests(self.panel.params_for(m), variants=1)[0]
                       for m in methods]
        except EditError as exc:
            self.panel.show_status(str(exc), error=True)
            return []
        ids = []
        for request, context in planned:
            context.compared = True
            job_id = self.service.submit(request, key="")
            self._contexts[job_id] = context
            ids.append(job_id)
        names = ", ".join(methods)
        self.panel.show_status(f"Comparing {names} on “{planned[0][0].prompt}”…")
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
        if context.compared:
            label = context.request.method
        elif context.variants > 1:
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
        self.model_label.setText(f"model: {self.models.model_text()} · {phase} {step}/{total}"
                                 f" · {elapsed:.1f} s")

    def _on_preview(self, job_id: int, image: QImage) -> None:
        if job_id not in self._contexts:
            return
        caption = f"preview · {self._last_preview_step}"
        if self._last_phase == "invert":
            # The picture dissolving into noise is progress, not a result: the canvas keeps
            # the original and only the strip's small running slot shows it.
            self.overlay.set_image(None)
        else:
            context = self._contexts[job_id]
            self.overlay.set_image(image, caption, context.clip, context.box)
        self.strip.show_preview(image, self._last_preview_step or None)

    def _on_result(self, job_id: int, result: Any, picture: QImage | None = None) -> None:
        if job_id in self._archive_jobs:
            document = self._archive_jobs.pop(job_id)
            if isinstance(result, int) and result:
                self.cache.schedule()  # imported: the indicator may turn green
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
            pixels=pixels, image=picture if picture is not None else to_qimage(pixels),
            original=context.original,
            prompt=context.request.prompt, metadata=metadata, target=context.target,
            layer_id=context.layer_id, mask=context.paste_mask,
        )
        self._clips[staged.id] = context.clip
        self.strip.add_result(staged)
        if self.models.saves_inversions() and context.variant == 0:
            self._archive_jobs[self.service.export_inversion(context.request)] = context.document
        seconds = sum(float(v) for v in (result.timings or {}).values())
        hit = "inversion from cache" if result.cache_hit else "inverted"
        self.panel.show_status(f"Done: {result.nfe} model evaluations, {hit}, {seconds:.1f} s. "
                               "Apply or discard it in the staging strip.")
        self._after_job()

    def _on_failed(self, job_id: int, message: str) -> None:
        if job_id in self._archive_jobs:
            document = self._archive_jobs.pop(job_id)
            if document is None:  # an import: the good entries went in
                self.cache.schedule()
                self.panel.show_status(f"Stored inversions: {message}", error=True)
            else:  # the edit itself succeeded; the project just will not carry its inversion
                self.panel.show_status(
                    f"Could not keep the inversion in the project: {message}", error=True)
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

    def _on_engine_lost(self, message: str) -> None:
        """The failed job already said so in the panel; the status bar says it too."""
        status_bar = getattr(self.window, "statusBar", None)
        if status_bar is not None:
            status_bar().showMessage(message, 15000)

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
                self.model_label.setText(f"model: {self.models.model_text()} · ready")

    def _metadata(self, context: _JobContext, result: Any) -> dict[str, Any]:
        meta = dict(context.request.params())
        meta.update({k: v for k, v in (result.metadata or {}).items() if k not in ("image",)})
        meta.update(
            nfe=int(result.nfe),
            cache_hit=bool(result.cache_hit),
            timings={k: round(float(v), 4) for k, v in (result.timings or {}).items()},
            variant=context.variant,
            compared=context.compared,
            source=self.panel.source_mode(),
            preset=self.panel.preset(),
        )
        model = self.service.model_info or {}
        meta.setdefault("model", model.get("name") or self.models.choice.model)
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
            running = self._contexts.get(self.service.running_job)
            self.overlay.set_image(self.strip.running_preview(), "preview",
                                   running.clip if running else None,
                                   running.box if running else None)
            return
        staged = self.strip.result(result_id)
        if staged is None:
            self.overlay.set_image(None)
        else:
            self.overlay.set_image(staged.image, "result · hold \\ for the original",
                                   self._clips.get(result_id))
    # document edits --------------------------------------------------------------------
    def _document_edited(self, *_args: Any) -> None:
        if not self._contexts:
            # The artist painted: a staged result shown over the canvas would hide it.
            if self.overlay.image() is not None and self.strip.current_id() != RUNNING_ID:
                self.overlay.set_image(None)
        self.area.schedule()
        self.cache.schedule()

    # shutdown ---------------------------------------------------------------------------
    def shutdown(self) -> bool:
        """Cancel this window's edits (window close, app quit)."""
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.compare_filter)
        self.cache.stop()
        return self.service.shutdown()


def _engine_for(settings: Any, choice: ModelChoice) -> Any:
    """The remembered remote engine, else this app's local engine process."""
    remote = load_remote(settings) if settings is not None else None
    if remote is not None:
        try:
            return parse_remote(*remote)
        except EditError:
            pass
    return shared_local_engine(choice)
