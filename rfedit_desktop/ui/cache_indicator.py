"""The Edit panel's "inversion cached" light: ask the worker, quietly and not too often.

A mixin of `AiEditing` (ui/ai_editing.py), apart because the question is asked from many
places (document edits, panel changes, model loads) and has its own timing rules.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer

from rfedit_desktop.engine.request import EditRequest
from rfedit_desktop.ui.edit_panel import INVERSION_FIELDS

CACHE_QUERY_DELAY_MS = 350
# Above this many document pixels the cache indicator does not copy the picture on the GUI
# thread to ask the worker; it relies on the sources it has seen cached (re-edits) instead.
CACHE_QUERY_MAX_PIXELS = 4_000_000


class CacheIndicator:
    """Keeps the panel's cache state in step with the current source and inversion settings."""

    def _init_cache_indicator(self) -> None:
        self._cache_key = ""
        self._known_cached: set[str] = set()
        self._cache_timer = QTimer(self)
        self._cache_timer.setSingleShot(True)
        self._cache_timer.setInterval(CACHE_QUERY_DELAY_MS)
        self._cache_timer.timeout.connect(self.refresh_cache_state)

    def _schedule_cache_query(self, *_args: Any) -> None:
        self._cache_timer.start()

    def _source_key(self) -> str:
        document = self.window.document
        params = self.panel.params()
        stack = document.undo_stack if document is not None else None
        parts = (id(document), self.panel.source_mode(),
                 stack.index() if stack is not None else 0,
                 stack.count() if stack is not None else 0,
                 tuple(params.get(f) for f in INVERSION_FIELDS), self.area.region())
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
                                  mask=document.mask_array(), region=self.area.region(),
                                  **params)
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
