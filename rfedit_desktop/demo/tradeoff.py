"""The paper's faithfulness/realism comparison (its Table 1) redone on the demo model.

Stroke-to-image: each input is a rough painting of a demo scene (strokes.py), the prompt is
that scene's caption. Every method runs through the engine's `run_edit`, with the same seeds,
at equal model evaluations (2N = 56 per edit): RF-Inversion inverts N = 28 steps and edits 28;
ODE inversion at strength s runs on a grid of N/s steps, so it inverts and edits about N;
SDEdit at strength s runs on a grid of 2N/s steps and spends all 2N denoising. Each method's own knob is swept:

- RF-Inversion: eta, inside the paper's stroke-to-image window (steps 3 to 5 of 28), gamma 0.5;
- SDEdit: strength (how far the strokes are noised);
- ODE inversion (gamma = eta = 0): strength (how far the strokes are inverted);
- RF-Solver: strength, on a grid of 14/s steps (2 NFE per step each way: 4 x 14 = 56);
- FireFlow: strength, on a grid of 27/s steps ((27 + 1) NFE each way: 56);
- FlowEdit: n_max/N, editing n_max = 28 steps of a grid of 28/f (2 NFE per step: 56), n_min 0,
  n_avg 1; its source prompt is empty, as RF-Inversion's, and every method runs at guidance 1.

Faithfulness: L2 distance between output and stroke input (pixels in [0, 1], 64x64x3, lower
is more faithful). Realism: KID between outputs and clean renders of other scenes, in the
feature space of the demo classifier (features.py; x1000, lower is more realistic); plus the
classifier's accuracy on the scene's shape, colour and background.

Keep-detail is off: it is a post-process that puts the input's own fine detail back where an
edit left the picture alone, so on stroke inputs it would pull every method towards the strokes
and measure itself, not the method.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .dataset import make_dataset
from .features import accuracy, embed, kid
from .strokes import stroke_set

STROKE_SEED = 4242
REFERENCE_SEED = 999
STROKE_START, STROKE_STOP = 3 / 28, 5 / 28  # the paper's stroke-to-image preset window
# two readings of RF-Inversion's controller: the paper's stroke-to-image preset (eta on steps 3
# to 5 of 28) and the diffusers example's window (eta on steps 0 to 7)
RF_FAMILIES = (
    ("rf-inversion", STROKE_START, STROKE_STOP),
    ("rf-inversion 0-7", 0.0, 7 / 28),
)
RF_TRUNCATED = "rf-inversion truncated"
BASELINES = ("sdedit", "ode")
NEWER = ("rf-solver", "fireflow", "flowedit")
"""Judged against RF-Inversion (the paper's window) and both baselines."""
LEGEND = {
    "rf-inversion": "RF-Inv. eta, steps 3-5",
    "rf-inversion 0-7": "RF-Inv. eta, steps 0-7",
    RF_TRUNCATED: "RF-Inv. strength, eta .9",
    "sdedit": "SDEdit (strength)",
    "ode": "ODE inversion (strength)",
    "rf-solver": "RF-Solver (strength)",
    "fireflow": "FireFlow (strength)",
    "flowedit": "FlowEdit (n_max/N)",
}


@dataclass(frozen=True)
class Setting:
    """One point of a sweep: a method, its knob's value and the request fields it sets."""

    method: str
    knob: str
    value: float
    fields: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def label(self) -> str:
        return f"{self.method} {self.knob}={self.value:g}"


def default_settings(steps: int = 28) -> list[Setting]:
    """The sweeps of the benchmark, at equal NFE per strength (see the module docstring)."""
    out: list[Setting] = []
    for family, start, stop in RF_FAMILIES:
        for eta in (0.5, 0.7, 0.8, 0.9, 1.0):
            fields = dict(
                method="rf-inversion",
                steps=steps,
                eta=eta,
                gamma=0.5,
                start=start,
                stop=stop,
                strength=1.0,
            )
            out.append(Setting(family, "eta", eta, fields))
    # RF-Inversion truncated like SDEdit: invert only to strength s (grid N/s, so ~N steps
    # each way), eta 0.9 on the first quarter of the editing steps
    from ..flow import start_index

    for st in (0.6, 0.7, 0.8, 0.9):
        n = round(steps / st)
        k0 = start_index(n, st)
        stop = (k0 + round(0.25 * (n - k0))) / n
        fields = dict(
            method="rf-inversion", steps=n, eta=0.9, gamma=0.5, start=k0 / n, stop=stop, strength=st
        )
        out.append(Setting(RF_TRUNCATED, "strength", st, fields))
    # the grids of the baselines are stretched so that every point costs 2N evaluations
    for s in (0.5, 0.6, 0.7, 0.8, 0.9):
        out.append(
            Setting(
                "sdedit",
                "strength",
                s,
                dict(method="sdedit", steps=round(2 * steps / s), strength=s),
            )
        )
    for s in (0.6, 0.8, 0.9, 1.0):
        out.append(
            Setting(
                "ode",
                "strength",
                s,
                dict(method="ode", steps=round(steps / s), strength=s, gamma=0.0, eta=0.0),
            )
        )
    # the second-order solvers: RF-Solver 2 NFE per step each way, FireFlow 1 (+1 to start)
    half = steps // 2
    for s in (0.6, 0.7, 0.8, 0.9, 1.0):
        out.append(Setting("rf-solver", "strength", s,
                           dict(method="rf-solver", steps=round(half / s), strength=s)))
        out.append(Setting("fireflow", "strength", s,
                           dict(method="fireflow", steps=round((steps - 1) / s), strength=s)))
    for f in (0.5, 0.6, 0.7, 0.8, 24 / 28, 1.0):
        n = max(steps, round(steps / f))
        out.append(Setting("flowedit", "n_max/N", round(steps / n, 2),
                           dict(method="flowedit", steps=n, n_max=steps)))
    return out


def l2_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-image Euclidean distance between uint8 pictures scaled to [0, 1]."""
    d = (a.astype(np.float64) - b.astype(np.float64)) / 255.0
    return np.sqrt((d**2).reshape(len(a), -1).sum(axis=1))


def run_setting(engine: Any, setting: Setting, strokes: np.ndarray, captions: Sequence[str]):
    """Outputs (N x H x W x 3 uint8), total NFE of one edit and seconds per edit."""
    from ..engine import EditRequest, run_edit

    outs = []
    t = time.perf_counter()
    for i, (img, cap) in enumerate(zip(strokes, captions, strict=True)):
        req = EditRequest(
            image=img, prompt=cap, source_prompt="", seed=i, guidance=1.0, keep_detail=False,
            **setting.fields
        )
        outs.append(run_edit(engine, req).image)
    return np.stack(outs), nominal_nfe(setting), (time.perf_counter() - t) / max(1, len(strokes))


def nominal_nfe(setting: Setting) -> int:
    """Model evaluations of one edit without the inversion cache (a sweep over eta re-uses
    the inversion, so the engine's own count is lower after the first point)."""
    from ..flow import start_index

    f = setting.fields
    if f["method"] == "flowedit":
        return 2 * int(f["n_max"])
    n = int(f["steps"])
    k = n - start_index(n, float(f.get("strength", 1.0)))
    per_method = {"sdedit": k, "rf-solver": 4 * k, "fireflow": 2 * (k + 1)}
    return per_method.get(f["method"], 2 * k)


def evaluate(outputs, strokes, scenes, ref_features, net, features) -> dict[str, float]:
    acc = accuracy(net, outputs, scenes)
    return {
        "l2": float(l2_distance(outputs, strokes).mean()),
        "kid_x1000": 1000 * kid(features(outputs), ref_features),
        "acc_shape": acc["shape"],
        "acc_colour": acc["colour"],
        "acc_background": acc["background"],
        "acc_all": acc["all"],
    }


def run_benchmark(
    engine: Any,
    net: Any,
    n_inputs: int = 32,
    n_reference: int = 512,
    settings: Sequence[Setting] | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Every setting on the same stroke inputs; rows of metrics plus reference rows."""
    strokes, clean, scenes = stroke_set(n_inputs, STROKE_SEED)
    captions = [s.caption for s in scenes]
    ref_images, _ = make_dataset(n_reference, REFERENCE_SEED)
    raw = embed(net, ref_images)
    mean, std = raw.mean(0), raw.std(0) + 1e-6

    def features(images: np.ndarray) -> np.ndarray:
        # standardised by the reference set, so the cubic kernel sees unit-scale features
        return (embed(net, images) - mean) / std

    ref = features(ref_images)
    rows = [
        {
            "method": "stroke input",
            "knob": "",
            "value": None,
            "nfe": 0,
            "sec_per_edit": 0.0,
            **evaluate(strokes, strokes, scenes, ref, net, features),
        },
        {
            "method": "clean render (target)",
            "knob": "",
            "value": None,
            "nfe": 0,
            "sec_per_edit": 0.0,
            **evaluate(clean, strokes, scenes, ref, net, features),
        },
    ]
    examples: dict[str, np.ndarray] = {"strokes": strokes, "clean": clean}
    for s in settings or default_settings():
        outs, nfe, sec = run_setting(engine, s, strokes, captions)
        row = {
            "method": s.method,
            "knob": s.knob,
            "value": s.value,
            "nfe": nfe,
            "sec_per_edit": sec,
            **evaluate(outs, strokes, scenes, ref, net, features),
        }
        rows.append(row)
        examples[s.label] = outs
        log(
            f"{s.label:28s} NFE {nfe:3d}  L2 {row['l2']:.3f}  KIDx1000 {row['kid_x1000']:.2f}"
            f"  acc {row['acc_all']:.2f}  {sec:.2f} s/edit"
        )
    return {"rows": rows, "examples": examples, "n_inputs": n_inputs, "n_reference": n_reference}


def _curve(rows, method):
    pts = [(r["l2"], r["kid_x1000"], r["value"]) for r in rows if r["method"] == method]
    return sorted(pts)


def _interp(curve, x):
    """KID of a curve at faithfulness x (linear between its points); None outside its range."""
    xs = [p[0] for p in curve]
    if not curve or x < xs[0] or x > xs[-1]:
        return None
    return float(np.interp(x, xs, [p[1] for p in curve]))


def _compare(rf: list, baselines: list) -> tuple[list[str], int, int]:
    lines, wins, losses = [], 0, 0
    for base, bc in baselines:
        dom_rf = sum(any(b[0] <= r[0] and b[1] <= r[1] for b in bc) for r in rf)
        dom_b = sum(any(r[0] <= b[0] and r[1] <= b[1] for r in rf) for b in bc)
        matched = [y - yb for x, y, _ in rf if (yb := _interp(bc, x)) is not None]
        part = (
            f"vs {base}: {dom_b}/{len(bc)} of its points are dominated by one of these "
            f"(as faithful and as realistic, or better), {dom_rf}/{len(rf)} of these are "
            "dominated by one of its points"
        )
        if matched:
            better = sum(d < 0 for d in matched)
            part += (
                f"; at matched L2 the KID is lower at {better}/{len(matched)} points "
                f"(mean difference {np.mean(matched):+.1f} x1e-3)"
            )
        else:
            part += "; the curves do not overlap in L2, so there is no matched comparison"
        lines.append(part)
        wins += dom_b + sum(d < 0 for d in matched)
        losses += dom_rf + sum(d > 0 for d in matched)
    return lines, wins, losses


def verdict(rows: list[dict[str, Any]]) -> str:
    """Say from the numbers, not from hope, whether RF-Inversion's points beat the baselines:
    Pareto dominance between points, and KID at matched L2 where the curves overlap."""
    baselines = [(b, _curve(rows, b)) for b in BASELINES if _curve(rows, b)]
    against_rf = [(b, _curve(rows, b)) for b in ("rf-inversion", *BASELINES) if _curve(rows, b)]
    out = []
    for family in [f for f, _, _ in RF_FAMILIES] + [RF_TRUNCATED, *NEWER]:
        rf = _curve(rows, family)
        if not rf:
            continue
        lines, wins, losses = _compare(rf, against_rf if family in NEWER else baselines)
        if wins and not losses:
            head = "better than"
        elif losses and not wins:
            head = "worse than"
        elif not wins:
            head = "neither better nor worse (no point dominates or is dominated, no matched L2) than"
        else:
            head = "mixed against"
        head += " RF-Inversion and the baselines" if family in NEWER else " the baselines"
        out.append(f"**{LEGEND[family]}**: {head}.\n\n" + "\n".join(f"- {x}" for x in lines))
    return "\n\n".join(out)


def markdown_table(result: dict[str, Any], timing: dict[str, float] | None = None) -> str:
    rows = result["rows"]
    out = [
        f"Stroke-to-image on the demo model, {result['n_inputs']} stroke inputs, KID against "
        f"{result['n_reference']} clean renders. L2: distance to the stroke input (lower = more "
        "faithful). KID x1000 (lower = more realistic). Accuracy: the demo classifier's "
        "shape/colour/background on the output agree with the scene the strokes were drawn from.",
        "",
        "| method | knob | NFE | L2 ↓ | KID×1000 ↓ | shape acc | colour acc | bg acc | all acc | s/edit |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        knob = f"{r['knob']}={r['value']:g}" if r["knob"] else "—"
        out.append(
            f"| {r['method']} | {knob} | {r['nfe']} | {r['l2']:.2f} | {r['kid_x1000']:.2f} | "
            f"{r['acc_shape']:.2f} | {r['acc_colour']:.2f} | {r['acc_background']:.2f} | "
            f"{r['acc_all']:.2f} | {r['sec_per_edit']:.2f} |"
        )
    out += ["", verdict(rows)]
    if timing:
        out += [
            "",
            f"One full demo edit (RF-Inversion, {timing['steps']} inversion + "
            f"{timing['steps']} editing steps, NFE {timing['nfe']}) on this CPU: "
            f"{timing['seconds']:.2f} s ({timing['threads']} torch thread(s)).",
        ]
    return "\n".join(out) + "\n"


COLOURS = {
    "rf-inversion": (200, 40, 40),
    "rf-inversion 0-7": (230, 140, 20),
    RF_TRUNCATED: (150, 40, 160),
    "sdedit": (40, 90, 200),
    "ode": (40, 150, 60),
    "rf-solver": (20, 170, 190),
    "fireflow": (120, 90, 40),
    "flowedit": (220, 60, 160),
}


def plot(rows: list[dict[str, Any]], path: Path, size: tuple[int, int] = (720, 480)) -> None:
    """Faithfulness (x: L2) against realism (y: KID) per method, drawn with Pillow."""
    from PIL import Image, ImageDraw

    w, h = size
    left, right, top, bottom = 70, 180, 30, 50
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    pts = [(r["l2"], r["kid_x1000"]) for r in rows]
    x0, x1 = 0.0, max(p[0] for p in pts) * 1.05 + 1e-9
    y0, y1 = min(0.0, min(p[1] for p in pts)), max(p[1] for p in pts) * 1.1 + 1e-9

    def xy(x: float, y: float) -> tuple[float, float]:
        return (
            left + (x - x0) / (x1 - x0) * (w - left - right),
            h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom),
        )

    d.rectangle((left, top, w - right, h - bottom), outline="black")
    for k in range(6):
        xv, yv = x0 + (x1 - x0) * k / 5, y0 + (y1 - y0) * k / 5
        px, _ = xy(xv, y0)
        _, py = xy(x0, yv)
        d.line((px, h - bottom, px, h - bottom + 4), fill="black")
        d.text((px - 10, h - bottom + 6), f"{xv:.1f}", fill="black")
        d.line((left - 4, py, left, py), fill="black")
        d.text((8, py - 6), f"{yv:.1f}", fill="black")
    d.text((left + 120, h - 18), "L2 to the stroke input (lower = more faithful)", fill="black")
    d.text((8, 8), "KID x1000 vs clean renders (lower = more realistic)", fill="black")
    for i, (method, colour) in enumerate(COLOURS.items()):
        curve = _curve(rows, method)
        if not curve:
            continue
        p = [xy(x, y) for x, y, _ in curve]
        if len(p) > 1:
            d.line(p, fill=colour, width=2)
        for (px, py), (_, _, v) in zip(p, curve, strict=True):
            d.ellipse((px - 4, py - 4, px + 4, py + 4), fill=colour)
            d.text((px + 5, py - 12), f"{v:g}", fill=colour)
        lx, ly = w - right + 12, top + 10 + 20 * i
        d.line((lx, ly + 6, lx + 20, ly + 6), fill=colour, width=3)
        d.text((lx + 26, ly), LEGEND[method], fill=colour)
    for r, mark in ((rows[0], "strokes"), (rows[1], "clean")):
        if r["method"] in ("stroke input", "clean render (target)"):
            px, py = xy(r["l2"], r["kid_x1000"])
            d.rectangle((px - 4, py - 4, px + 4, py + 4), outline="black")
            d.text((px + 6, py + 2), mark, fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def time_full_edit(engine: Any, steps: int = 28, repeats: int = 3) -> dict[str, float]:
    """Seconds for one RF-Inversion edit with `steps` inversion + `steps` editing steps
    (no cache: a fresh seed and image each time), best of `repeats`."""
    import torch

    from ..engine import EditRequest, run_edit

    strokes, _, scenes = stroke_set(repeats, STROKE_SEED + 1)
    best, nfe = float("inf"), 0
    for i in range(repeats):
        req = EditRequest(
            image=strokes[i],
            prompt=scenes[i].caption,
            steps=steps,
            seed=1000 + i,
            eta=0.9,
            start=STROKE_START,
            stop=STROKE_STOP,
            guidance=1.0,
        )
        t = time.perf_counter()
        res = run_edit(engine, req)
        best = min(best, time.perf_counter() - t)
        nfe = res.nfe
    return {"seconds": best, "nfe": nfe, "steps": steps, "threads": torch.get_num_threads()}


def save_result(result: dict[str, Any], timing: dict[str, float] | None, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "tradeoff.md").write_text(markdown_table(result, timing), encoding="utf-8")
    (out_dir / "tradeoff.json").write_text(
        json.dumps(
            {
                "rows": result["rows"],
                "timing": timing,
                "n_inputs": result["n_inputs"],
                "n_reference": result["n_reference"],
            },
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    plot(result["rows"], out_dir / "tradeoff.png")
    example_figure(result["examples"]).save(out_dir / "tradeoff_examples.png")


EXAMPLE_COLUMNS = (
    ("strokes", "strokes (input)"),
    ("rf-inversion eta=0.9", "RF-Inv. 3-5 eta .9"),
    ("rf-inversion 0-7 eta=0.9", "RF-Inv. 0-7 eta .9"),
    ("rf-inversion truncated strength=0.7", "RF-Inv. s=.7"),
    ("sdedit strength=0.7", "SDEdit s=.7"),
    ("ode strength=0.8", "ODE inv. s=.8"),
    ("rf-solver strength=0.8", "RF-Solver s=.8"),
    ("fireflow strength=0.8", "FireFlow s=.8"),
    ("flowedit n_max/N=0.7", "FlowEdit .7"),
    ("clean", "scene drawn from"),
)


def example_figure(examples: dict[str, np.ndarray], n: int = 8):
    """The first `n` inputs (rows) under a few settings (columns)."""
    from .figures import grid

    cols = [(k, t) for k, t in EXAMPLE_COLUMNS if k in examples]
    n = min(n, len(examples["strokes"]))
    cells = [[examples[k][i] for k, _ in cols] for i in range(n)]
    return grid(cells, [t for _, t in cols])
