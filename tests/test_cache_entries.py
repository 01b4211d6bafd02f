"""Disk-cache entries that pass their checksum but cannot serve the request: a miss, removed,
recomputed; and the one serialised form of an inversion (disk cache and project files)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from edit_inputs import STEPS, request
from safetensors.torch import save_file

from rfedit_desktop.engine import cache as cache_mod
from rfedit_desktop.engine.cache import CachedInversion, InversionCache


@pytest.fixture(scope="module")
def engine():
    from rfedit_desktop.engine.session import load_engine

    return load_engine("tiny", device="cpu", cache=InversionCache(use_disk=False))


def forge(path, key: str, tensors: dict[str, torch.Tensor], trajectory="none") -> None:
    """An entry file exactly as the cache writes one: right format, key and checksum."""
    tensors = {k: v.contiguous().clone() for k, v in tensors.items()}
    metadata = {"format": cache_mod.FORMAT, "key": key,
                "checksum": cache_mod._checksum(tensors),
                "trajectory": trajectory, "meta": json.dumps({})}
    save_file(tensors, str(path), metadata=metadata)


def disk_engine(engine, folder):
    """The shared tiny engine on a fresh cache in `folder` (nothing held in memory)."""
    engine.cache = InversionCache(folder=folder)
    return engine


def only_entry(folder):
    (path,) = folder.glob("*.safetensors")
    return path, path.name[: -len(".safetensors")]


def bad_entries(good: CachedInversion) -> dict[str, dict[str, torch.Tensor]]:
    y0 = good.y0
    half = y0[:, : y0.shape[1] // 2]
    nan = good.latent.clone()
    nan[0, 0, 0] = float("nan")
    return {
        "wrong shape": {"y0": half, "y1": half.clone(), "latent": half.clone()},
        "not finite": {"y0": y0, "y1": good.y1, "latent": nan},
        "all infinite": {"y0": y0, "y1": good.y1, "latent": torch.full_like(y0, float("inf"))},
    }


@pytest.mark.parametrize("damage", ["wrong shape", "not finite", "all infinite"])
def test_a_checksummed_entry_that_does_not_fit_is_a_miss_removed_and_recomputed(
    engine, tmp_path, damage
) -> None:
    from rfedit_desktop.engine.inversion import cached_inversion
    from rfedit_desktop.engine.pipeline import run_edit
    from rfedit_desktop.engine.prepare import prepare

    eng = disk_engine(engine, tmp_path)
    first = run_edit(eng, request())
    assert not first.cache_hit
    path, key = only_entry(tmp_path)
    good = cache_mod._read_entry(path, key)
    forge(path, key, bad_entries(good)[damage])

    eng = disk_engine(engine, tmp_path)  # a later session: only the disk holds the entry
    req = request()
    assert cached_inversion(eng, req, prepare(eng, req)) is None
    assert not path.exists()  # dropped, not met again on every later run

    forge(path, key, bad_entries(good)[damage])
    eng = disk_engine(engine, tmp_path)
    again = run_edit(eng, request())
    assert not again.cache_hit and again.nfe == 2 * STEPS  # recomputed, not a black "hit"
    assert np.array_equal(again.image, first.image)
    assert cache_mod._read_entry(path, key).y0.shape == good.y0.shape  # the good entry is back


def test_a_masked_edit_drops_a_trajectory_of_the_wrong_length(engine, tmp_path) -> None:
    from rfedit_desktop.engine.pipeline import run_edit

    mask = np.zeros((48, 64), np.float32)
    mask[10:30, 20:40] = 1.0
    eng = disk_engine(engine, tmp_path)
    first = run_edit(eng, request(mask=mask))
    path, key = only_entry(tmp_path)
    good = cache_mod._read_entry(path, key)
    short = good.trajectory[:-2]
    forge(path, key, {"y0": good.y0, "y1": good.y1, "latent": good.latent,
                      **{f"trajectory.{i:05d}": t for i, t in enumerate(short)}},
          trajectory=str(len(short)))
    eng = disk_engine(engine, tmp_path)
    again = run_edit(eng, request(mask=mask))
    assert not again.cache_hit and again.nfe == 2 * STEPS
    assert np.array_equal(again.image, first.image)
    assert len(cache_mod._read_entry(path, key).trajectory) == len(good.trajectory)


def test_the_cache_itself_drops_non_finite_entries(tmp_path) -> None:
    key = InversionCache.make_key(image="x")
    t = torch.zeros(1, 4, 8)
    forge(tmp_path / f"{key}.safetensors", key,
          {"y0": t, "y1": t.clone(), "latent": torch.full_like(t, float("nan"))})
    cache = InversionCache(folder=tmp_path)
    assert cache.get(key) is None
    assert list(tmp_path.glob("*.safetensors")) == []


def test_one_serialised_form_for_disk_and_project_files(tmp_path) -> None:
    """Trajectory points that are views of one buffer (as a masked edit's are) serialise."""
    buffer = torch.randn(5, 1, 4, 8)
    traj = list(buffer.unbind(0))  # five views sharing one storage
    entry = CachedInversion(traj[0], torch.randn(1, 4, 8), traj[-1], traj, {"steps": 4})
    key = InversionCache.make_key(image="views")
    data = cache_mod.entry_bytes(key, entry)
    back = cache_mod.entry_from_bytes(key, data)
    assert all(torch.equal(back.tensors()[k], v) for k, v in entry.tensors().items())
    assert back.meta == {"steps": 4}
    cache = InversionCache(folder=tmp_path)
    cache.put(key, entry)
    (path,) = tmp_path.glob("*.safetensors")
    from_disk = cache_mod.entry_from_bytes(key, path.read_bytes())  # the same form on disk
    assert all(torch.equal(from_disk.tensors()[k], v) for k, v in entry.tensors().items())
    with pytest.raises(ValueError, match="another key"):
        cache_mod.entry_from_bytes(InversionCache.make_key(image="other"), data)
    flipped = bytearray(data)
    flipped[-1] ^= 0xFF
    with pytest.raises(ValueError, match="checksum"):
        cache_mod.entry_from_bytes(key, bytes(flipped))
    with pytest.raises(ValueError):
        cache_mod.entry_from_bytes(key, b"garbage")
