"""Test isolation: no screen, no network, and no writes to the user's real folders."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Tiny test models run faster on one thread than fighting over two; results do not depend on it.
os.environ.setdefault("OMP_NUM_THREADS", "1")
_ROOT = tempfile.mkdtemp(prefix="rfedit-tests-")
for _kind in ("CACHE", "DATA", "CONFIG"):
    os.environ[f"RFEDIT_{_kind}_DIR"] = os.path.join(_ROOT, _kind.lower())


# -- small and read-only disks for the tests of writes that must lose nothing ---------------------
import contextlib  # noqa: E402
import subprocess  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402


def _mount(*args: str) -> str | None:
    """Run mount; the reason it failed, or None."""
    try:
        proc = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    return None if proc.returncode == 0 else (proc.stderr.strip() or f"exit {proc.returncode}")


@contextlib.contextmanager
def _mounted(*args: str, target: Path):
    failed = _mount(*args, str(target))
    if failed:
        pytest.skip(f"cannot mount a test file system here (needs root): {failed}")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True, timeout=30)


class SmallDisk:
    """A 64 KiB tmpfs at `path`; `fill()` leaves not one byte free."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fill(self) -> None:
        with open(self.path / "filler", "wb", buffering=0) as f:
            with contextlib.suppress(OSError):
                while f.write(b"\0" * 4096):
                    pass


@pytest.fixture
def small_disk(tmp_path):
    """A full-disk test's own small file system (skipped where the tests cannot mount)."""
    target = tmp_path / "small-disk"
    target.mkdir()
    with _mounted("-t", "tmpfs", "-o", "size=64k", "tmpfs", target=target):
        yield SmallDisk(target)


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder that is a read-only bind mount (chmod means nothing to root)."""
    source, target = tmp_path / "ro-source", tmp_path / "read-only"
    source.mkdir()
    target.mkdir()
    (source / "existing.png").write_bytes(b"old")
    with _mounted("--bind", str(source), target=target):
        failed = _mount("-o", "remount,bind,ro", str(target))
        if failed:
            pytest.skip(f"cannot remount read-only here: {failed}")
        yield target

