"""The demo model's world: one coloured shape on a plain or gradient background, with a caption.

The domain is small enough to train a Flux-architecture model on a laptop CPU, yet it has what
RF-Inversion edits need: a shape a person can rough out with a brush (stroke-to-image) and
attributes a prompt can change (colour, shape, size, background). Everything is drawn with
Pillow at 4x and box-filtered down, so edges are anti-aliased, and everything follows from a
seed, so the training set and the benchmark inputs are reproducible bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageDraw

RESOLUTION = 64
SUPERSAMPLE = 4

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "orange": (245, 140, 30),
    "yellow": (240, 220, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "purple": (140, 60, 190),
    "white": (245, 245, 245),
    "black": (25, 25, 25),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "heart")
SIZES: dict[str, tuple[float, float]] = {"small": (0.13, 0.19), "large": (0.24, 0.34)}
STYLES: tuple[str, ...] = ("plain", "gradient")


@dataclass(frozen=True)
class Scene:
    """Everything needed to draw one picture. Geometry is in fractions of the image side."""

    shape: str
    colour: str
    background: str
    size: str = "large"
    style: str = "plain"
    cx: float = 0.5
    cy: float = 0.5
    radius: float = 0.28

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ValueError(f"unknown shape {self.shape!r}; known: {', '.join(SHAPES)}")
        for c in (self.colour, self.background):
            if c not in COLOURS:
                raise ValueError(f"unknown colour {c!r}; known: {', '.join(COLOURS)}")
        if self.size not in SIZES:
            raise ValueError(f"unknown size {self.size!r}")
        if self.style not in STYLES:
            raise ValueError(f"unknown background style {self.style!r}")

    @property
    def caption(self) -> str:
        bg = f"{self.background} gradient" if self.style == "gradient" else self.background
        return f"a {self.size} {self.colour} {self.shape} on a {bg} background"

    def with_(self, **changes) -> Scene:
        """A copy with some attributes changed (used to build edit targets)."""
        return replace(self, **changes)


def vocabulary() -> list[str]:
    """Every word a caption can contain, for the offline tokenizers."""
    words = ["a", "on", "background", "gradient", *SIZES, *COLOURS, *SHAPES]
    return list(dict.fromkeys(words))


def prompt_grammar() -> dict[str, object]:
    """The grammar as the model's rfedit.json states it, for the window's hint and completer."""
    return {"example": Scene("circle", "red", "blue", "large", "gradient").caption,
            "words": vocabulary()}


def all_captions() -> list[str]:
    """Every caption the grammar can produce (the text encoders are fixed, so these are cached)."""
    out = []
    for size in SIZES:
        for colour in COLOURS:
            for shape in SHAPES:
                for bg in COLOURS:
                    if bg == colour:
                        continue
                    for style in STYLES:
                        out.append(Scene(shape, colour, bg, size, style).caption)
    return out


def parse_caption(text: str) -> Scene:
    """The scene a caption describes (centre placement). Raises ValueError on other grammar."""
    words = text.lower().replace(",", " ").split()
    try:
        i = words.index("on")
    except ValueError as exc:
        raise ValueError(f"not a demo caption: {text!r}") from exc
    obj, rest = words[:i], words[i + 1 :]
    if obj and obj[0] == "a":
        obj = obj[1:]
    if rest and rest[0] == "a":
        rest = rest[1:]
    size = obj[0] if obj and obj[0] in SIZES else "large"
    obj = obj[1:] if obj and obj[0] in SIZES else obj
    if len(obj) != 2 or not rest or rest[-1] != "background":
        raise ValueError(f"not a demo caption: {text!r}")
    style = "gradient" if "gradient" in rest else "plain"
    radius = sum(SIZES[size]) / 2
    return Scene(obj[1], obj[0], rest[0], size, style, 0.5, 0.5, radius)


def random_scene(rng: np.random.Generator) -> Scene:
    """A scene with every attribute drawn uniformly; the object never touches the border."""
    names = list(COLOURS)
    colour = names[rng.integers(len(names))]
    background = names[rng.integers(len(names) - 1)]
    if background == colour:
        background = names[-1]
    shape = SHAPES[rng.integers(len(SHAPES))]
    size = list(SIZES)[rng.integers(len(SIZES))]
    style = STYLES[rng.integers(len(STYLES))]
    lo, hi = SIZES[size]
    radius = float(rng.uniform(lo, hi))
    margin = radius + 0.04
    cx = float(rng.uniform(margin, 1 - margin))
    cy = float(rng.uniform(margin, 1 - margin))
    return Scene(shape, colour, background, size, style, cx, cy, radius)


def shape_polygon(
    shape: str, cx: float, cy: float, r: float, n: int = 96
) -> list[tuple[float, float]]:
    """Outline of a shape as points (in the caller's units). Circles are polygons too, so that
    the stroke generator can wobble any outline the same way."""
    if shape == "circle":
        return [
            (cx + r * math.cos(t), cy + r * math.sin(t))
            for t in np.linspace(0, 2 * math.pi, n, endpoint=False)
        ]
    if shape == "square":
        s = r * 0.86
        return [(cx - s, cy - s), (cx + s, cy - s), (cx + s, cy + s), (cx - s, cy + s)]
    if shape == "triangle":
        return [
            (cx + r * math.cos(a), cy + 0.12 * r + r * math.sin(a))
            for a in (-math.pi / 2, math.pi / 6, 5 * math.pi / 6)
        ]
    if shape == "star":
        pts = []
        for k in range(10):
            a = -math.pi / 2 + k * math.pi / 5
            rr = r if k % 2 == 0 else r * 0.45
            pts.append((cx + rr * math.cos(a), cy + 0.05 * r + rr * math.sin(a)))
        return pts
    if shape == "heart":
        pts = []
        for t in np.linspace(0, 2 * math.pi, n, endpoint=False):
            x = 16 * math.sin(t) ** 3
            y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
            pts.append((cx + r * x / 16.5, cy - r * (y + 2.5) / 16.5))
        return pts
    raise ValueError(f"unknown shape {shape!r}")


def background_array(colour: tuple[int, int, int], style: str, size: int) -> np.ndarray:
    """A plain fill, or a vertical gradient from a lighter to a darker shade of the colour."""
    base = np.asarray(colour, np.float32)
    if style == "plain":
        return np.broadcast_to(base, (size, size, 3)).copy()
    t = np.linspace(0.0, 1.0, size, dtype=np.float32)[:, None, None]
    light = base + (255 - base) * 0.45
    dark = base * 0.55
    col = light * (1 - t) + dark * t
    return np.broadcast_to(col, (size, size, 3)).copy()


def render(
    scene: Scene, resolution: int = RESOLUTION, supersample: int = SUPERSAMPLE
) -> np.ndarray:
    """The clean picture of a scene, HxWx3 uint8, anti-aliased by supersampling."""
    big = resolution * supersample
    bg = background_array(COLOURS[scene.background], scene.style, big)
    img = Image.fromarray(np.clip(bg + 0.5, 0, 255).astype(np.uint8))
    pts = shape_polygon(scene.shape, scene.cx * big, scene.cy * big, scene.radius * big)
    ImageDraw.Draw(img).polygon(pts, fill=COLOURS[scene.colour])
    return np.asarray(img.resize((resolution, resolution), Image.Resampling.BOX))


def object_mask(
    scene: Scene, resolution: int = RESOLUTION, supersample: int = SUPERSAMPLE
) -> np.ndarray:
    """Fraction of each pixel covered by the object, HxW float32 in [0, 1]."""
    big = resolution * supersample
    img = Image.new("L", (big, big), 0)
    pts = shape_polygon(scene.shape, scene.cx * big, scene.cy * big, scene.radius * big)
    ImageDraw.Draw(img).polygon(pts, fill=255)
    small = img.resize((resolution, resolution), Image.Resampling.BOX)
    return np.asarray(small, np.float32) / 255.0


def make_dataset(n: int, seed: int, resolution: int = RESOLUTION) -> tuple[np.ndarray, list[Scene]]:
    """`n` scenes and their pictures (n x H x W x 3 uint8), the same for the same seed."""
    if n < 0:
        raise ValueError("n must be >= 0")
    rng = np.random.default_rng(seed)
    scenes = [random_scene(rng) for _ in range(n)]
    images = np.zeros((n, resolution, resolution, 3), np.uint8)
    for i, s in enumerate(scenes):
        images[i] = render(s, resolution)
    return images, scenes
