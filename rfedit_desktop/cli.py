"""`rfedit-cli`: the engine from a terminal, for scripts, batch edits and checking an install.

Every subcommand goes through the same engine functions as the GUI (`run_edit`, `run_invert`,
`run_generate`). A mistake the user can fix (bad image, bad parameter, missing model) prints one
line on stderr and exits with code 2; progress goes to stderr so stdout stays clean for --json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from .engine.presets import PRESETS, get_preset
from .errors import Cancelled, EditError

EXIT_USER_ERROR = 2
EXIT_CANCELLED = 130

_DEFAULTS: dict[str, Any] = {
    "method": "rf-inversion",
    "steps": 28,
    "gamma": 0.5,
    "eta": 0.9,
    "start": 0.0,
    "stop": 0.25,
    "strength": 1.0,
    "guidance": 3.5,
    "seed": 0,
}


def _add_model_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model and device")
    g.add_argument("--model", default="demo",
                   help="demo, tiny, a diffusers folder, a cached repo id, or a .safetensors/.gguf "
                        "transformer file (default: demo)")
    g.add_argument("--base", default=None,
                   help="folder or cached repo id with the other components, for a single file")
    g.add_argument("--device", default="auto", choices=("auto", "cuda", "mps", "cpu"))
    g.add_argument("--dtype", default=None, choices=("bf16", "fp16", "fp32"),
                   help="override the device's default precision")
    g.add_argument("--memory-mode", default="none",
                   choices=("none", "model-offload", "sequential-offload", "group-offload"))
    g.add_argument("--release-t5", action="store_true",
                   help="move the T5 text encoder off the GPU after encoding prompts")
    g = p.add_argument_group("running engine")
    g.add_argument("--server", default=None, metavar="URL",
                   help="run on a running engine (rfedit-server), e.g. http://gpu-box:8765")
    g.add_argument("--token-file", default=None,
                   help="file holding that engine's token (else $RFEDIT_TOKEN)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")


def _add_inversion_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="image to edit (PNG, JPEG, WebP, ...)")
    g = p.add_argument_group("method")
    g.add_argument("--preset", default=None,
                   help="task preset from the RF-Inversion paper: " + ", ".join(PRESETS))
    g.add_argument("--method", default=None,
                   choices=("rf-inversion", "sdedit", "ode", "stochastic"))
    g.add_argument("--steps", type=int, default=None, help="steps on the sigma grid (28)")
    g.add_argument("--gamma", type=float, default=None, help="inversion pull to noise (0.5)")
    g.add_argument("--strength", type=float, default=None,
                   help="how far to invert, (0, 1]; 1 = all the way to noise")
    g.add_argument("--source-prompt", default="", help="prompt describing the input (empty)")
    g.add_argument("--source-guidance", type=float, default=0.0,
                   help="guidance while inverting (0, as in the paper)")
    g.add_argument("--seed", type=int, default=None, help="seed of the reference noise (0)")
    g.add_argument("--max-megapixels", type=float, default=1.0,
                   help="pixel budget the model works at (the result is resized back)")
    g.add_argument("--mask", default=None,
                   help="grayscale image, white = may change (or painted alpha on transparency)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rfedit-cli",
        description="Edit images with RF-Inversion on a local FLUX.1 model (offline).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    edit = sub.add_parser("edit", help="edit an image under a new prompt")
    _add_inversion_options(edit)
    edit.add_argument("--prompt", required=True, help="what the image should become")
    edit.add_argument("--out", required=True, help="output image (.png keeps the parameters)")
    g = edit.add_argument_group("editing")
    g.add_argument("--eta", type=float, default=None, help="pull towards the input (0.9)")
    g.add_argument("--start", type=float, default=None, help="eta window start, fraction (0)")
    g.add_argument("--stop", type=float, default=None, help="eta window stop, fraction (0.25)")
    g.add_argument("--decay", type=float, default=None, dest="decay_power",
                   help="fade eta inside the window as (1 - i/N)^P")
    g.add_argument("--guidance", type=float, default=None, help="guidance for the prompt (3.5)")
    _add_model_options(edit)

    inv = sub.add_parser("invert", help="invert an image into the cache (no edit)")
    _add_inversion_options(inv)
    _add_model_options(inv)

    gen = sub.add_parser("generate", help="plain text-to-image")
    gen.add_argument("--prompt", required=True)
    gen.add_argument("--out", required=True)
    gen.add_argument("--width", type=int, default=None)
    gen.add_argument("--height", type=int, default=None)
    gen.add_argument("--steps", type=int, default=28)
    gen.add_argument("--guidance", type=float, default=3.5)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--stochastic", action="store_true", help="rectified SDE sampler")
    _add_model_options(gen)

    info = sub.add_parser("info", help="devices, the model, caches and presets")
    _add_model_options(info)
    return parser


# -- progress on stderr ------------------------------------------------------------------------
class _Bars:
    """One tqdm bar per stepping phase (invert, edit) on stderr."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar = None
        self.phase = None

    def __call__(self, event: Any) -> None:
        if not self.enabled or event.phase in ("load", "encode", "decode") or event.step == 0:
            return
        if event.phase != self.phase or self.bar is None:
            self.close()
            from tqdm import tqdm

            self.bar = tqdm(total=event.total, desc=event.phase, file=sys.stderr, unit="step",
                            leave=True, dynamic_ncols=True)
            self.phase = event.phase
        self.bar.update(event.step - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.bar, self.phase = None, None


# -- subcommands ---------------------------------------------------------------------------------
def _engine(args: argparse.Namespace):
    if args.server:
        from .cli_remote import ServerEngine

        return ServerEngine(args.server, args.token_file)
    from .engine.session import load_engine

    if not args.quiet:
        print(f"loading model {args.model} ...", file=sys.stderr)
    return load_engine(args.model, device=args.device, memory_mode=args.memory_mode,
                       dtype=args.dtype, base=args.base, release_t5=args.release_t5)


def _run(args: argparse.Namespace, name: str, engine: Any, *a: Any, **kw: Any) -> Any:
    """`pipeline.<name>(engine, ...)` here, or the same call on the --server engine."""
    if args.server:
        return getattr(engine, name)(*a, **kw)
    from .engine import pipeline

    return getattr(pipeline, name)(engine, *a, **kw)


def _read_inputs(args: argparse.Namespace) -> tuple[Any, Any]:
    """The image and mask as arrays, read before the model loads so a bad file fails fast."""
    from .engine import images

    image = images.load_image(args.input)
    mask = None
    if args.mask is not None:
        mask = images.prepare_mask(args.mask, image.shape[0], image.shape[1])
    return image, mask


def _request(args: argparse.Namespace, image: Any, mask: Any, engine: Any, prompt: str = ""):
    """Flags win over the preset, the preset over the model's defaults (rfedit.json)."""
    from .engine.request import EditRequest

    preset = get_preset(args.preset).params() if args.preset else {}
    defaults = {**_DEFAULTS, "guidance": engine.default_guidance}

    def pick(name: str) -> Any:
        given = getattr(args, name, None)
        if given is not None:
            return given
        return preset.get(name, defaults.get(name))

    return EditRequest(
        image=image,
        prompt=prompt,
        source_prompt=args.source_prompt,
        method=pick("method"),
        steps=pick("steps"),
        gamma=pick("gamma"),
        eta=pick("eta"),
        start=pick("start"),
        stop=pick("stop"),
        decay_power=getattr(args, "decay_power", None),
        strength=pick("strength"),
        guidance=pick("guidance"),
        source_guidance=args.source_guidance,
        seed=pick("seed"),
        mask=mask,
        max_megapixels=args.max_megapixels,
    )


def _check_out(out: str) -> Path:
    path = Path(out)
    if not path.parent.exists():
        raise EditError(f"Output folder {path.parent} does not exist.")
    if path.is_dir():
        raise EditError(f"Output {path} is a folder; give a file name such as result.png.")
    return path


def _save(image: Any, path: Path, params: dict[str, Any]) -> None:
    from .engine import images

    if path.suffix.lower() == ".png":
        images.save_png(image, path, params)
        return
    from PIL import Image

    try:
        Image.fromarray(image).save(path)
    except (ValueError, OSError) as exc:
        raise EditError(f"Cannot write {path}: {exc}") from exc


def _cmd_edit(args: argparse.Namespace, bars: _Bars) -> dict[str, Any]:
    out = _check_out(args.out)
    if args.preset:
        get_preset(args.preset)
    image, mask = _read_inputs(args)
    engine = _engine(args)
    request = _request(args, image, mask, engine, args.prompt)
    t = time.perf_counter()
    result = _run(args, "run_edit", engine, request, progress=bars)
    bars.close()
    _save(result.image, out, result.metadata)
    h, w = result.image.shape[:2]
    return {
        "out": str(out),
        "nfe": result.nfe,
        "cache_hit": result.cache_hit,
        "seconds": {k: round(v, 4) for k, v in result.timings.items()},
        "total_seconds": round(time.perf_counter() - t, 4),
        "size": [w, h],
        "model_size": result.metadata.get("model_size"),
        "model": engine.name,
        "method": request.method,
        "steps": request.steps,
    }


def _cmd_invert(args: argparse.Namespace, bars: _Bars) -> dict[str, Any]:
    if args.preset:
        get_preset(args.preset)
    image, mask = _read_inputs(args)
    engine = _engine(args)
    request = _request(args, image, mask, engine)
    t = time.perf_counter()
    info = _run(args, "run_invert", engine, request, progress=bars)
    bars.close()
    info["seconds"] = {k: round(v, 4) for k, v in info["seconds"].items()}
    info["total_seconds"] = round(time.perf_counter() - t, 4)
    info["model"] = engine.name
    return info


def _cmd_generate(args: argparse.Namespace, bars: _Bars) -> dict[str, Any]:
    out = _check_out(args.out)
    engine = _engine(args)
    side = engine.native_resolution or 1024
    t = time.perf_counter()
    result = _run(args, "run_generate", engine, args.prompt, width=args.width or side,
                  height=args.height or side, steps=args.steps, guidance=args.guidance,
                  seed=args.seed, stochastic=args.stochastic, progress=bars)
    bars.close()
    _save(result.image, out, result.metadata)
    return {
        "out": str(out),
        "nfe": result.nfe,
        "cache_hit": False,
        "seconds": {k: round(v, 4) for k, v in result.timings.items()},
        "total_seconds": round(time.perf_counter() - t, 4),
        "model_size": result.metadata.get("model_size"),
        "model": engine.name,
    }


def _cmd_info(args: argparse.Namespace, bars: _Bars) -> dict[str, Any]:
    if args.server:
        return _engine(args).info()
    import torch

    from . import paths
    from .engine.presets import PRESETS

    report: dict[str, Any] = {
        "torch": torch.__version__,
        "cuda": torch.cuda.is_available(),
        "mps": bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()),
        "cache_dir": str(paths.cache_dir()),
        "demo_model_dir": str(paths.demo_model_dir()),
        "presets": {name: p.as_dict() for name, p in PRESETS.items()},
    }
    try:
        report.update(_engine(args).info())
    except EditError as exc:
        report["model_error"] = str(exc)
    return report


