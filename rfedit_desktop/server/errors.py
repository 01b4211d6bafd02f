"""Turn any exception from a job into one sentence the artist can act on.

Errors never kill the app: the engine thread catches everything, the document stays untouched, and the
next job runs. Out-of-memory gets its own advice because it is the most common failure on a GPU.
"""

from __future__ import annotations

from rfedit_desktop.errors import EditError

OOM_ADVICE = (
    "Out of memory on the {device}. Try a smaller image, fewer variants, or a memory mode "
    "such as model offload (Model ▸ Choose model…)."
)


def is_out_of_memory(exc: BaseException) -> bool:
    """torch.OutOfMemoryError (CUDA), or the RuntimeError MPS and older CUDA builds raise.

    Checked by name so this module never imports torch.
    """
    if type(exc).__name__ in ("OutOfMemoryError", "CudaOutOfMemoryError"):
        return True
    return isinstance(exc, (RuntimeError, MemoryError)) and (
        "out of memory" in str(exc).lower() or isinstance(exc, MemoryError)
    )


def friendly_message(exc: BaseException, device: str = "device") -> str:
    if isinstance(exc, EditError):
        return str(exc) or "The edit could not run."
    if is_out_of_memory(exc):
        return OOM_ADVICE.format(device=device)
    if isinstance(exc, FileNotFoundError):
        return f"A file the model needs is missing: {exc}"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"The edit failed unexpectedly ({type(exc).__name__}{': ' + text if text else ''})."
