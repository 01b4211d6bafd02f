"""One unit of work as the GUI sees it, and the states it passes through.

queued → running → finished | failed | cancelled. The state is the GUI thread's: job threads
only report events, and `EditService` changes the state when the event arrives.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


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
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(eq=False)
class Job:
    id: int
    kind: JobKind
    request: Any = None
    key: str = ""
    payload: Any = None
    state: JobState = JobState.QUEUED
    remote_id: str | None = None  # the engine's id, once submitted
    model_failure_shown: bool = False  # the engine already said why the model did not load
    held: list[dict[str, Any]] = field(default_factory=list)  # events waiting for earlier jobs
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def over(self) -> bool:
        return self.state in (JobState.FINISHED, JobState.FAILED, JobState.CANCELLED)
