"""The inversion cache: memory LRU, checksummed disk store, corrupt entries, keys, threads."""

from __future__ import annotations

import logging
import os
import threading
import time

import numpy as np
import pytest
import torch

from rfedit_desktop.engine.cache import CachedInversion, InversionCache
from rfedit_desktop.engine.images import image_digest
from rfedit_desktop.flow import flux_sigmas, invert

FLOATS = 1000  # each tensor 4000 bytes; an entry without trajectory 12 000 bytes


def entry(seed: int, trajectory: bool = False, dtype=torch.float32) -> CachedInversion:
    g = torch.Generator().manual_seed(seed)
    y0, y1, lat = (torch.randn(FLOATS, generator=g).to(dtype) for _ in range(3))
    traj = [y0, torch.randn(FLOATS, generator=g).to(dtype), lat] if trajectory else None
    return CachedInversion(y0, y1, lat, traj, {"steps": 28, "model": "tiny", "gamma": 0.5})


def same(a: CachedInversion, b: CachedInversion) -> bool:
    tensors_a, tensors_b = a.tensors(), b.tensors()
    return (
        tensors_a.keys() == tensors_b.keys()
        and all(torch.equal(tensors_a[k], tensors_b[k]) for k in tensors_a)
        and all(tensors_a[k].dtype == tensors_b[k].dtype for k in tensors_a)
        and a.meta == b.meta
    )


def key(n: int) -> str:
    return InversionCache.make_key(image=f"img{n}", steps=28)


def files(folder) -> list[str]:
    return sorted(p.name for p in folder.glob("*.safetensors"))


def test_hit_and_miss_in_memory(tmp_path):
    cache = InversionCache(folder=tmp_path, use_disk=False)
    assert cache.get(key(1)) is None and not cache.contains(key(1))
    e = entry(1)
    cache.put(key(1), e)
    assert cache.contains(key(1))
    assert same(cache.get(key(1)), e)
    s = cache.stats()
    assert (s["hits"], s["misses"], s["memory_entries"]) == (1, 1, 1)
    assert s["memory_bytes"] == 3 * FLOATS * 4
    assert files(tmp_path) == []  # use_disk=False writes nothing


def test_memory_lru_evicts_by_bytes(tmp_path):
    cache = InversionCache(memory_bytes=30_000, folder=tmp_path, use_disk=False)
    cache.put(key(1), entry(1))
    cache.put(key(2), entry(2))
    assert cache.get(key(1)) is not None  # 1 is now more recent than 2
    cache.put(key(3), entry(3))
    assert [cache.contains(key(n)) for n in (1, 2, 3)] == [True, False, True]
    assert cache.stats()["memory_bytes"] == 24_000
    cache.put(key(4), CachedInversion(*(torch.zeros(10_000) for _ in range(3))))
    assert not cache.contains(key(4))  # bigger than the whole budget: not held
    assert cache.stats()["memory_bytes"] == 24_000


def test_shared_storage_counted_once(tmp_path):
    e = entry(1, trajectory=True)
    assert e.nbytes() == 4 * FLOATS * 4  # y0, y1, latent, one distinct trajectory point


def test_disk_round_trip_is_bit_exact_with_trajectory(tmp_path):
    y0 = torch.randn(2, 4, 8, generator=torch.Generator().manual_seed(0))
    res = invert(lambda x, s: -x * s, y0, flux_sigmas(5, 256), keep_trajectory=True,
                 generator=torch.Generator().manual_seed(1))
    e = CachedInversion(res.y0, res.y1, res.latent, res.trajectory, {"n": 5, "p": "a cat"})
    InversionCache(folder=tmp_path).put(key(1), e)
    assert len(files(tmp_path)) == 1
    fresh = InversionCache(folder=tmp_path)  # a new session on the same folder
    assert fresh.contains(key(1))
    got = fresh.get(key(1))
    assert got is not None and same(got, e) and len(got.trajectory) == 6
    assert fresh.stats()["memory_entries"] == 1  # promoted to memory
    for dtype in (torch.bfloat16, torch.float16, torch.float64):
        InversionCache(folder=tmp_path).put(key(2), entry(2, True, dtype))
        assert same(InversionCache(folder=tmp_path).get(key(2)), entry(2, True, dtype))
    none_traj = InversionCache(folder=tmp_path)
    none_traj.put(key(3), entry(3))
    assert InversionCache(folder=tmp_path).get(key(3)).trajectory is None


def _age(folder, k: str, seconds_ago: float) -> None:
    t = time.time() - seconds_ago
    os.utime(folder / f"{k}.safetensors", (t, t))


def test_disk_is_bounded_and_evicts_least_recently_used(tmp_path):
    cache = InversionCache(folder=tmp_path, use_disk=True)
    cache.put(key(1), entry(1))
    size = (tmp_path / files(tmp_path)[0]).stat().st_size
    cache = InversionCache(folder=tmp_path, disk_bytes=int(2.5 * size), memory_bytes=0)
    cache.put(key(2), entry(2))
    _age(tmp_path, key(1), 300)
    _age(tmp_path, key(2), 200)
    assert cache.get(key(1)) is not None  # reading touches: 1 is now the newest
    cache.put(key(3), entry(3))
    assert [cache.contains(key(n)) for n in (1, 2, 3)] == [True, False, True]
    assert cache.stats()["disk_bytes"] <= 2.5 * size
    assert cache.stats()["disk_entries"] == 2