_COMMANDS = {"edit": _cmd_edit, "invert": _cmd_invert, "generate": _cmd_generate,
             "info": _cmd_info}


def _print_human(command: str, report: dict[str, Any]) -> None:
    if command == "info":
        for key, value in report.items():
            if key == "presets":
                print("presets:")
                for name, p in value.items():
                    print(f"  {name:16s} {p['label']} (eta {p['eta']}, steps "
                          f"{p['start_step']}-{p['stop_step']} of 28)")
            else:
                print(f"{key}: {value}")
        return
    secs = ", ".join(f"{k} {v:.2f}s" for k, v in report.get("seconds", {}).items() if v)
    hit = "hit" if report.get("cache_hit") else "miss"
    where = f" -> {report['out']}" if "out" in report else ""
    print(f"done{where}: {report.get('nfe')} model calls, inversion cache {hit}; {secs}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `rfedit-cli` console script; returns the exit code."""
    # The libraries' import-time chatter (optional torchvision, deprecations) is not for users.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    parser = build_parser()
    args = parser.parse_args(argv)
    bars = _Bars(enabled=not args.quiet)
    try:
        report = _COMMANDS[args.command](args, bars)
    except EditError as exc:
        bars.close()
        print(f"rfedit-cli: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except (Cancelled, KeyboardInterrupt):
        bars.close()
        print("rfedit-cli: cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    if args.json:
        print(json.dumps(report, default=str))
    else:
        _print_human(args.command, report)
    if args.command == "info" and "model_error" in report:
        print(f"rfedit-cli: error: {report['model_error']}", file=sys.stderr)
        return EXIT_USER_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
