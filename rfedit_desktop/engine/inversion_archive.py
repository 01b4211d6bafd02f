"""Where a project file keeps cached inversions: one extra file per cache key.

The bytes themselves are the engine's (`engine.inversion_bytes`); this module only names them,
so the GUI can tell which of a document's extra files are inversions without importing torch.
"""

from __future__ import annotations

import re

PREFIX = "inversion-"  # extra file names in a project are flat: [A-Za-z0-9._-]{1,100}
SUFFIX = ".safetensors"
_KEY = re.compile(r"^[0-9A-Za-z_-]{1,77}$")


def file_name(key: str) -> str:
    return f"{PREFIX}{key}{SUFFIX}"


def key_of(name: str) -> str | None:
    """The cache key a project file entry holds, or None if the name is not ours or unsafe."""
    if not (name.startswith(PREFIX) and name.endswith(SUFFIX)):
        return None
    key = name[len(PREFIX):-len(SUFFIX)]
    return key if _KEY.match(key) else None
