"""Exceptions shared by every layer; torch-free and Qt-free so any layer may import them."""


class EditError(Exception):
    """An error the user can act on (bad parameter, bad image, missing model); never a bug.

    The CLI prints its message and exits with code 2; the GUI shows it in the window.
    """


class FileError(EditError):
    """A file could not be read or written (missing, damaged, not an image, disk full,
    read-only); the message names the file. Raised by the package-level `files` and `imaging`
    modules, which every layer shares."""


class Cancelled(Exception):
    """The user cancelled the job; nothing was produced."""
