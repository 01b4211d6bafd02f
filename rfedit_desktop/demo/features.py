"""A small CNN that knows the demo world: its attributes (shape, colours, size, background
style) as a classifier, and its penultimate layer as the feature space for KID.

The paper measures realism with KID in Inception features; Inception knows nothing about
64-pixel flat shapes, so the benchmark uses a network trained on clean renders of this domain
instead. Trained on clean renders only, so rough strokes sit away from the clean cloud in its
feature space, which is what a realism measure needs.

    python -m rfedit_desktop.demo.features --out resources/demo/classifier.safetensors
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from .dataset import COLOURS, SHAPES, SIZES, STYLES, Scene, make_dataset

HEADS: dict[str, tuple[str, ...]] = {
    "shape": SHAPES,
    "colour": tuple(COLOURS),
    "background": tuple(COLOURS),
    "size": tuple(SIZES),
    "style": STYLES,
}
FEATURE_DIM = 128
CLASSIFIER_SEED = 21
DATA_SEED = 777


def build_classifier():
    """Four strided conv layers, global average pooling, one linear head per attribute."""
    import torch
    from torch import nn

    class DemoClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            chans = [3, 32, 64, 96, FEATURE_DIM]
            layers: list[nn.Module] = []
            for a, b in zip(chans[:-1], chans[1:], strict=True):
                layers += [nn.Conv2d(a, b, 3, stride=2, padding=1), nn.GroupNorm(8, b), nn.SiLU()]
            self.body = nn.Sequential(*layers)
            self.heads = nn.ModuleDict(
                {k: nn.Linear(FEATURE_DIM, len(v)) for k, v in HEADS.items()}
            )

        def features(self, x: torch.Tensor) -> torch.Tensor:
            return self.body(x).mean(dim=(2, 3))

        def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
            f = self.features(x)
            return {k: h(f) for k, h in self.heads.items()}

    torch.manual_seed(CLASSIFIER_SEED)
    return DemoClassifier()


def to_input(images: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def labels(scenes: list[Scene]):
    import torch

    return {k: torch.tensor([v.index(getattr(s, k)) for s in scenes]) for k, v in HEADS.items()}


def train_classifier(steps: int = 1200, batch: int = 64, n_images: int = 12000, log=print):
    import torch

    net = build_classifier()
    images, scenes = make_dataset(n_images, DATA_SEED)
    x_all, y_all = to_input(images), labels(scenes)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3)
    gen = torch.Generator().manual_seed(CLASSIFIER_SEED)
    for step in range(steps):
        idx = torch.randint(0, n_images, (batch,), generator=gen)
        x = x_all[idx]
        # mild colour and noise jitter, so that a near-miss generation still gets classified
        x = x + 0.03 * torch.randn(x.shape, generator=gen)
        out = net(x)
        loss = sum(torch.nn.functional.cross_entropy(out[k], y_all[k][idx]) for k in HEADS)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            log(f"classifier step {step}/{steps} loss {loss.item():.4f}")
    return net.eval()


def load_classifier(path: str | Path):
    from safetensors.torch import load_file

    net = build_classifier()
    net.load_state_dict(load_file(str(path)))
    return net.eval()


def default_path() -> Path:
    from ..paths import resources_dir

    return resources_dir() / "demo" / "classifier.safetensors"


def embed(net, images: np.ndarray, batch: int = 256) -> np.ndarray:
    """Penultimate features, N x FEATURE_DIM float64."""
    import torch

    out = []
    with torch.inference_mode():
        for i in range(0, len(images), batch):
            out.append(net.features(to_input(images[i : i + batch])).double().numpy())
    return np.concatenate(out) if out else np.zeros((0, FEATURE_DIM))


def predict(net, images: np.ndarray) -> dict[str, list[str]]:
    """Attribute names predicted for each image."""
    import torch

    with torch.inference_mode():
        out = net(to_input(images))
    return {k: [HEADS[k][i] for i in out[k].argmax(1).tolist()] for k in HEADS}


def accuracy(
    net, images: np.ndarray, scenes: list[Scene], keys=("shape", "colour", "background")
) -> dict[str, float]:
    """Fraction of images whose predicted attribute matches the scene's, per attribute, plus
    `all` (every listed attribute right)."""
    pred = predict(net, images)
    res: dict[str, float] = {}
    ok_all = np.ones(len(scenes), bool)
    for k in keys:
        ok = np.array([p == getattr(s, k) for p, s in zip(pred[k], scenes, strict=True)])
        res[k] = float(ok.mean()) if len(ok) else float("nan")
        ok_all &= ok
    res["all"] = float(ok_all.mean()) if len(scenes) else float("nan")
    return res


def kid(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased squared MMD with the cubic polynomial kernel (Binkowski et al.'s KID)."""
    if len(x) < 2 or len(y) < 2:
        raise ValueError("KID needs at least two samples on each side")
    d = x.shape[1]

    def k(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (a @ b.T / d + 1.0) ** 3

    m, n = len(x), len(y)
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    sxx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    syy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(sxx + syy - 2 * kxy.mean())


def main(argv: list[str] | None = None) -> int:
    import torch
    from safetensors.torch import save_file

    ap = argparse.ArgumentParser(description="Train the demo-domain classifier/feature network.")
    ap.add_argument("--out", type=Path, default=default_path())
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.monotonic()
    net = train_classifier(args.steps)
    test_images, test_scenes = make_dataset(1000, DATA_SEED + 1)
    acc = accuracy(net, test_images, test_scenes, keys=tuple(HEADS))
    print(f"held-out accuracy: {acc} ({time.monotonic() - t0:.0f} s)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(args.out))
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