def test_entry_larger_than_disk_budget_is_not_written(tmp_path):
    cache = InversionCache(folder=tmp_path, disk_bytes=1000)
    cache.put(key(1), entry(1))
    assert files(tmp_path) == [] and cache.contains(key(1))  # memory still has it
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


def _corrupt_truncate(p):
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _corrupt_flip_data(p):
    b = bytearray(p.read_bytes())
    b[-10] ^= 0xFF
    p.write_bytes(bytes(b))


def _corrupt_flip_header(p):
    b = bytearray(p.read_bytes())
    b[12] ^= 0xFF
    p.write_bytes(bytes(b))


def _corrupt_empty(p):
    p.write_bytes(b"")


@pytest.mark.parametrize(
    "damage", [_corrupt_truncate, _corrupt_flip_data, _corrupt_flip_header, _corrupt_empty]
)
def test_corrupt_entry_is_a_miss_and_removed(tmp_path, caplog, damage):
    InversionCache(folder=tmp_path).put(key(1), entry(1, trajectory=True))
    path = tmp_path / files(tmp_path)[0]
    damage(path)
    cache = InversionCache(folder=tmp_path)
    assert cache.contains(key(1))  # cheap check: the file is there
    with caplog.at_level(logging.WARNING):
        assert cache.get(key(1)) is None
    assert not path.exists() and not cache.contains(key(1))
    assert cache.stats()["misses"] == 1
    assert "dropping" in caplog.text


def test_entry_under_wrong_key_is_a_miss(tmp_path):
    InversionCache(folder=tmp_path).put(key(1), entry(1))
    os.replace(tmp_path / f"{key(1)}.safetensors", tmp_path / f"{key(2)}.safetensors")
    cache = InversionCache(folder=tmp_path)
    assert cache.get(key(2)) is None
    assert files(tmp_path) == []


def test_failed_disk_write_keeps_memory_entry(tmp_path, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    cache = InversionCache(folder=blocker / "inversions")
    with caplog.at_level(logging.WARNING):
        cache.put(key(1), entry(1))
    assert "could not write" in caplog.text
    assert same(cache.get(key(1)), entry(1))


def test_clear_and_stale_temporary_files(tmp_path):
    cache = InversionCache(folder=tmp_path)
    cache.put(key(1), entry(1))
    stale = tmp_path / "x.safetensors.abc.tmp"
    stale.write_bytes(b"partial")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    InversionCache(folder=tmp_path)  # a new session sweeps old temporary files
    assert not stale.exists() and len(files(tmp_path)) == 1
    cache.clear()
    assert not cache.contains(key(1)) and files(tmp_path) == []
    assert cache.stats()["memory_entries"] == 0


BASE = dict(
    image="abc", model="tiny-1", height=512, width=512, steps=28, gamma=0.5, strength=1.0,
    seed=0, source_prompt="", source_guidance=0.0, shift=True,
)


@pytest.mark.parametrize(
    "part,value",
    [("image", "abd"), ("model", "tiny-2"), ("height", 528), ("width", 496), ("steps", 29),
     ("gamma", 0.6), ("strength", 0.9), ("seed", 1), ("source_prompt", "a cat"),
     ("source_guidance", 1.0), ("shift", False)],
)
def test_key_changes_with_each_part(part, value):
    assert InversionCache.make_key(**{**BASE, part: value}) != InversionCache.make_key(**BASE)


def test_key_is_canonical():
    k = InversionCache.make_key(**BASE)
    assert len(k) == 64 and int(k, 16) >= 0
    assert InversionCache.make_key(**dict(reversed(list(BASE.items())))) == k
    assert InversionCache.make_key(**{**BASE, "strength": 1, "steps": 28.0}) == k
    with pytest.raises(TypeError, match="not supported"):
        InversionCache.make_key(x=object())
    with pytest.raises(ValueError, match="invalid cache key"):
        InversionCache(use_disk=False).get("../../etc/passwd")


def test_default_folder_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("RFEDIT_CACHE_DIR", str(tmp_path / "c"))
    cache = InversionCache()
    assert cache.folder == tmp_path / "c" / "inversions"
    cache.put(key(1), entry(1))
    assert len(files(tmp_path / "c" / "inversions")) == 1


def test_image_digest():
    a = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    assert image_digest(a) == image_digest(a.copy())
    b = a.copy()
    b[0, 0, 0] += 1
    assert image_digest(b) != image_digest(a)
    assert image_digest(a.reshape(4, 12)) != image_digest(a)
    assert image_digest(a.astype(np.uint16)) != image_digest(a)
    assert image_digest(np.asfortranarray(a)) == image_digest(a)


def test_concurrent_contains_and_get_see_whole_entries(tmp_path):
    cache = InversionCache(folder=tmp_path, memory_bytes=0)  # force the disk path
    reader = InversionCache(folder=tmp_path, memory_bytes=0)
    stop, problems = threading.Event(), []

    def watch():
        while not stop.is_set():
            try:
                for n in range(6):
                    if reader.contains(key(n)):
                        got = reader.get(key(n))
                        if got is None or not same(got, entry(n, True)):
                            problems.append(n)
            except Exception as exc:  # noqa: BLE001
                problems.append(exc)

    t = threading.Thread(target=watch)
    t.start()
    try:
        for n in range(6):
            cache.put(key(n), entry(n, trajectory=True))
    finally:
        stop.set()
        t.join()
    assert problems == []
    assert all(cache.contains(key(n)) for n in range(6))
