"""Exceptions shared by every layer; torch-free and Qt-free so any layer may import them."""


class EditError(Exception):
    """An error the user can act on (bad parameter, bad image, missing model); never a bug.

    The CLI prints its message and exits with code 2; the GUI shows it in the window.
    """


class Cancelled(Exception):
    """The user cancelled the job; nothing was produced."""
