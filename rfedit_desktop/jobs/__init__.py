"""The GUI's client of the engine: job state, events as Qt signals, a local engine process.

The GUI talks to `EditService` (GUI thread); the service talks the engine protocol to a child
process it starts (`engine_link.LocalEngine`) or to a remote `rfedit-server`. Nothing here
imports torch: the GUI process never does.
"""

from rfedit_desktop.jobs.job import JobKind
from rfedit_desktop.jobs.service import EditService
from rfedit_desktop.protocol.model_choice import DEVICES, MEMORY_MODES, ModelChoice

__all__ = [
    "DEVICES",
    "MEMORY_MODES",
    "EditService",
    "JobKind",
    "ModelChoice",
]
