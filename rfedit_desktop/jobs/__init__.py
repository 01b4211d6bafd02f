"""The only layer that crosses threads: one long-lived worker owns the engine for the session.

The GUI talks to `EditService` (GUI thread); the service drives `EngineWorker` (worker thread)
with queued signals. torch and diffusers are imported on the worker thread only, the first time
a model is loaded, so the window appears before either is touched.
"""

from rfedit_desktop.jobs.errors import friendly_message
from rfedit_desktop.jobs.job import JobKind
from rfedit_desktop.jobs.model_choice import DEVICES, MEMORY_MODES, ModelChoice
from rfedit_desktop.jobs.service import EditService

__all__ = [
    "DEVICES",
    "MEMORY_MODES",
    "EditService",
    "JobKind",
    "ModelChoice",
    "friendly_message",
]
