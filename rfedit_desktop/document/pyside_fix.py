"""Work around PySide6 6.12's reference-count bug on CPython < 3.12 — for None too.

The 6.12 wheels return the singletons without taking a reference, as is correct only where
they are immortal (CPython 3.12+): every call of a *void* Qt method from Python (QPainter's
setOpacity, drawImage, fillRect, QImage.fill, QUndoStack.undo/redo, ...) drops a reference to
None, and every SignalInstance.emit()/disconnect() one to True/False. None starts near 4000
references, so a few seconds of painting abort the interpreter ("none_dealloc: deallocating
None"). `jobs.qt_workaround` pins True/False for signals; the compositor and brushes need None
pinned as well. We do what 3.12 does: give each singleton a reference count no program can use
up. Idempotent, CPython < 3.12 only; `document` applies it on import.
"""

from __future__ import annotations

import ctypes
import platform
import sys

_PINNED = False


def apply() -> bool:
    """Pin None, True, False, Ellipsis and NotImplemented; True if this call changed them."""
    global _PINNED
    if _PINNED or sys.version_info >= (3, 12) or platform.python_implementation() != "CPython":
        return False
    for singleton in (None, True, False, Ellipsis, NotImplemented):
        ctypes.c_ssize_t.from_address(id(singleton)).value += 1 << 40
    _PINNED = True
    return True


apply()
