"""The Edit panel's "inversion cached" light: the engine's own answer for the actual pixels.

A collaborator of `AiEditing`: it asks the engine (`EditService.query_cache`, which sends the
pixels) whether an edit of the current source would reuse a cached inversion, quietly and not
too often. Every document or panel change starts a new question and makes older answers stale,
so undo + a new stroke never shows "cached" for pixels the engine has not seen.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from rfedit_desktop.engine.request import EditRequest
from rfedit_desktop.jobs import EditService

CACHE_QUERY_DELAY_MS = 350
# Above this many document pixels the indicator does not make the composite on the GUI thread
# to ask the engine; it shows "unknown" until an edit of that source answers.
CACHE_QUERY_MAX_PIXELS = 4_000_000


class CacheIndicator(QObject):
    """`state_changed(True | False | None)`: cached, not cached, unknown (no model, no source)."""

    state_changed = Signal(object)

    def __init__(self, service: EditService, document: Callable[[], Any],
                 request_fields: Callable[[], tuple[str, dict[str, Any]]],
                 busy: Callable[[], bool], parent: QObject | None = None) -> None:
        """`request_fields()` gives (source mode, EditRequest fields) from the Edit panel."""
        super().__init__(parent)
        self._service = service
        self._document = document
        self._request_fields = request_fields
        self._busy = busy
        self._generation = itertools.count(1)
        self._key = "0"
        self._stopped = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(CACHE_QUERY_DELAY_MS)
        self._timer.timeout.connect(self.refresh)
        service.cache_state.connect(self._on_answer)

    @property
    def key(self) -> str:
        """Names the current source and settings; an answer for another key is stale."""
        return self._key

    def schedule(self, *_args: Any) -> None:
        """The source or the inversion settings changed: older answers no longer apply."""
        self._key = str(next(self._generation))
        if not self._stopped:
            self._timer.start()

    def stop(self) -> None:
        """The window is closing: no more questions to the engine."""
        self._stopped = True
        self._timer.stop()

    def refresh(self) -> None:
        """Ask the engine whether the current source's inversion is cached."""
        if self._stopped:
            return
        if self._service.model_info is None:
            self.state_changed.emit(None)
            return
        if self._busy():
            self._timer.start()  # ask when the engine is free
            return
        document = self._document()
        if document is None or document.width * document.height > CACHE_QUERY_MAX_PIXELS:
            self.state_changed.emit(None)
            return
        try:
            source, fields = self._request_fields()
            fields = dict(fields, prompt=fields.get("prompt") or "-")
            request = EditRequest(image=document.picture_for_edit(source),
                                  mask=document.selection.edit_coverage(), **fields)
        except Exception:  # noqa: BLE001 - no source (e.g. no active layer): nothing cached
            self.state_changed.emit(None)
            return
        self._service.query_cache(self._key, request)

    def _on_answer(self, key: str, cached: bool) -> None:
        if key == self._key:
            self.state_changed.emit(bool(cached))
