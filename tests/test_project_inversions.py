"""Which cached inversions a project keeps: the newest few, and none once turned off."""

from __future__ import annotations

from rfedit_desktop.engine.inversion_archive import file_name
from rfedit_desktop.ui.project_inversions import (
    MAX_INVERSIONS_PER_DOCUMENT,
    drop_inversions,
    keep_inversion,
    stored_inversions,
)


def test_keeps_only_the_newest_inversions_and_other_files() -> None:
    files = {"notes.txt": b"artist's notes"}
    names = [file_name(f"key{i}") for i in range(MAX_INVERSIONS_PER_DOCUMENT + 2)]
    for i, name in enumerate(names):
        keep_inversion(files, (name, bytearray([i])))
    assert list(stored_inversions(files)) == names[-MAX_INVERSIONS_PER_DOCUMENT:]
    assert files[names[-1]] == bytes([len(names) - 1])
    assert files["notes.txt"] == b"artist's notes"


def test_keeping_an_existing_inversion_again_makes_it_the_newest() -> None:
    files: dict[str, bytes] = {}
    a, b, c, d = (file_name(k) for k in "abcd")
    for name in (a, b, c):
        keep_inversion(files, (name, b"x"), limit=3)
    keep_inversion(files, (a, b"new"), limit=3)  # a re-edit of the oldest source
    keep_inversion(files, (d, b"y"), limit=3)
    assert list(stored_inversions(files)) == [c, a, d]
    assert files[a] == b"new"


def test_drop_removes_inversions_only_and_ignores_foreign_names() -> None:
    files = {file_name("k1"): b"1", "inversion-../evil.safetensors": b"2", "a.txt": b"3"}
    assert list(stored_inversions(files)) == [file_name("k1")]
    drop_inversions(files)
    assert files == {"inversion-../evil.safetensors": b"2", "a.txt": b"3"}
