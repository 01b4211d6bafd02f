"""Which cached inversions a project file keeps, so a reopened project re-edits at once.

They are large, so only the newest few stay, and the artist can turn the whole thing off.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from rfedit_desktop.engine.inversion_archive import key_of

SAVE_INVERSIONS_KEY = "ai/save_inversions"
# A project keeps at most this many inversions (a 1-megapixel one is a few MB, a masked one
# with its trajectory tens of MB): the newest sources are the ones worth re-editing.
MAX_INVERSIONS_PER_DOCUMENT = 3


def stored_inversions(files: MutableMapping[str, bytes]) -> dict[str, bytes]:
    """The inversions among a document's extra files, oldest first."""
    return {name: data for name, data in files.items()
            if key_of(name) is not None}


def keep_inversion(files: MutableMapping[str, bytes], payload: Any,
                   limit: int = MAX_INVERSIONS_PER_DOCUMENT) -> None:
    """Add an exported inversion `(name, data)` as the newest; drop the oldest over `limit`."""
    name, data = payload
    files.pop(name, None)
    files[name] = bytes(data)  # newest last
    stored = [n for n in files if key_of(n)]
    for old in stored[:-limit]:
        del files[old]


def drop_inversions(files: MutableMapping[str, bytes]) -> None:
    """Remove every stored inversion (the artist turned keeping them off)."""
    for name in [n for n in files if key_of(n)]:
        del files[name]
