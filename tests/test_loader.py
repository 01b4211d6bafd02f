"""Finding and loading models: folders, cached repos, single files, and every user mistake."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rfedit_desktop.engine.loader import (
    check_folder,
    fingerprint,
    load_pipeline,
    resolve_model,
)
from rfedit_desktop.engine.model_settings import read_settings
from rfedit_desktop.errors import EditError

torch = pytest.importorskip("torch")



@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    from rfedit_desktop.engine.tiny import save_tiny_flux

    return save_tiny_flux(tmp_path_factory.mktemp("models") / "tiny-flux", seed=3)


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_folder_loads_the_saved_weights(tiny_folder: Path) -> None:
    from rfedit_desktop.engine.tiny import tiny_flux

    source = resolve_model(str(tiny_folder))
    assert source.kind == "folder" and source.name == "tiny-flux"
    pipe, source = load_pipeline(source)
    reference = tiny_flux(seed=3)
    assert type(pipe).__name__ == "FluxPipeline"
    for name in ("transformer", "vae", "text_encoder", "text_encoder_2"):
        assert _same_weights(getattr(pipe, name), getattr(reference, name)), name
    assert not pipe.transformer.training
    assert pipe.scheduler.config.use_dynamic_shifting


def test_tiny_is_seeded_and_deterministic() -> None:
    from rfedit_desktop.engine.tiny import tiny_flux

    a, b, c = tiny_flux(0), tiny_flux(0), tiny_flux(1)
    assert _same_weights(a.transformer, b.transformer)
    assert not _same_weights(a.transformer, c.transformer)
    assert a.vae_scale_factor == 8 and a.transformer.config.in_channels == 64
    assert not a.text_encoder.training and not a.text_encoder_2.training


def test_fingerprint_is_stable_and_tracks_configs(tiny_folder: Path, tmp_path: Path) -> None:
    first = fingerprint(resolve_model(str(tiny_folder)))
    assert first == fingerprint(resolve_model(str(tiny_folder)))
    other = _copy(tiny_folder, tmp_path / "copy")
    cfg = other / "transformer" / "config.json"
    data = json.loads(cfg.read_text())
    data["num_layers"] = 2
    cfg.write_text(json.dumps(data))
    assert fingerprint(resolve_model(str(other))) != first
    assert fingerprint(resolve_model("tiny")) != fingerprint(resolve_model("tiny:1"))


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda f: shutil.rmtree(f / "vae"), "folder 'vae/' is missing"),
        (lambda f: (f / "model_index.json").unlink(), "model_index.json is missing"),
        (
            lambda f: [p.unlink() for p in (f / "transformer").glob("*.safetensors")],
            "transformer/ holds no .safetensors weights",
        ),
        (lambda f: (f / "text_encoder_2" / "config.json").unlink(),
         "text_encoder_2/config.json is missing"),
        (lambda f: (f / "scheduler" / "scheduler_config.json").unlink(),
         "scheduler/scheduler_config.json is missing"),
        (lambda f: [p.unlink() for p in (f / "tokenizer_2").iterdir()],
         "'tokenizer_2/' holds no tokenizer files"),
    ],
)
def test_partial_folder_names_what_is_missing(tiny_folder, tmp_path, damage, expected) -> None:
    folder = _copy(tiny_folder, tmp_path / "partial")
    damage(folder)
    with pytest.raises(EditError) as info:
        resolve_model(str(folder))
    assert expected in str(info.value)


def test_pickle_only_weights_are_refused(tiny_folder: Path, tmp_path: Path) -> None:
    folder = _copy(tiny_folder, tmp_path / "pickled")
    for p in (folder / "vae").glob("*.safetensors"):
        p.rename(p.with_suffix(".bin"))
    with pytest.raises(EditError, match="only pickle weights"):
        check_folder(folder)
    with pytest.raises(EditError, match="pickle"):
        resolve_model(str(tmp_path / "model.ckpt"))


def test_missing_shard_is_named(tiny_folder: Path, tmp_path: Path) -> None:
    folder = _copy(tiny_folder, tmp_path / "sharded")
    index = {"metadata": {}, "weight_map": {"a": "part-1.safetensors", "b": "part-2.safetensors"}}
    (folder / "transformer" / "diffusion_pytorch_model.safetensors.index.json").write_text(
        json.dumps(index)
    )
    (folder / "transformer" / "part-1.safetensors").write_bytes(b"")
    with pytest.raises(EditError, match="missing weight shards: part-2.safetensors"):
        check_folder(folder)


def test_unknown_names_and_missing_paths() -> None:
    with pytest.raises(EditError, match="no such folder"):
        resolve_model("./does/not/exist")
    with pytest.raises(EditError, match="does not exist"):
        resolve_model("/nowhere/flux.safetensors")
    with pytest.raises(EditError, match="No model given"):
        resolve_model("  ")


def test_demo_missing_says_where(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RFEDIT_RESOURCES", str(tmp_path))
    with pytest.raises(EditError, match="demo model is not installed") as info:
        resolve_model("demo")
    assert str(tmp_path / "demo-model") in str(info.value)


def test_demo_folder_with_settings(monkeypatch, tiny_folder: Path, tmp_path: Path) -> None:
    demo = _copy(tiny_folder, tmp_path / "demo-model")
    settings = {"name": "test demo", "resolution": 64, "default_guidance": 2.0}
    (demo / "rfedit.json").write_text(json.dumps(settings))
    monkeypatch.setenv("RFEDIT_RESOURCES", str(tmp_path))
    source = resolve_model("demo")
    assert source.kind == "demo" and source.name == "test demo"
    assert source.settings["resolution"] == 64
    (demo / "rfedit.json").write_text("{not json")
    with pytest.raises(EditError, match="not valid JSON"):
        read_settings(demo)


def test_repo_not_in_cache_tells_the_download_command(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(EditError) as info:
        resolve_model("black-forest-labs/FLUX.1-dev")
    assert "hf download black-forest-labs/FLUX.1-dev" in str(info.value)
    assert "huggingface-cli download black-forest-labs/FLUX.1-dev" in str(info.value)
    assert str(tmp_path / "hub") in str(info.value)


def test_repo_in_cache_loads_offline(monkeypatch, tiny_folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "hub"
    repo = cache / "models--someone--tiny-flux"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd")
    _copy(tiny_folder, repo / "snapshots" / "0123abcd")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    source = resolve_model("someone/tiny-flux")
    assert source.kind == "repo" and source.path == repo / "snapshots" / "0123abcd"
    pipe, _ = load_pipeline(source)
    assert pipe.transformer.config.guidance_embeds


def test_single_file_transformer(tiny_folder: Path, tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from rfedit_desktop.engine.tiny import tiny_flux

    other = tiny_flux(seed=11).transformer
    weights = tmp_path / "my-finetune.safetensors"
    save_file({k: v.contiguous() for k, v in other.state_dict().items()}, str(weights))
    with pytest.raises(EditError, match="--base"):
        resolve_model(str(weights))
    source = resolve_model(str(weights), base=str(tiny_folder))
    assert source.kind == "single-file" and source.name == "my-finetune"
    pipe, _ = load_pipeline(source)
    assert _same_weights(pipe.transformer, other)
    assert fingerprint(source) != fingerprint(resolve_model(str(tiny_folder)))


def test_gguf_without_package_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "gguf" else real(name, *a)
    )
    f = tmp_path / "flux-q4.gguf"
    f.write_bytes(b"GGUF")
    with pytest.raises(EditError, match="pip install"):
        resolve_model(str(f), base=str(tmp_path))


def test_corrupt_weights_and_configs_are_edit_errors(tiny_folder: Path, tmp_path: Path) -> None:
    folder = _copy(tiny_folder, tmp_path / "corrupt")
    weights = next((folder / "transformer").glob("*.safetensors"))
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(EditError, match=r"transformer/diffusion_pytorch_model.safetensors .*trunc"):
        load_pipeline(str(folder))
    weights.write_bytes(data)
    cfg = folder / "vae" / "config.json"
    settings = json.loads(cfg.read_text())
    settings["block_out_channels"] = [8, 8, 16, 32]  # shapes no longer match the weights
    cfg.write_text(json.dumps(settings))
    with pytest.raises(EditError, match="Could not load the model"):
        load_pipeline(str(folder))


def test_gguf_transformer_loads_quantized(tiny_folder: Path, tmp_path: Path) -> None:
    gguf = pytest.importorskip("gguf")
    from gguf.quants import quantize

    from rfedit_desktop.engine.tiny import tiny_flux

    reference = tiny_flux(seed=5).transformer
    path = tmp_path / "tiny-q8.gguf"
    writer = gguf.GGUFWriter(str(path), arch="flux")
    for name, value in reference.state_dict().items():
        a = value.float().numpy()
        if a.ndim == 2 and a.shape[-1] % 32 == 0:
            q = quantize(a, gguf.GGMLQuantizationType.Q8_0)
            writer.add_tensor(name, q, raw_shape=q.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        else:
            writer.add_tensor(name, a)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    source = resolve_model(str(path), base=str(tiny_folder))
    assert source.kind == "gguf"
    pipe, _ = load_pipeline(source)
    from diffusers.quantizers.gguf.utils import dequantize_gguf_tensor

    loaded = pipe.transformer.transformer_blocks[0].attn.to_q.weight
    exact = reference.transformer_blocks[0].attn.to_q.weight
    assert type(loaded).__name__ == "GGUFParameter"
    assert (dequantize_gguf_tensor(loaded) - exact).abs().max() < 0.01 * exact.abs().max()


def test_loading_reports_progress() -> None:
    events = []
    pipe, source = load_pipeline("tiny", progress=events.append)
    assert source.kind == "tiny" and pipe is not None
    assert [e.phase for e in events] == ["load"] * len(events) and len(events) >= 2
    assert events[-1].step == events[-1].total and events[-1].message == "model ready"
