"""Last line of defence: an unexpected exception in an event handler becomes a message box.

PySide prints exceptions raised in slots and carries on; the artist would never see them and
might keep working on a document in a strange state. This hook shows the first one (and only
one at a time) with a nudge to save, logs all of them, and never ends the program.
"""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType

log = logging.getLogger("rfedit")
_showing = False


def _hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    global _showing
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    log.error("unexpected error", exc_info=(kind, value, tb))
    traceback.print_exception(kind, value, tb)
    if _showing:
        return
    from PySide6.QtWidgets import QApplication, QMessageBox

    if QApplication.instance() is None:
        return
    _showing = True
    try:
        QMessageBox.critical(
            QApplication.activeWindow(), "Something went wrong",
            f"{kind.__name__}: {value}\n\nThe last action may not have finished. Your work is "
            "still open: save it under a new name to be safe.")
    finally:
        _showing = False


def install() -> None:
    sys.excepthook = _hook
