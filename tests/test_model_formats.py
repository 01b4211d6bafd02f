"""FLUX.1 as it really lies on users' disks, rebuilt in miniature: every form must load offline.

Each test writes the tiny Flux model in the exact on-disk form of a real distribution: the
Hugging Face cache that `hf download black-forest-labs/FLUX.1-dev` leaves (blobs, refs,
symlinked snapshots), the three-shard transformer FLUX.1-dev ships, Black Forest Labs' own
single file (`flux1-dev.safetensors`, fused q/k/v), ComfyUI's prefixed checkpoints, bf16/fp8
weights, city96's GGUF quantisations, and FLUX.1-schnell next to FLUX.1-dev. A loaded model must
compute what the original computes, not merely load.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from rfedit_desktop.engine.loader import fingerprint, load_pipeline, resolve_model
from rfedit_desktop.errors import EditError

torch = pytest.importorskip("torch")

REPO = "black-forest-labs/FLUX.1-dev"
COMMIT = "0ef5fff789c832c5c7f4e127f94c8b54bbcced44"
#: FLUX.1-schnell's scheduler_config.json: no resolution-dependent shift at all.
SCHNELL_SCHEDULER = {
    "_class_name": "FlowMatchEulerDiscreteScheduler",
    "base_image_seq_len": 256,
    "base_shift": 0.5,
    "max_image_seq_len": 4096,
    "max_shift": 1.15,
    "num_train_timesteps": 1000,
    "shift": 1.0,
    "use_dynamic_shifting": False,
}



@pytest.fixture(autouse=True)
def _no_real_hub_cache(monkeypatch, tmp_path):
    """Never look at the user's real ~/.cache/huggingface, whatever the environment says."""
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "unused-hf-home"))


@pytest.fixture(scope="module")
def dev_folder(tmp_path_factory) -> Path:
    """FLUX.1-dev in miniature, laid out as the real repo: the transformer in three shards."""
    from rfedit_desktop.engine.tiny import tiny_flux

    folder = tmp_path_factory.mktemp("dev") / "FLUX.1-dev"
    pipe = tiny_flux(seed=3)
    pipe.save_pretrained(folder, safe_serialization=True)
    shutil.rmtree(folder / "transformer")
    pipe.transformer.save_pretrained(folder / "transformer", max_shard_size="130KB")
    assert len(list((folder / "transformer").glob("*-of-00003.safetensors"))) == 3
    # T5 ships in two shards as well (model-00001-of-00002.safetensors + index).
    shutil.rmtree(folder / "text_encoder_2")
    pipe.text_encoder_2.save_pretrained(folder / "text_encoder_2", max_shard_size="60KB")
    assert (folder / "text_encoder_2" / "model.safetensors.index.json").is_file()
    return folder


@pytest.fixture(scope="module")
def schnell_folder(tmp_path_factory) -> Path:
    from rfedit_desktop.engine.tiny import save_tiny_flux

    folder = save_tiny_flux(tmp_path_factory.mktemp("schnell") / "FLUX.1-schnell", seed=4,
                            guidance_embeds=False)
    (folder / "scheduler" / "scheduler_config.json").write_text(json.dumps(SCHNELL_SCHEDULER))
    return folder


@pytest.fixture(scope="module")
def reference():
    """The transformer every file below is written from (the same weights as `dev_folder`)."""
    from rfedit_desktop.engine.tiny import tiny_flux

    return tiny_flux(seed=3).transformer


# -- helpers -----------------------------------------------------------------------------------
def _outputs(transformer, guidance: bool = True) -> torch.Tensor:
    """The transformer's velocity on fixed random inputs (4x4 latent tokens, 5 text tokens)."""
    g = torch.Generator().manual_seed(0)
    kwargs = {
        "hidden_states": torch.randn(1, 16, 64, generator=g),
        "encoder_hidden_states": torch.randn(1, 5, 32, generator=g),
        "pooled_projections": torch.randn(1, 32, generator=g),
        "timestep": torch.tensor([0.7]),
        "img_ids": _img_ids(),
        "txt_ids": torch.zeros(5, 3),
        "guidance": torch.tensor([3.5]) if guidance else None,
        "return_dict": False,
    }
    with torch.inference_mode():
        return transformer(**kwargs)[0].float()


