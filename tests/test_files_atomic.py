"""`files.atomic`: every file rfedit writes survives a full disk, a lying write, Ctrl+C and a
killed save; its permissions are the user's; a killed save's leftovers are cleaned up."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from rfedit_desktop.errors import FileError
from rfedit_desktop.files import atomic
from rfedit_desktop.files.atomic import (
    STALE_AFTER_SECONDS,
    atomic_write,
    check_writable,
    remove_stale_temporaries,
)

fcntl = pytest.importorskip("fcntl")


def _umask() -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _age(p: Path, seconds: float) -> Path:
    t = time.time() - seconds
    os.utime(p, (t, t))
    return p


# -- the helper itself -------------------------------------------------------------------------
def test_writes_replaces_and_leaves_nothing_beside(tmp_path):
    p = tmp_path / "a.bin"
    assert atomic_write(p, b"first") == p
    atomic_write(p, memoryview(b"second"))
    assert p.read_bytes() == b"second" and _entries(tmp_path) == ["a.bin"]


def test_permissions_new_files_like_any_file_and_existing_kept(tmp_path):
    new = tmp_path / "new.png"
    atomic_write(new, b"x")
    assert new.stat().st_mode & 0o777 == 0o666 & ~_umask()  # not mkstemp's 0600
    old = tmp_path / "shared.ora"
    old.write_bytes(b"old")
    os.chmod(old, 0o640)
    atomic_write(old, b"new")
    assert old.stat().st_mode & 0o777 == 0o640 and old.read_bytes() == b"new"
    atomic_write(old, b"secret", mode=0o600)  # a secret tightens an existing file too
    assert old.stat().st_mode & 0o777 == 0o600 and old.read_bytes() == b"secret"


def test_full_disk_keeps_the_old_file(small_disk):
    p = small_disk.path / "prev.jpg"
    p.write_bytes(b"old picture" * 100)
    small_disk.fill()
    with pytest.raises(FileError, match=r'"prev\.jpg".*disk is full.*unchanged'):
        atomic_write(p, os.urandom(32 * 1024))
    assert p.read_bytes() == b"old picture" * 100
    assert _entries(small_disk.path) == ["filler", "prev.jpg"]  # the temporary is gone


def test_a_write_that_lies_about_its_length_is_caught(tmp_path, monkeypatch):
    p = tmp_path / "out.png"
    p.write_bytes(b"old")
    real = os.write

    def short(fd, data):  # writes half, claims all (what a broken driver or FUSE may do)
        real(fd, bytes(data[: len(data) // 2]))
        return len(data)

    monkeypatch.setattr(os, "write", short)
    with pytest.raises(FileError, match="only 500 of 1000 bytes"):
        atomic_write(p, b"n" * 1000)
    monkeypatch.undo()
    assert p.read_bytes() == b"old" and _entries(tmp_path) == ["out.png"]


def test_a_write_of_nothing_is_a_full_disk(tmp_path, monkeypatch):
    p = tmp_path / "out.png"
    monkeypatch.setattr(os, "write", lambda fd, data: 0)
    with pytest.raises(FileError, match="disk is full"):
        atomic_write(p, b"n" * 10)
    monkeypatch.undo()
    assert _entries(tmp_path) == []


@pytest.mark.parametrize("exc", [KeyboardInterrupt, MemoryError])
def test_interrupt_or_memory_error_removes_the_temporary(tmp_path, monkeypatch, exc):
    p = tmp_path / "project.ora"
    p.write_bytes(b"old")

    def boom(fd):
        raise exc()

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(exc):
        atomic_write(p, b"new")
    monkeypatch.undo()
    assert p.read_bytes() == b"old" and _entries(tmp_path) == ["project.ora"]


def test_the_temporary_is_recognisably_ours_and_locked(tmp_path, monkeypatch):
    seen = []
    real = os.fsync

    def look(fd):
        for name in _entries(tmp_path):
            if name != "x.ora":
                seen.append(name)
                assert atomic._locked(tmp_path / name)  # a live save holds the lock
        real(fd)

    monkeypatch.setattr(os, "fsync", look)
    atomic_write(tmp_path / "x.ora", b"data")
    assert len(seen) == 1 and atomic._is_ours(seen[0], ".x.ora")
    assert seen[0].startswith(".x.ora.rfedit-") and seen[0].endswith(".tmp")


def test_a_symlink_stays_a_link(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "art.ora"
    target.write_bytes(b"old")
    link = tmp_path / "art.ora"
    link.symlink_to(target)
    atomic_write(link, b"new")
    assert link.is_symlink() and target.read_bytes() == b"new"


def test_folders_and_missing_folders(tmp_path):
    with pytest.raises(FileError, match="it is a folder"):
        atomic_write(tmp_path, b"x")
    with pytest.raises(FileError, match="does not exist"):
        atomic_write(tmp_path / "no" / "x.png", b"x")
    with pytest.raises(FileError, match="does not exist"):
        check_writable(tmp_path / "no" / "x.png")
    assert check_writable(tmp_path / "x.png") == tmp_path / "x.png"
    assert _entries(tmp_path) == []  # the probe left nothing


def test_read_only_folder(read_only_dir):
    with pytest.raises(FileError, match="read-only"):
        check_writable(read_only_dir / "out.png")
    with pytest.raises(FileError, match=r'"existing\.png".*read-only'):
        atomic_write(read_only_dir / "existing.png", b"new")
    assert (read_only_dir / "existing.png").read_bytes() == b"old"


def test_long_names_still_fit(tmp_path):
    p = tmp_path / ("n" * 250 + ".ora")
    atomic_write(p, b"x")
    assert p.read_bytes() == b"x"


# -- the leftovers of killed saves ---------------------------------------------------------------
def test_stale_temporaries_of_this_file_only_are_removed(tmp_path):
    def leftover(name: str, age: float = STALE_AFTER_SECONDS + 60) -> Path:
        p = tmp_path / name
        p.write_bytes(b"half a save")
        return _age(p, age)

    ours_stale = leftover(".art.ora.rfedit-0badf00d.tmp")
    legacy_stale = leftover(".art.ora.k2x_9qaz.tmp")  # older versions' mkstemp name
    ours_fresh = leftover(".art.ora.rfedit-1234abcd.tmp", age=5)
    kept = [leftover(n) for n in (".other.ora.rfedit-0badf00d.tmp", ".art.ora.notes.tmp",
                                  ".art.ora.rfedit-x.tmp", "art.ora.rfedit-0badf00d.tmp",
                                  ".art.ora.bak")]
    removed = remove_stale_temporaries(tmp_path / "art.ora")
    assert sorted(removed) == sorted([ours_stale, legacy_stale])
    assert ours_fresh.exists() and all(p.exists() for p in kept)


def test_a_concurrent_save_in_another_rfedit_is_not_broken(tmp_path):
    """An old temporary that a writer still holds the lock of is somebody's save in progress
    (a slow disk): left alone. Once the writer is gone, the lock goes with it."""
    busy = tmp_path / ".art.ora.rfedit-0000beef.tmp"
    busy.write_bytes(b"being written")
    fd = os.open(busy, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    _age(busy, STALE_AFTER_SECONDS + 60)
    try:
        atomic_write(tmp_path / "art.ora", b"mine")
        assert busy.exists()
    finally:
        os.close(fd)  # the other process died
    atomic_write(tmp_path / "art.ora", b"mine again")
    assert not busy.exists() and _entries(tmp_path) == ["art.ora"]
