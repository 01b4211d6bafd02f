"""Widgets of the rfedit window. Nothing here imports torch, diffusers or transformers at import
time, so the window can appear before the model is touched."""

# PySide6 6.12 leaks a reference to True on every signal emit from Python (see the module); the
# canvas emits thousands per minute of painting, so pin the singletons before any widget exists.
from rfedit_desktop.jobs import qt_workaround  # noqa: F401
