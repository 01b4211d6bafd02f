"""The shipped demo model: loads offline as a stock FluxPipeline, is deterministic, uses its
text, and round-trips an image through RF-Inversion with eta = 1."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rfedit_desktop.paths import demo_model_dir

FOLDER = demo_model_dir()
pytestmark = pytest.mark.skipif(
    not (FOLDER / "model_index.json").exists(),
    reason=f"demo model not trained yet ({FOLDER}); run python -m rfedit_desktop.demo.train",
)


@pytest.fixture(scope="module")
def pipe():
    import torch
    from diffusers import FluxPipeline

    torch.set_num_threads(1)
    return FluxPipeline.from_pretrained(FOLDER, local_files_only=True, use_safetensors=True)


@pytest.fixture(scope="module")
def engine():
    from rfedit_desktop.demo.runtime import load_demo_engine

    return load_demo_engine()


def test_folder_is_small_safetensors_only_and_described():
    files = [p for p in FOLDER.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= 25 * 1024 * 1024
    assert not [p for p in files if p.suffix in (".bin", ".pt", ".pth", ".ckpt", ".pkl")]
    settings = json.loads((FOLDER / "rfedit.json").read_text())
    assert settings["name"] == "demo" and settings["resolution"] == 64
    factors = np.asarray(settings["latent_rgb_factors"])
    assert factors.shape == (4, 3) and len(settings["latent_rgb_bias"]) == 3
    assert settings["description"]
    defaults = settings["edit_defaults"]
    assert set(defaults) <= {"eta", "start", "stop", "strength", "gamma"}
    assert all(0.0 <= float(v) <= 1.0 for v in defaults.values())
    assert defaults.get("start", 0.0) < defaults.get("stop", 1.0)


def test_loads_offline_as_the_flux_classes(pipe):
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxTransformer2DModel
    from transformers import CLIPTextModel, T5EncoderModel

    assert isinstance(pipe.transformer, FluxTransformer2DModel)
    assert isinstance(pipe.vae, AutoencoderKL)
    assert isinstance(pipe.text_encoder, CLIPTextModel)
    assert isinstance(pipe.text_encoder_2, T5EncoderModel)
    assert isinstance(pipe.scheduler, FlowMatchEulerDiscreteScheduler)
    # the grid's shift is the one training drew its noise levels with (SD3's static rule)
    from rfedit_desktop.demo.architecture import SCHEDULER_CONFIG

    for key in ("shift", "use_dynamic_shifting"):
        assert pipe.scheduler.config[key] == SCHEDULER_CONFIG[key], key
    # shift/scale were measured on the training latents, not left at their defaults
    assert pipe.vae.config.shift_factor != 0.0 and pipe.vae.config.scaling_factor != 1.0
    # every demo word is one T5 token
    ids = pipe.tokenizer_2("a large red circle on a blue background").input_ids
    assert len(ids) == 9  # 8 words + </s>


def _generate(pipe, prompt: str, seed: int, steps: int = 12) -> np.ndarray:
    import torch

    out = pipe(
        prompt=prompt,
        height=64,
        width=64,
        num_inference_steps=steps,
        generator=torch.Generator().manual_seed(seed),
        max_sequence_length=pipe.tokenizer_2.model_max_length,
        output_type="np",
    ).images[0]
    return (out * 255).round().astype(np.uint8)


def test_seeded_generation_is_deterministic(pipe):
    a = _generate(pipe, "a large red circle on a blue background", seed=3)
    b = _generate(pipe, "a large red circle on a blue background", seed=3)
    c = _generate(pipe, "a large red circle on a blue background", seed=4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_the_model_follows_the_caption(pipe):
    """Colours named in the prompt come out: the transformer learned to read the text."""
    from rfedit_desktop.demo.features import load_classifier, predict

    net = load_classifier(FOLDER.parent / "demo" / "classifier.safetensors")
    prompts = {
        ("red", "blue"): "a large red square on a blue background",
        ("yellow", "black"): "a large yellow square on a black background",
        ("white", "green"): "a large white square on a green background",
    }
    images = np.stack([_generate(pipe, p, seed=0, steps=20) for p in prompts.values()])
    pred = predict(net, images)
    hits = sum(
        (c, b) == (pc, pb)
        for (c, b), pc, pb in zip(prompts, pred["colour"], pred["background"], strict=True)
    )
    assert hits >= 2, pred


def test_eta_one_over_all_steps_returns_the_input(engine):
    from rfedit_desktop.demo.dataset import Scene, render
    from rfedit_desktop.engine import EditRequest, run_edit
    from rfedit_desktop.engine.latents import decode_latent, encode_image

    src = render(Scene("star", "yellow", "purple", "large", "plain", 0.5, 0.5, 0.3))
    req = EditRequest(
        image=src,
        prompt="a large green heart on a white background",  # a very different prompt
        eta=1.0,
        start=0.0,
        stop=1.0,
        steps=8,
        seed=1,
        keep_detail=False,  # the decoded latent itself, not the photo's detail put back
    )
    out = run_edit(engine, req).image
    vae_round_trip = decode_latent(engine, encode_image(engine, src), 64, 64)
    # eta = 1 ends exactly on y0, so the result is the VAE round trip of the input ...
    assert np.abs(out.astype(int) - vae_round_trip.astype(int)).max() <= 1
    # ... which is close to the input itself
    assert np.abs(out.astype(int) - src.astype(int)).mean() < 8


def test_engine_info_carries_the_prompt_grammar(engine):
    grammar = engine.info()["prompt_grammar"]
    assert grammar["example"] == "a large red circle on a blue gradient background"
    assert {"circle", "heart", "gradient", "purple"} <= set(grammar["words"])