def _img_ids() -> torch.Tensor:
    ids = torch.zeros(4, 4, 3)
    ids[..., 1] = torch.arange(4.0)[:, None]
    ids[..., 2] = torch.arange(4.0)[None, :]
    return ids.reshape(16, 3)


def to_bfl(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """diffusers' FluxTransformer2DModel keys -> Black Forest Labs' original keys.

    The inverse of diffusers' `convert_flux_transformer_checkpoint_to_diffusers`: q, k and v
    fused into one `qkv`, the single blocks' q/k/v/MLP-in fused into `linear1`, and the final
    modulation stored as (shift, scale) instead of diffusers' (scale, shift).
    """
    sd = dict(sd)
    out: dict[str, torch.Tensor] = {}

    def move(src: str, dst: str) -> None:
        for s in (".weight", ".bias"):
            if src + s in sd:
                out[dst + s] = sd.pop(src + s)

    for src, dst in [
        ("time_text_embed.timestep_embedder.linear_1", "time_in.in_layer"),
        ("time_text_embed.timestep_embedder.linear_2", "time_in.out_layer"),
        ("time_text_embed.text_embedder.linear_1", "vector_in.in_layer"),
        ("time_text_embed.text_embedder.linear_2", "vector_in.out_layer"),
        ("time_text_embed.guidance_embedder.linear_1", "guidance_in.in_layer"),
        ("time_text_embed.guidance_embedder.linear_2", "guidance_in.out_layer"),
        ("context_embedder", "txt_in"),
        ("x_embedder", "img_in"),
        ("proj_out", "final_layer.linear"),
    ]:
        move(src, dst)
    for s in (".weight", ".bias"):
        scale, shift = sd.pop("norm_out.linear" + s).chunk(2)
        out["final_layer.adaLN_modulation.1" + s] = torch.cat([shift, scale])
    blocks = {int(k.split(".")[1]) for k in sd if k.startswith("transformer_blocks.")}
    for i in sorted(blocks):
        d, b = f"transformer_blocks.{i}.", f"double_blocks.{i}."
        for s in (".weight", ".bias"):
            out[f"{b}img_attn.qkv{s}"] = torch.cat([sd.pop(f"{d}attn.to_{n}{s}") for n in "qkv"])
            out[f"{b}txt_attn.qkv{s}"] = torch.cat(
                [sd.pop(f"{d}attn.add_{n}_proj{s}") for n in "qkv"])
        for src, dst in [("norm1.linear", "img_mod.lin"), ("norm1_context.linear", "txt_mod.lin"),
                         ("ff.net.0.proj", "img_mlp.0"), ("ff.net.2", "img_mlp.2"),
                         ("ff_context.net.0.proj", "txt_mlp.0"), ("ff_context.net.2", "txt_mlp.2"),
                         ("attn.to_out.0", "img_attn.proj"), ("attn.to_add_out", "txt_attn.proj")]:
            move(d + src, b + dst)
        out[f"{b}img_attn.norm.query_norm.scale"] = sd.pop(f"{d}attn.norm_q.weight")
        out[f"{b}img_attn.norm.key_norm.scale"] = sd.pop(f"{d}attn.norm_k.weight")
        out[f"{b}txt_attn.norm.query_norm.scale"] = sd.pop(f"{d}attn.norm_added_q.weight")
        out[f"{b}txt_attn.norm.key_norm.scale"] = sd.pop(f"{d}attn.norm_added_k.weight")
    singles = {int(k.split(".")[1]) for k in sd if k.startswith("single_transformer_blocks.")}
    for i in sorted(singles):
        d, b = f"single_transformer_blocks.{i}.", f"single_blocks.{i}."
        for s in (".weight", ".bias"):
            out[f"{b}linear1{s}"] = torch.cat(
                [sd.pop(f"{d}attn.to_{n}{s}") for n in "qkv"] + [sd.pop(f"{d}proj_mlp{s}")])
        move(d + "norm.linear", b + "modulation.lin")
        move(d + "proj_out", b + "linear2")
        out[f"{b}norm.query_norm.scale"] = sd.pop(f"{d}attn.norm_q.weight")
        out[f"{b}norm.key_norm.scale"] = sd.pop(f"{d}attn.norm_k.weight")
    assert not sd, f"keys left unconverted: {sorted(sd)}"
    return out


def _save(sd: dict[str, torch.Tensor], path: Path, dtype=None) -> Path:
    from safetensors.torch import save_file

    save_file({k: (v.to(dtype) if dtype else v).contiguous() for k, v in sd.items()}, str(path))
    return path


def _git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def build_hf_cache(cache: Path, repo_id: str, source: Path, *, commit: str = COMMIT,
                   extra: dict[str, Path] | None = None, leave_out: tuple[str, ...] = (),
                   unfinished: tuple[str, ...] = ()) -> Path:
    """Lay `source` out as the hub cache does: content-addressed blobs (sha256 for LFS files such
    as .safetensors, git's sha1 for small ones), refs/main naming the commit, and a snapshot of
    relative symlinks. `leave_out` files get no blob and no link; `unfinished` ones only a
    `<sha>.incomplete` blob holding half their bytes, as an interrupted download leaves them."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    blobs, snapshot = repo / "blobs", repo / "snapshots" / commit
    blobs.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    files = {p.relative_to(source).as_posix(): p for p in sorted(source.rglob("*")) if p.is_file()}
    files.update(extra or {})
    for rel, src in files.items():
        if rel in leave_out:
            continue
        data = src.read_bytes()
        lfs = rel.endswith((".safetensors", ".gguf", ".model"))
        sha = hashlib.sha256(data).hexdigest() if lfs else _git_sha1(data)
        if rel in unfinished:
            (blobs / f"{sha}.incomplete").write_bytes(data[: len(data) // 2])
            continue
        (blobs / sha).write_bytes(data)
        link = snapshot / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blobs / sha, link.parent))
    return snapshot


# -- 1. the Hugging Face cache ----------------------------------------------------------------
def test_hf_cache_layout_loads_offline_by_repo_id(monkeypatch, capsys, dev_folder, reference,
                                                  tmp_path):
    hf_home = tmp_path / "hf-home"
    bfl = _save(to_bfl(reference.state_dict()), tmp_path / "flux1-dev.safetensors", torch.bfloat16)
    snapshot = build_hf_cache(hf_home / "hub", REPO, dev_folder,
                              extra={"flux1-dev.safetensors": bfl})
    assert (snapshot / "transformer" / "config.json").is_symlink()
    assert len(list((snapshot / "transformer").glob("diffusion_pytorch_model-0000*-of-00003"
                                                     ".safetensors"))) == 3
    monkeypatch.setenv("HF_HOME", str(hf_home))

    source = resolve_model(REPO)
    assert source.kind == "repo" and source.path == snapshot and source.name == REPO
    pipe, _ = load_pipeline(source)
    assert torch.allclose(_outputs(pipe.transformer), _outputs(reference), atol=1e-6)
    # The single file that sits next to the diffusers folders in the same repo, with the repo id
    # as its base: the form many users end up with.
    single = resolve_model(str(snapshot / "flux1-dev.safetensors"), base=REPO)
    assert single.kind == "single-file" and single.base == snapshot
    assert fingerprint(single) != fingerprint(source)
    # ... and without --base the repo it sits in is the base.
    assert resolve_model(str(snapshot / "flux1-dev.safetensors")).base == snapshot

    # The command line, as a user types it.
    from rfedit_desktop.cli import main

    capsys.readouterr()
    assert main(["info", "--model", REPO, "--device", "cpu", "--json", "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == REPO and report["model_kind"] == "repo"
    assert report["guidance_embeds"] is True and report["model_path"] == str(snapshot)

    # HF_HUB_CACHE wins over HF_HOME, exactly as in huggingface_hub.
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    with pytest.raises(EditError, match="hf download black-forest-labs/FLUX.1-dev"):
        resolve_model(REPO)
    monkeypatch.setenv("HF_HUB_CACHE", str(hf_home / "hub"))
    assert resolve_model(REPO).path == snapshot


SHARD2 = "transformer/diffusion_pytorch_model-00002-of-00003.safetensors"
TRANSFORMER_WEIGHTS = tuple(
    [f"transformer/diffusion_pytorch_model-0000{i}-of-00003.safetensors" for i in (1, 2, 3)]
    + ["transformer/diffusion_pytorch_model.safetensors.index.json"])


def test_cache_without_the_big_transformer_is_a_base_for_a_gguf(monkeypatch, dev_folder,
                                                                 reference, tmp_path) -> None:
    """`hf download black-forest-labs/FLUX.1-dev --exclude "transformer/*.safetensors*"
    "flux1-dev.safetensors"` plus a city96 GGUF: the usual low-memory setup."""
    build_hf_cache(tmp_path / "hub", REPO, dev_folder, leave_out=TRANSFORMER_WEIGHTS)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(EditError, match="folder 'transformer/'|transformer/ holds no"):
        resolve_model(REPO)  # as a model of its own it lacks its transformer
    gguf_file = write_city96_gguf(to_bfl(reference.state_dict()),
                                  tmp_path / "flux1-dev-Q8_0.gguf", "Q8_0")
    pipe, source = load_pipeline(str(gguf_file), base=REPO)
    assert source.kind == "gguf" and source.base.parent.parent.name.endswith("FLUX.1-dev")
    got, want = _outputs(pipe.transformer), _outputs(reference)
    assert (got - want).abs().max() < 0.02 * want.abs().max()


def test_repo_cache_folder_itself_can_be_named(monkeypatch, dev_folder, tmp_path) -> None:
    """Users who browse to ~/.cache/huggingface/hub pick models--owner--name, not a snapshot."""
    snapshot = build_hf_cache(tmp_path / "hub", REPO, dev_folder)
    repo_folder = snapshot.parent.parent
    source = resolve_model(str(repo_folder))
    assert source.kind == "repo" and source.path == snapshot and source.name == REPO
    (snapshot / SHARD2).unlink()
    with pytest.raises(EditError, match=r"00002-of-00003.*hf download black-forest-labs/FLUX.1-dev"):
        resolve_model(str(repo_folder))


def test_snapshot_without_refs_main_is_still_found(monkeypatch, dev_folder, tmp_path) -> None:
    """`hf download REPO --revision <commit>` writes no refs/main."""
    snapshot = build_hf_cache(tmp_path / "hub", REPO, dev_folder)
    (snapshot.parent.parent / "refs" / "main").unlink()
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert resolve_model(REPO).path == snapshot


def test_unfinished_local_dir_download_says_to_rerun(dev_folder, tmp_path) -> None:
    """`hf download REPO --local-dir DIR` keeps its bookkeeping in DIR/.cache/huggingface."""
    folder = shutil.copytree(dev_folder, tmp_path / "FLUX.1-dev")
    (folder / SHARD2).unlink()
    partial = folder / ".cache" / "huggingface" / "download" / "transformer"
    partial.mkdir(parents=True)
    (partial / "Xyz123.incomplete").write_bytes(b"half")
    with pytest.raises(EditError) as info:
        resolve_model(str(folder))
    message = str(info.value)
    assert "diffusion_pytorch_model-00002-of-00003.safetensors" in message
    assert "--local-dir" in message and "run that command again" in message
    assert "1 file(s) are still partial" in message


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        ({"leave_out": (SHARD2,)}, "diffusion_pytorch_model-00002-of-00003.safetensors"),
        ({"unfinished": (SHARD2,)}, ".incomplete"),
        ({"leave_out": ("transformer/diffusion_pytorch_model.safetensors.index.json",
                        "transformer/config.json",
                        "transformer/diffusion_pytorch_model-00001-of-00003.safetensors",
                        SHARD2,
                        "transformer/diffusion_pytorch_model-00003-of-00003.safetensors")},
         "folder 'transformer/' is missing"),
        ({"unfinished": ("vae/diffusion_pytorch_model.safetensors",)},
         "vae/ holds no .safetensors weights"),
    ],
    ids=["missing-shard", "incomplete-blob", "no-transformer", "vae-downloading"],
)
def test_partial_download_names_files_and_command(monkeypatch, dev_folder, tmp_path, damage,
                                                  named) -> None:
    build_hf_cache(tmp_path / "hub", REPO, dev_folder, **damage)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(EditError) as info:
        resolve_model(REPO)
    message = str(info.value)
    assert named in message
    assert "not completely downloaded" in message and "hf download black-forest-labs/FLUX.1-dev" \
        in message
    if "unfinished" in damage:
        assert "still partial" in message


def test_blob_deleted_under_a_snapshot_link(monkeypatch, dev_folder, tmp_path) -> None:
    snapshot = build_hf_cache(tmp_path / "hub", REPO, dev_folder)
    (snapshot / "vae" / "diffusion_pytorch_model.safetensors").resolve().unlink()
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(EditError, match="vae/diffusion_pytorch_model.safetensors points to a file "
                                        "that is not there"):
        resolve_model(REPO)


# -- 2. the sharded transformer ---------------------------------------------------------------
def test_sharded_transformer_loads_and_missing_shard_is_named(dev_folder, reference, tmp_path):
    pipe, _ = load_pipeline(str(dev_folder))
    assert torch.allclose(_outputs(pipe.transformer), _outputs(reference), atol=1e-6)
    folder = shutil.copytree(dev_folder, tmp_path / "copy")
    (folder / SHARD2).unlink()
    with pytest.raises(EditError, match="missing weight shards: diffusion_pytorch_model-00002-of"):
        resolve_model(str(folder))


# -- 3. single files: BFL naming, ComfyUI prefix, bf16 and fp8 ---------------------------------
def test_bfl_single_file_computes_like_the_original(dev_folder, reference, tmp_path) -> None:
    path = _save(to_bfl(reference.state_dict()), tmp_path / "flux1-dev.safetensors")
    with pytest.raises(EditError, match="--base"):
        resolve_model(str(path))
    source = resolve_model(str(path), base=str(dev_folder))
    assert source.kind == "single-file" and source.name == "flux1-dev"
    pipe, _ = load_pipeline(source)
    assert torch.allclose(_outputs(pipe.transformer), _outputs(reference), atol=1e-6)
    assert str(pipe.transformer.dtype) == "torch.float32"


def test_our_conversion_agrees_with_diffusers_own(reference) -> None:
    """diffusers' converter hard-codes FLUX.1's 3072-wide single blocks, so it cannot read the
    tiny model; give it 3072-wide (but zero-column) fused single-block weights and compare every
    other tensor with ours."""
    from diffusers.loaders.single_file_utils import convert_flux_transformer_checkpoint_to_diffusers

    from rfedit_desktop.engine.flux_checkpoint import bfl_to_diffusers

    bfl = to_bfl(reference.state_dict())
    ours = bfl_to_diffusers(dict(bfl))
    for key in [k for k in bfl if ".linear1." in k]:
        bfl[key] = torch.zeros((3 * 3072 + 4 * 3072, 0)[: bfl[key].ndim])
    theirs = convert_flux_transformer_checkpoint_to_diffusers(dict(bfl))
    assert set(theirs) == set(ours)
    fused = ("attn.to_q", "attn.to_k", "attn.to_v", "proj_mlp")
    compared = [k for k in ours if not (k.startswith("single_") and any(f in k for f in fused))]
    assert len(compared) > 50
    for key in compared:
        assert torch.equal(ours[key], theirs[key]), key


def test_comfyui_prefixed_checkpoint_loads(dev_folder, reference, tmp_path) -> None:
    sd = {f"model.diffusion_model.{k}": v for k, v in to_bfl(reference.state_dict()).items()}
    sd["vae.decoder.conv_in.weight"] = torch.zeros(2, 2)  # full checkpoints carry these too
    sd["text_encoders.clip_l.logit_scale"] = torch.zeros(1)
    path = _save(sd, tmp_path / "flux1-dev-comfy.safetensors")
    pipe, _ = load_pipeline(str(path), base=str(dev_folder))
    assert torch.allclose(_outputs(pipe.transformer), _outputs(reference), atol=1e-6)


@pytest.mark.parametrize("dtype_name", ["bfloat16", "float8_e4m3fn"])
def test_bf16_and_fp8_files_are_upcast(dev_folder, reference, tmp_path, dtype_name) -> None:
    """Real files hold bf16 (the official release) or fp8 (Comfy/Kijai). On the CPU rfedit
    computes in fp32: the stored values are upcast exactly, so the model computes like the
    original with its weights rounded to the file's dtype."""
    import copy

    dtype = getattr(torch, dtype_name)
    path = _save(to_bfl(reference.state_dict()), tmp_path / f"flux1-dev-{dtype_name}.safetensors",
                 dtype)
    pipe, _ = load_pipeline(str(path), base=str(dev_folder))
    assert pipe.transformer.dtype == torch.float32
    rounded = copy.deepcopy(reference)
    with torch.no_grad():
        for p in rounded.parameters():
            p.copy_(p.to(dtype).float())
    assert torch.allclose(_outputs(pipe.transformer), _outputs(rounded), atol=1e-5)
    exact = reference.transformer_blocks[0].ff.net[2].weight
    assert torch.equal(pipe.transformer.transformer_blocks[0].ff.net[2].weight,
                       exact.to(dtype).float())


def test_wrong_single_files_are_refused_clearly(dev_folder, schnell_folder, reference, tmp_path):
    garbage = tmp_path / "flux1-dev.safetensors"
    garbage.write_bytes(os.urandom(4096))
    with pytest.raises(EditError, match="not a usable .safetensors file"):
        resolve_model(str(garbage), base=str(dev_folder))
    good = _save(to_bfl(reference.state_dict()), tmp_path / "good.safetensors")
    truncated = tmp_path / "half.safetensors"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(EditError, match="truncated"):
        resolve_model(str(truncated), base=str(dev_folder))
    # A [dev] file with a [schnell] base (no guidance embedding there) and the other way round.
    with pytest.raises(EditError, match="FLUX.1-dev"):
        load_pipeline(str(good), base=str(schnell_folder))
    no_guidance = {k: v for k, v in to_bfl(reference.state_dict()).items()
                   if not k.startswith("guidance_in.")}
    schnell_file = _save(no_guidance, tmp_path / "flux1-schnell.safetensors")
    with pytest.raises(EditError, match="FLUX.1-schnell"):
        load_pipeline(str(schnell_file), base=str(dev_folder))
    scaled = dict(to_bfl(reference.state_dict()))
    scaled["scaled_fp8"] = torch.zeros(0, dtype=torch.float8_e4m3fn)
    scaled["double_blocks.0.img_mlp.0.scale_weight"] = torch.ones(1)
    with pytest.raises(EditError, match="scaled fp8"):
        load_pipeline(str(_save(scaled, tmp_path / "flux1-dev-fp8-scaled.safetensors")),
                      base=str(dev_folder))
    lora = _save({"lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight": torch.zeros(4, 32)},
                 tmp_path / "style-lora.safetensors")
    with pytest.raises(EditError, match="LoRA"):
        load_pipeline(str(lora), base=str(dev_folder))
    sdxl = _save({"model.diffusion_model.input_blocks.0.0.weight": torch.zeros(4, 4)},
                 tmp_path / "sdxl.safetensors")
    with pytest.raises(EditError, match="does not hold a FLUX.1 transformer"):
        load_pipeline(str(sdxl), base=str(dev_folder))
    damaged = to_bfl(reference.state_dict())
    del damaged["double_blocks.0.img_mlp.2.weight"]
    with pytest.raises(EditError, match=r"1 weights missing \(e.g. transformer_blocks.0.ff.net.2"):
        load_pipeline(str(_save(damaged, tmp_path / "damaged.safetensors")), base=str(dev_folder))


# -- 4. GGUF (city96's layout: BFL keys, small tensors in F32, matrices quantised) ------------
def _keeps_full_precision(a) -> bool:
    """What city96's converter leaves unquantised: vectors and small or odd-shaped tensors."""
    return a.ndim == 1 or a.size <= 1024 or a.shape[-1] % 32 != 0


def _round_trip(sd: dict[str, torch.Tensor], qtype_name: str) -> dict[str, torch.Tensor]:
    """The weights diffusers computes with from a GGUF file of `qtype_name`: each quantised
    tensor de-quantised again, rounded to float16 (diffusers multiplies the blocks' fp16 scales in
    fp16 on the CPU, whatever the compute dtype)."""
    import gguf
    from gguf.quants import dequantize, quantize

    qtype = getattr(gguf.GGMLQuantizationType, qtype_name)
    out = {}
    for name, value in sd.items():
        a = value.float().numpy()
        out[name] = value if _keeps_full_precision(a) else torch.from_numpy(
            dequantize(quantize(a, qtype), qtype).copy()).reshape(value.shape).half().float()
    return out


def write_city96_gguf(sd: dict[str, torch.Tensor], path: Path, qtype_name: str) -> Path:
    gguf = pytest.importorskip("gguf")
    from gguf.quants import quantize

    qtype = getattr(gguf.GGMLQuantizationType, qtype_name)
    writer = gguf.GGUFWriter(str(path), arch="flux")
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    writer.add_file_type(qtype)
    for name, value in sd.items():
        a = value.float().numpy()
        if _keeps_full_precision(a):
            writer.add_tensor(name, a)
        else:
            q = quantize(a, qtype)
            writer.add_tensor(name, q, raw_shape=q.shape, raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.mark.parametrize(("qtype", "tolerance"), [("Q8_0", 0.02), ("Q4_0", 0.15), ("BF16", 0.02)])
def test_gguf_with_bfl_keys_loads_quantised(dev_folder, reference, tmp_path, qtype, tolerance):
    path = write_city96_gguf(to_bfl(reference.state_dict()), tmp_path / f"flux1-dev-{qtype}.gguf",
                             qtype)
    source = resolve_model(str(path), base=str(dev_folder))
    assert source.kind == "gguf"
    pipe, _ = load_pipeline(source)
    qkv = pipe.transformer.transformer_blocks[0].attn.to_k.weight
    assert type(qkv).__name__ == "GGUFParameter" and qkv.quant_type.name == qtype
    got, want = _outputs(pipe.transformer), _outputs(reference)
    error = (got - want).abs().max() / want.abs().max()
    assert 0 < error < tolerance, f"{qtype}: relative error {error:.4f}"  # > 0: truly quantised
    # Exactly the model the GGUF's values describe: the same values stored as plain safetensors
    # (a path checked exactly above) compute the same velocities.
    plain = _save(_round_trip(to_bfl(reference.state_dict()), qtype), tmp_path / "plain.safetensors")
    same, _ = load_pipeline(str(plain), base=str(dev_folder))
    assert torch.allclose(got, _outputs(same.transformer), atol=1e-5)


def test_gguf_needs_the_package_and_a_gguf_file(monkeypatch, dev_folder, tmp_path) -> None:
    import importlib.util

    fake = tmp_path / "flux1-dev-Q8_0.gguf"
    fake.write_bytes(b"not gguf at all")
    with pytest.raises(EditError, match="not a GGUF file"):
        resolve_model(str(fake), base=str(dev_folder))
    with monkeypatch.context() as patch:  # not installed at all
        real = importlib.util.find_spec
        patch.setattr(importlib.util, "find_spec",
                      lambda name, *a: None if name == "gguf" else real(name, *a))
        with pytest.raises(EditError, match="needs the 'gguf' package: pip install"):
            resolve_model(str(fake), base=str(dev_folder))
    with monkeypatch.context() as patch:  # installed but broken: the import fails
        patch.setitem(sys.modules, "gguf", None)
        with pytest.raises(EditError, match="needs the 'gguf' package: pip install"):
            resolve_model(str(fake), base=str(dev_folder))
    with monkeypatch.context() as patch:  # too old for diffusers
        import importlib.metadata

        real_version = importlib.metadata.version
        patch.setattr(importlib.metadata, "version",
                      lambda name: "0.9.1" if name == "gguf" else real_version(name))
        with pytest.raises(EditError, match=r"needs gguf 0.10 or newer \(found 0.9\)"):
            resolve_model(str(fake), base=str(dev_folder))


# -- 5. FLUX.1-schnell vs FLUX.1-dev: the grid and the guidance follow the model ---------------
@pytest.mark.parametrize("variant", ["dev", "schnell"])
def test_engine_grid_and_guidance_follow_the_model(request, variant) -> None:
    import numpy as np
    from diffusers import FlowMatchEulerDiscreteScheduler
    from diffusers.pipelines.flux.pipeline_flux import calculate_shift

    from rfedit_desktop.engine.sampling import sigma_schedule
    from rfedit_desktop.engine.session import load_engine
    from rfedit_desktop.engine.velocity import make_velocity

    folder = request.getfixturevalue(f"{variant}_folder")
    engine = load_engine(str(folder), device="cpu")
    assert engine.guidance_embeds is (variant == "dev")
    assert engine.shift_grid is (variant == "dev")
    for steps, side in ((4, 64), (28, 1024)):
        ours = sigma_schedule(engine, steps, side, side)
        # What diffusers' FluxPipeline does with this model's own scheduler config.
        scheduler = FlowMatchEulerDiscreteScheduler.from_config(engine.pipe.scheduler.config)
        cfg = scheduler.config
        mu = calculate_shift((side // 16) ** 2, cfg.base_image_seq_len, cfg.max_image_seq_len,
                             cfg.base_shift, cfg.max_shift)
        scheduler.set_timesteps(sigmas=np.linspace(1.0, 1 / steps, steps), mu=mu)
        assert torch.allclose(ours, scheduler.sigmas.float(), atol=2e-6), (variant, steps, side)
        plain = torch.cat([torch.linspace(1.0, 1 / steps, steps), torch.zeros(1)])
        assert torch.allclose(ours, plain, atol=1e-6) is (variant == "schnell")

    seen = []
    engine.pipe.transformer.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(kwargs["guidance"]), with_kwargs=True)
    velocity = make_velocity(engine, "a photo of a cat", 3.5, 32, 32)
    u = velocity(torch.zeros(1, 4, 64), 0.5)
    assert u.shape == (1, 4, 64)
    if variant == "dev":
        assert seen[0] is not None and seen[0].tolist() == [3.5]
    else:
        assert seen[0] is None


def test_schnell_edits_end_to_end(schnell_folder) -> None:
    import numpy as np

    from rfedit_desktop.engine.pipeline import run_edit
    from rfedit_desktop.engine.request import EditRequest
    from rfedit_desktop.engine.session import load_engine

    engine = load_engine(str(schnell_folder), device="cpu")
    image = (np.arange(32 * 32 * 3) % 251).astype(np.uint8).reshape(32, 32, 3)
    result = run_edit(engine, EditRequest(image=image, prompt="a photo of a dog",
                                          source_prompt="a photo of a cat", steps=2, seed=1))
    assert result.image.shape == (32, 32, 3) and result.nfe == 4
    assert result.metadata["sigma_shift"] is False
    assert result.metadata["sigma_first_steps"][:2] == [1.0, 0.5]


# -- 6. folders users get wrong ---------------------------------------------------------------
def test_transformer_only_download_needs_a_base(dev_folder, reference, tmp_path) -> None:
    """`hf download black-forest-labs/FLUX.1-dev --include "transformer/*"` leaves only this."""
    partial = tmp_path / "FLUX.1-dev"
    shutil.copytree(dev_folder / "transformer", partial / "transformer")
    with pytest.raises(EditError) as info:
        resolve_model(str(partial))
    message = str(info.value)
    for component in ("text_encoder", "text_encoder_2", "tokenizer", "vae", "scheduler"):
        assert component in message
    assert "--base" in message and "model_index.json is missing" in message
    # ... and the transformer folder itself, with a base, is a usable model.
    with pytest.raises(EditError, match="--base"):
        resolve_model(str(partial / "transformer"))
    source = resolve_model(str(partial / "transformer"), base=str(dev_folder))
    assert source.kind == "transformer-folder" and source.name == "FLUX.1-dev"
    pipe, _ = load_pipeline(source)
    assert torch.allclose(_outputs(pipe.transformer), _outputs(reference), atol=1e-6)


def test_pickle_only_folder_is_refused(tmp_path) -> None:
    folder = tmp_path / "old-download"
    folder.mkdir()
    (folder / "flux1-dev.ckpt").write_bytes(b"\x80\x04pickle")
    (folder / "ae.pt").write_bytes(b"\x80\x04pickle")
    with pytest.raises(EditError) as info:
        resolve_model(str(folder))
    assert "pickle" in str(info.value) and "Convert" in str(info.value)
    with pytest.raises(EditError, match="pickle checkpoint.*Convert it to .safetensors"):
        resolve_model(str(folder / "flux1-dev.ckpt"))


def test_folder_of_single_files_says_how_to_name_one(tmp_path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "flux1-dev.safetensors").write_bytes(b"")
    with pytest.raises(EditError, match=r"--model .*flux1-dev.safetensors --base"):
        resolve_model(str(folder))


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda f: _set_json(f / "model_index.json", _class_name="StableDiffusionPipeline"),
         "StableDiffusionPipeline model; rfedit needs a model of the FLUX.1 architecture"),
        (lambda f: _set_json(f / "model_index.json", _class_name="Flux2Pipeline"),
         "needs a model of the FLUX.1 architecture"),
        (lambda f: _set_json(f / "transformer" / "config.json", in_channels=384),
         "384 input channels where the VAE gives 64: a FLUX.1 Fill"),
        (lambda f: _set_json(f / "transformer" / "config.json", _class_name="SD3Transformer2DModel"),
         "not a Flux transformer"),
    ],
    ids=["sd", "flux2", "fill", "sd3-transformer"],
)
def test_non_flux_models_are_refused(schnell_folder, tmp_path, edit, expected) -> None:
    folder = shutil.copytree(schnell_folder, tmp_path / "model")
    edit(folder)
    with pytest.raises(EditError, match=expected):
        resolve_model(str(folder))


def _set_json(path: Path, **values) -> None:
    data = json.loads(path.read_text())
    data.update(values)
    path.write_text(json.dumps(data))
