"""Train the demo model on a CPU: the VAE first, then the transformer with rectified flow.

    python -m rfedit_desktop.demo.train --out resources/demo-model [--minutes M] [--quick]

Everything comes from fixed seeds (scenes, initial weights, noise), so a rerun with the same
step counts and thread count should repeat the run (not checked bit for bit). `--minutes` is a cap:
the step counts are fixed; if the cap is hit, training stops early and the last state is saved.
The folder is rewritten at every checkpoint, so a stopped run still leaves a loadable model.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from .architecture import (
    SIGMA_SHIFT,
    T5_MAX_LENGTH,
    assemble_pipeline,
    build_transformer,
    build_vae,
)
from .dataset import (
    RESOLUTION,
    all_captions,
    make_dataset,
    prompt_grammar,
    random_scene,
    render,
)

DATA_SEED = 2024
VAE_SEED = 11
TRANSFORMER_SEED = 12
NOISE_SEED = 13


class Log:
    """Loss lines to stdout and to a file, flushed at once (the run is watched with tail -f)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = path.open("a", encoding="utf-8")
        self.t0 = time.monotonic()

    def __call__(self, msg: str) -> None:
        line = f"[{time.monotonic() - self.t0:7.1f}s] {msg}"
        print(line, flush=True)
        self.file.write(line + "\n")
        self.file.flush()


def to_tensor(images: np.ndarray):
    """uint8 NxHxWx3 -> float Nx3xHxW in [-1, 1] (the VAE's range)."""
    import torch

    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def lr_at(step: int, total: int, peak: float, warmup: int) -> float:
    """Linear warm-up, then cosine decay to 5% of the peak."""
    if step < warmup:
        return peak * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return peak * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, p))))


CROP_FRACTION = 0.8


