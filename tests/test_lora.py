"""LoRAs on the demo model: made here with PEFT, saved in diffusers and Kohya naming, applied
with a weight, refused when they do not fit, and part of the cache key and metadata."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from rfedit_desktop.engine.lora import check_lora_file, parse_lora_arg
from rfedit_desktop.engine.request import EditRequest
from rfedit_desktop.errors import EditError

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

RANK = 4


@pytest.fixture(scope="module")
def engine():
    from rfedit_desktop.engine.cache import InversionCache
    from rfedit_desktop.engine.session import load_engine

    return load_engine("demo", device="cpu", cache=InversionCache(use_disk=False))


@pytest.fixture()
def fresh(engine):
    engine.cache.clear()
    engine.loras.unload(engine.pipe)
    yield engine
    engine.loras.unload(engine.pipe)


def peft_lora(transformer, seed: int = 0) -> dict:
    """A LoRA trained by nobody: PEFT's random (nonzero) init on a copy of `transformer`,
    returned in diffusers naming."""
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    model = copy.deepcopy(transformer)
    torch.manual_seed(seed)
    model.add_adapter(LoraConfig(r=RANK, lora_alpha=RANK, init_lora_weights=False,
                                 target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    state = get_peft_model_state_dict(model)
    return {f"transformer.{k}": v.contiguous() * 4 for k, v in state.items()}


def other_naming(transformer, naming: str, seed: int = 1) -> tuple[dict, dict]:
    """One LoRA in Kohya naming (BFL module names, fused qkv, alpha) or XLabs naming (fused qkv
    processors, no alpha), and the same LoRA as diffusers names it, written out by hand."""
    g = torch.Generator().manual_seed(seed)
    width = transformer.config.num_attention_heads * transformer.config.attention_head_dim
    other, diff = {}, {}
    alpha = RANK / 2 if naming == "kohya" else RANK
    for i in range(transformer.config.num_layers):
        down = torch.randn(RANK, width, generator=g)
        up = torch.randn(3 * width, RANK, generator=g)
        if naming == "kohya":
            key = f"lora_unet_double_blocks_{i}_img_attn_qkv"
            other[f"{key}.lora_down.weight"] = down
            other[f"{key}.lora_up.weight"] = up
            other[f"{key}.alpha"] = torch.tensor(alpha)
        else:
            key = f"double_blocks.{i}.processor.qkv_lora1"
            other[f"{key}.down.weight"] = down
            other[f"{key}.up.weight"] = up
        for j, part in enumerate(("to_q", "to_k", "to_v")):
            name = f"transformer.transformer_blocks.{i}.attn.{part}"
            diff[f"{name}.lora_A.weight"] = down * (alpha / RANK)
            diff[f"{name}.lora_B.weight"] = up[j * width:(j + 1) * width].contiguous()
    return other, diff


def save(path, state: dict):
    from safetensors.torch import save_file

    save_file(state, str(path))
    return str(path)


def generate(engine, loras=()):
    from rfedit_desktop.engine.pipeline import run_generate

    result = run_generate(engine, "a large red circle on a blue background", width=64, height=64,
                          steps=4, seed=3, preview_every=0, loras=tuple(loras))
    return result


def test_a_peft_lora_changes_a_seeded_generation_and_weight_zero_changes_nothing(fresh, tmp_path):
    lora = save(tmp_path / "style.safetensors", peft_lora(fresh.pipe.transformer))
    plain = generate(fresh).image
    styled = generate(fresh, [(lora, 1.0)])
    assert np.abs(styled.image.astype(int) - plain.astype(int)).mean() > 2.0
    assert styled.metadata["loras"][0]["name"] == "style.safetensors"
    assert styled.metadata["loras"][0]["weight"] == 1.0
    half = generate(fresh, [(lora, 0.5)]).image  # the weight changes without a reload
    assert not np.array_equal(half, styled.image)
    assert len(fresh.loras.adapters) == 1
    assert np.array_equal(generate(fresh, [(lora, 0.0)]).image, plain)
    assert np.array_equal(generate(fresh).image, plain)
    fresh.loras.unload(fresh.pipe)
    assert not getattr(fresh.pipe.transformer, "peft_config", None)
    assert np.array_equal(generate(fresh).image, plain)


@pytest.mark.parametrize("naming", ["kohya", "xlabs"])
def test_other_namings_convert_to_the_same_lora_as_diffusers_naming(fresh, tmp_path, naming):
    other, diff = other_naming(fresh.pipe.transformer, naming)
    k = save(tmp_path / f"{naming}.safetensors", other)
    d = save(tmp_path / "diffusers.safetensors", diff)
    plain = generate(fresh).image
    by_other = generate(fresh, [(k, 0.7)]).image
    by_diffusers = generate(fresh, [(d, 0.7)]).image
    assert np.abs(by_other.astype(int) - plain.astype(int)).mean() > 1.0
    assert np.abs(by_other.astype(int) - by_diffusers.astype(int)).max() <= 1


def test_two_loras_at_once_and_a_failing_one_loads_nothing(fresh, tmp_path):
    from rfedit_desktop.engine.tiny import tiny_flux

    a = save(tmp_path / "a.safetensors", peft_lora(fresh.pipe.transformer, seed=0))
    b = save(tmp_path / "b.safetensors", peft_lora(fresh.pipe.transformer, seed=5))
    other = save(tmp_path / "for-tiny.safetensors", peft_lora(tiny_flux(0).transformer))
    only_a = generate(fresh, [(a, 1.0)]).image
    both = generate(fresh, [(a, 1.0), (b, 1.0)])
    assert not np.array_equal(both.image, only_a)
    assert [x["name"] for x in both.metadata["loras"]] == ["a.safetensors", "b.safetensors"]
    fresh.loras.unload(fresh.pipe)
    before = generate(fresh, [(a, 1.0)]).image
    with pytest.raises(EditError, match=r"for-tiny\.safetensors does not fit this model"):
        generate(fresh, [(b, 1.0), (other, 1.0)])
    assert list(fresh.loras.adapters) == [fresh.loras.digest(a)]  # b was loaded, then removed
    assert list(fresh.pipe.transformer.peft_config) == [fresh.loras.adapters[fresh.loras.digest(a)]]
    assert np.array_equal(generate(fresh, [(a, 1.0)]).image, before)


def test_a_lora_for_other_shapes_or_another_architecture_is_refused_by_name(fresh, tmp_path):
    from rfedit_desktop.engine.tiny import tiny_flux

    tiny = save(tmp_path / "tiny-lora.safetensors", peft_lora(tiny_flux(0).transformer))
    with pytest.raises(EditError, match=r"tiny-lora\.safetensors does not fit.*maps 128 to 128"):
        generate(fresh, [(tiny, 1.0)])
    sdxl = save(tmp_path / "sdxl.safetensors", {
        "unet.down_blocks.0.attentions.0.proj_in.lora_A.weight": torch.ones(4, 320),
        "unet.down_blocks.0.attentions.0.proj_in.lora_B.weight": torch.ones(320, 4)})
    with pytest.raises(EditError, match=r"sdxl\.safetensors holds no LoRA weights for a FLUX"):
        generate(fresh, [(sdxl, 1.0)])
    alien = save(tmp_path / "alien.safetensors", {
        "transformer.blocks.0.attn.qkv.lora_A.weight": torch.ones(4, 128),
        "transformer.blocks.0.attn.qkv.lora_B.weight": torch.ones(128, 4)})
    with pytest.raises(EditError, match=r"alien\.safetensors does not fit.*blocks\.0\.attn\.qkv"):
        generate(fresh, [(alien, 1.0)])
    assert not fresh.loras.adapters
    assert not getattr(fresh.pipe.transformer, "peft_config", None)


def test_lora_weight_is_part_of_the_inversion_key_and_the_metadata(fresh, tmp_path):
    from rfedit_desktop.engine.pipeline import run_edit

    lora = save(tmp_path / "look.safetensors", peft_lora(fresh.pipe.transformer))
    image = np.full((64, 64, 3), 90, np.uint8)

    def edit(weight):
        return run_edit(fresh, EditRequest(image=image, prompt="a large blue star", steps=4,
                                           preview_every=0, loras=((lora, weight),)))

    first = edit(0.5)
    assert not first.cache_hit
    assert first.metadata["loras"] == [{"name": "look.safetensors", "path": lora,
                                        "digest": fresh.loras.digest(lora), "weight": 0.5}]
    assert not edit(0.8).cache_hit
    assert edit(0.5).cache_hit
    assert fresh.is_cached(EditRequest(image=image, prompt="x", steps=4, loras=((lora, 0.5),)))
    assert not fresh.is_cached(EditRequest(image=image, prompt="x", steps=4))


def test_bad_lora_files_are_named(tmp_path):
    good = save(tmp_path / "good.safetensors", {"a.lora_A.weight": torch.ones(2, 2)})
    data = open(good, "rb").read()
    (tmp_path / "cut.safetensors").write_bytes(data[:-5])
    (tmp_path / "empty.safetensors").write_bytes(b"")
    (tmp_path / "pickled.safetensors").write_bytes(pickle.dumps({"a": 1}, protocol=4))
    torch.save({"a": torch.ones(2)}, tmp_path / "old.pt")
    torch.save({"a": torch.ones(2)}, tmp_path / "zip.safetensors")
    cases = {"cut": "truncated", "empty": "empty", "pickled": "pickle", "zip": "pickle"}
    for stem, what in cases.items():
        with pytest.raises(EditError, match=rf"LoRA {stem}\.safetensors .*{what}"):
            check_lora_file(tmp_path / f"{stem}.safetensors")
    with pytest.raises(EditError, match=r"LoRA old\.pt is a pickle file"):
        check_lora_file(tmp_path / "old.pt")
    with pytest.raises(EditError, match="does not exist"):
        check_lora_file(tmp_path / "missing.safetensors")
    assert check_lora_file(good).name == "good.safetensors"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("style.safetensors", ("style.safetensors", 1.0)),
     ("style.safetensors:0.6", ("style.safetensors", 0.6)),
     ("C:\\loras\\style.safetensors", ("C:\\loras\\style.safetensors", 1.0)),
     ("C:\\loras\\style.safetensors:-0.5", ("C:\\loras\\style.safetensors", -0.5))],
)
def test_lora_arguments(text, expected):
    assert parse_lora_arg(text) == expected


@pytest.mark.parametrize("text", ["style.safetensors:strong", "style.safetensors:nan",
                                  "style.safetensors:1e9"])
def test_lora_weights_that_are_not_numbers_are_refused(text):
    with pytest.raises(EditError, match=r"LoRA style\.safetensors: weight .* is not a number"):
        parse_lora_arg(text)


def test_the_request_checks_its_loras():
    from rfedit_desktop.engine.validation import validate_request

    with pytest.raises(EditError, match="weight 'x' is not a number"):
        validate_request(EditRequest(image=None, prompt="", loras=(("a.safetensors", "x"),)))
    with pytest.raises(EditError, match="pair"):
        validate_request(EditRequest(image=None, prompt="", loras=("a.safetensors",)))


def test_cli_lora_errors_exit_2_before_the_model_loads(tmp_path, capsys):
    from rfedit_desktop.cli import main

    (tmp_path / "empty.safetensors").write_bytes(b"")
    out = str(tmp_path / "x.png")
    code = main(["generate", "--prompt", "a", "--out", out, "--model", "no-such-model-folder/x/y",
                 "--lora", str(tmp_path / "empty.safetensors"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "empty.safetensors is empty" in err[0]
    code = main(["generate", "--prompt", "a", "--out", out, "--model", "demo", "--quiet",
                 "--lora", f"{tmp_path / 'style.safetensors'}:heavy"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "weight 'heavy' is not a number" in err


def test_cli_generate_with_a_lora_records_it(tmp_path, capsys, engine):
    import json

    from rfedit_desktop.cli import main

    lora = save(tmp_path / "cli.safetensors", peft_lora(engine.pipe.transformer))
    out = tmp_path / "x.png"
    code = main(["generate", "--prompt", "a red circle", "--out", str(out), "--model", "demo",
                 "--device", "cpu", "--steps", "2", "--quiet", "--lora", f"{lora}:0.75"])
    assert code == 0
    from PIL import Image

    text = Image.open(out).text
    meta = json.loads(next(v for v in text.values() if "loras" in v))
    assert meta["loras"][0]["weight"] == 0.75 and meta["loras"][0]["name"] == "cli.safetensors"
