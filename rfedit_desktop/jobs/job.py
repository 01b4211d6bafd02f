"""One unit of work for the worker, and the states it passes through.

queued → running → finished | failed | cancelled, or queued → dropped (cancelled before it ran).
The state changes under a lock because the GUI thread drops jobs while the worker claims them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from rfedit_desktop.jobs.model_choice import ModelChoice


class JobKind(str, Enum):
    LOAD = "load"
    EDIT = "edit"
    GENERATE = "generate"
    CACHE_QUERY = "cache-query"
    EXPORT_INVERSION = "export-inversion"  # cached inversion -> bytes for a project file
    IMPORT_INVERSIONS = "import-inversions"  # a project's stored inversions -> the cache


class JobState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    DROPPED = "dropped"


@dataclass(eq=False)
class Job:
    id: int
    kind: JobKind
    choice: ModelChoice
    request: Any = None
    key: str = ""
    payload: Any = None
    cancel: threading.Event = field(default_factory=threading.Event)
    state: JobState = JobState.QUEUED
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def claim(self) -> bool:
        """Worker side: start the job unless the GUI dropped it first."""
        with self._lock:
            if self.state is not JobState.QUEUED:
                return False
            self.state = JobState.RUNNING
            return True

    def drop(self) -> bool:
        """GUI side: cancel a job that has not started; False if the worker already has it."""
        with self._lock:
            self.cancel.set()
            if self.state is not JobState.QUEUED:
                return False
            self.state = JobState.DROPPED
            return True

    def finish(self) -> None:
        with self._lock:
            self.state = JobState.DONE