def _crop(img: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    y, x = rng.integers(0, img.shape[0] - size + 1, 2)
    return img[y : y + size, x : x + size]


def train_vae(steps: int, batch: int, deadline: float, log: Log):
    """Autoencoder on freshly drawn scenes: L1 + MSE on pixels plus a weak KL term."""
    import torch

    vae = build_vae(VAE_SEED).train()
    opt = torch.optim.AdamW(vae.parameters(), lr=1e-3, weight_decay=0.0)
    rng = np.random.default_rng(DATA_SEED + 1)
    gen = torch.Generator().manual_seed(NOISE_SEED)
    avg = None
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, steps, 2e-3, 50)
        if step < int(steps * CROP_FRACTION):
            # 32x32 crops for most steps: a quarter of the compute per sample, and the model is
            # fully convolutional; the last steps see whole pictures (GroupNorm statistics)
            imgs = np.stack([_crop(render(random_scene(rng)), rng, 32) for _ in range(batch)])
        else:
            imgs = np.stack([render(random_scene(rng)) for _ in range(batch // 2)])
        x = to_tensor(imgs)
        post = vae.encode(x).latent_dist
        z = post.mean + post.std * torch.randn(post.mean.shape, generator=gen)
        rec = vae.decode(z).sample
        rec_loss = (rec - x).abs().mean() + (rec - x).pow(2).mean()
        kl = post.kl().mean() / z[0].numel()
        loss = rec_loss + 1e-6 * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        avg = rec_loss.item() if avg is None else 0.95 * avg + 0.05 * rec_loss.item()
        if step % 25 == 0 or step == steps - 1:
            log(f"vae step {step}/{steps} rec {avg:.4f} kl {kl.item():.3f}")
        if time.monotonic() > deadline:
            log(f"vae: time cap reached at step {step}")
            break
    return vae.eval()


def encode_latents(vae, images: np.ndarray, batch: int = 128):
    """Posterior means (deterministic), N x C x h x w."""
    import torch

    out = []
    with torch.inference_mode():
        for i in range(0, len(images), batch):
            out.append(vae.encode(to_tensor(images[i : i + batch])).latent_dist.mean)
    return torch.cat(out)


def fit_latent_rgb(latents_norm, images: np.ndarray) -> tuple[list[list[float]], list[float]]:
    """Least-squares C x 3 factors + bias from normalised latents to RGB in [-1, 1], with the
    images box-downsampled to the latent grid (what the engine's live preview draws)."""
    import torch

    n, c, h, w = latents_norm.shape
    f = images.shape[1] // h
    small = images.reshape(n, h, f, w, f, 3).astype(np.float64).mean(axis=(2, 4)) / 127.5 - 1.0
    x = latents_norm.permute(0, 2, 3, 1).reshape(-1, c).double().numpy()
    x = np.concatenate([x, np.ones((len(x), 1))], axis=1)
    y = small.reshape(-1, 3)
    sol, *_ = np.linalg.lstsq(x, y, rcond=None)
    del torch
    return sol[:c].round(5).tolist(), sol[c].round(5).tolist()


def pack(latents):
    """N x C x h x w -> N x (h/2 * w/2) x 4C, the Flux token layout."""
    n, c, h, w = latents.shape
    x = latents.view(n, c, h // 2, 2, w // 2, 2).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(n, (h // 2) * (w // 2), c * 4)


def shifted_sigmas(u, shift: float):
    """SD3's static time shift `k u / (1 + (k - 1) u)` applied to samples u in (0, 1): k > 1
    moves sigma towards 1, where the outline of the object is decided."""
    return shift * u / (1.0 + (shift - 1.0) * u)


def train_transformer(
    pipe, tokens, caption_idx, text, steps, batch, deadline, log, checkpoint, lr=3e-3
):
    """Rectified flow: x_s = (1-s) x0 + s e, regress e - x0; logit-normal s shifted by the
    scheduler's static shift (so training and sampling weight the same noise levels); 10% of
    captions dropped to the empty prompt."""
    import torch

    embeds, pooled, empty = text
    tr = pipe.transformer.train()
    opt = torch.optim.AdamW(tr.parameters(), lr=lr, weight_decay=0.0, betas=(0.9, 0.99))
    gen = torch.Generator().manual_seed(NOISE_SEED + 1)
    n, seq, _ = tokens.shape
    side = int(math.isqrt(seq))
    img_ids = pipe._prepare_latent_image_ids(1, side, side, "cpu", torch.float32)
    txt_ids = torch.zeros(T5_MAX_LENGTH, 3)
    avg = None
    t_start = time.monotonic()
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, steps, lr, 100)
        idx = torch.randint(0, n, (batch,), generator=gen)
        x0 = tokens[idx]
        cap = caption_idx[idx].clone()
        cap[torch.rand(batch, generator=gen) < 0.1] = empty
        u = torch.sigmoid(torch.randn(batch, generator=gen))
        s = shifted_sigmas(u, SIGMA_SHIFT).clamp(1e-4, 1.0)
        e = torch.randn(x0.shape, generator=gen)
        xs = (1 - s)[:, None, None] * x0 + s[:, None, None] * e
        pred = tr(
            hidden_states=xs,
            timestep=s,
            pooled_projections=pooled[cap],
            encoder_hidden_states=embeds[cap],
            txt_ids=txt_ids,
            img_ids=img_ids,
            return_dict=False,
        )[0]
        loss = (pred - (e - x0)).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(tr.parameters(), 1.0)
        opt.step()
        avg = loss.item() if avg is None else 0.98 * avg + 0.02 * loss.item()
        if step % 25 == 0 or step == steps - 1:
            rate = (step + 1) / (time.monotonic() - t_start)
            log(f"transformer step {step}/{steps} loss {avg:.4f} ({rate:.2f} steps/s)")
        if checkpoint and step > 0 and step % checkpoint == 0:
            tr.eval()
            yield step
            tr.train()
        if time.monotonic() > deadline:
            log(f"transformer: time cap reached at step {step}")
            break
    tr.eval()
    log(f"transformer final loss (running mean) {avg:.4f}")


def save(pipe, out: Path, settings: dict, log: Log) -> None:
    out.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(out, safe_serialization=True)
    (out / "rfedit.json").write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    log(f"saved {out} ({size / 1e6:.1f} MB)")


def sample_grid(pipe, captions: list[str], path: Path, seed: int = 0, steps: int = 28) -> None:
    """Generate one picture per caption through the stock FluxPipeline and tile them."""
    import torch
    from PIL import Image

    gen = torch.Generator().manual_seed(seed)
    with torch.inference_mode():
        imgs = pipe(
            prompt=captions,
            height=RESOLUTION,
            width=RESOLUTION,
            num_inference_steps=steps,
            generator=gen,
            max_sequence_length=T5_MAX_LENGTH,
            output_type="np",
        ).images
    cols = min(8, len(captions))
    rows = math.ceil(len(captions) / cols)
    grid = np.zeros((rows * RESOLUTION, cols * RESOLUTION, 3), np.uint8)
    for i, im in enumerate(imgs):
        r, c = divmod(i, cols)
        grid[r * RESOLUTION : (r + 1) * RESOLUTION, c * RESOLUTION : (c + 1) * RESOLUTION] = (
            np.clip(im * 255 + 0.5, 0, 255).astype(np.uint8)
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).resize(
        (grid.shape[1] * 2, grid.shape[0] * 2), Image.Resampling.NEAREST
    ).save(path)


# What the CLI/GUI may use as this model's edit defaults (rfedit.json "edit_defaults"): on the
# demo model, inverting only to strength 0.7 kept the source closer and hit the new prompt more
# often than a full inversion (docs/demo.md, "Edit defaults").
EDIT_DEFAULTS = {"eta": 0.9, "start": 0.0, "stop": 0.25, "strength": 0.7}

PREVIEW_CAPTIONS = [
    "a large red circle on a blue background",
    "a large green square on a white background",
    "a large yellow star on a black background",
    "a large blue triangle on a yellow background",
    "a large purple heart on a white background",
    "a small orange circle on a green gradient background",
    "a large white star on a purple gradient background",
    "a large black square on a orange background",
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("resources/demo-model"))
    ap.add_argument("--minutes", type=float, default=45.0, help="wall-clock cap for the whole run")
    ap.add_argument("--quick", action="store_true", help="a smoke run of a few steps")
    ap.add_argument("--vae-steps", type=int, default=2000)
    ap.add_argument("--steps", type=int, default=5500, help="transformer steps")
    ap.add_argument("--images", type=int, default=16000, help="training images for the transformer")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3, help="transformer peak learning rate")
    ap.add_argument(
        "--threads",
        type=int,
        default=2,
        help="torch threads (the shipped run: 2, on a quiet 2-core machine, 3 steps/s; under "
        "heavy load from other work 1 thread was faster)",
    )
    ap.add_argument("--log", type=Path, default=None)
    ap.add_argument("--vae-from", type=Path, default=None, help="reuse the VAE of a model folder")
    ap.add_argument("--preview-dir", type=Path, default=Path(".tmp/demo-train"))
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.quick:
        args.vae_steps, args.steps, args.images = 20, 30, 256
    log = Log(args.log or args.preview_dir / "train.log")
    t0 = time.monotonic()
    deadline = t0 + args.minutes * 60
    log(f"config: {vars(args)}")

    vae_deadline = t0 + min(args.minutes * 0.25, 12) * 60
    if args.vae_from:
        from diffusers import AutoencoderKL

        vae = AutoencoderKL.from_pretrained(args.vae_from, subfolder="vae", local_files_only=True)
        vae.register_to_config(shift_factor=0.0, scaling_factor=1.0)
        log(f"VAE loaded from {args.vae_from} (not trained again)")
    else:
        vae = train_vae(args.vae_steps, 32, vae_deadline, log)
    t_vae = time.monotonic() - t0

    images, scenes = make_dataset(args.images, DATA_SEED)
    lat = encode_latents(vae, images)
    shift = float(lat.mean())
    scale = float(1.0 / lat.std())
    vae.register_to_config(shift_factor=round(shift, 5), scaling_factor=round(scale, 5))
    shift, scale = vae.config.shift_factor, vae.config.scaling_factor
    lat_norm = (lat - shift) * scale
    factors, bias = fit_latent_rgb(lat_norm, images)
    with torch.inference_mode():
        rec = vae.decode(lat[:256]).sample
    psnr = -10 * math.log10(((rec - to_tensor(images[:256])) / 2).pow(2).mean().item())
    log(f"latents {tuple(lat.shape)} shift {shift:.4f} scale {scale:.4f}; VAE PSNR {psnr:.2f} dB")

    tr = build_transformer(TRANSFORMER_SEED)
    pipe = assemble_pipeline(vae, tr)
    captions = all_captions() + [""]
    index = {c: i for i, c in enumerate(captions)}
    with torch.inference_mode():
        embeds, pooled, _ = pipe.encode_prompt(
            captions, None, device=torch.device("cpu"), max_sequence_length=T5_MAX_LENGTH
        )
    caption_idx = torch.tensor([index[s.caption] for s in scenes])
    tokens = pack(lat_norm).contiguous()

    settings = {
        "name": "demo",
        "resolution": RESOLUTION,
        "latent_rgb_factors": factors,
        "latent_rgb_bias": bias,
        "default_guidance": 1.0,
        "edit_defaults": EDIT_DEFAULTS,
        "max_sequence_length": T5_MAX_LENGTH,
        "prompt_grammar": prompt_grammar(),
        "description": (
            "rfedit's demo model: FLUX.1's architecture scaled down (2.3 M-parameter transformer, "
            "4x VAE with 4 latent channels, small random fixed CLIP/T5), trained by "
            "rfedit_desktop.demo.train on 64x64 procedural scenes: one circle, square, triangle, "
            "star or heart in red, orange, yellow, green, blue, purple, white or black, small or "
            "large, on a plain or gradient background of another of those colours. "
            "Prompt grammar: 'a large red circle on a blue gradient background'. "
            "Images are resized to 64x64 for it. No guidance embedding (guidance is ignored)."
        ),
        "training": {},
    }
    checkpoint = max(1, args.steps // 6) if not args.quick else 0
    t1 = time.monotonic()
    for step in train_transformer(
        pipe,
        tokens,
        caption_idx,
        (embeds, pooled, index[""]),
        args.steps,
        args.batch,
        deadline,
        log,
        checkpoint,
        args.lr,
    ):
        settings["training"] = {"transformer_steps": step, "checkpoint": True}
        save(pipe, args.out, settings, log)
        sample_grid(pipe, PREVIEW_CAPTIONS, args.preview_dir / f"samples_{step:05d}.png", steps=20)
    t_tr = time.monotonic() - t1
    settings["training"] = {
        "vae_steps": args.vae_steps,
        "transformer_steps": args.steps,
        "images": args.images,
        "batch": args.batch,
        "lr": args.lr,
        "sigma_shift": SIGMA_SHIFT,
        "vae_minutes": round(t_vae / 60, 1),
        "transformer_minutes": round(t_tr / 60, 1),
        "vae_psnr_db": round(psnr, 2),
        "threads": args.threads,
    }
    save(pipe, args.out, settings, log)
    sample_grid(pipe, PREVIEW_CAPTIONS, args.preview_dir / "samples_final.png")
    log(f"done in {(time.monotonic() - t0) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
