"""The document's own error type, so the window can tell file problems from engine problems."""

from __future__ import annotations

from ..errors import EditError


class DocumentError(EditError):
    """A file could not be opened or saved, or an operation on the layers is not possible.

    The message is written for the artist (what went wrong and with which file); the document
    that was open stays exactly as it was.
    """
