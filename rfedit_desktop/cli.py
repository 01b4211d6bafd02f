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

from .engine.presets import METHOD_DEFAULTS, PRESETS, get_preset
from .engine.request import METHOD_OPTIONS, METHODS
from .errors import Cancelled, EditError

EXIT_USER_ERROR = 2
EXIT_SOME_FAILED = 1
"""`edit --out-dir`: some inputs failed (each named on stderr), the others were written."""
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
    g.add_argument("--memory-mode", default="auto",
                   choices=("auto", "none", "model-offload", "sequential-offload", "group-offload"),
                   help="offload scheme; auto (default) lets the VRAM planner choose (info --plan)")
    g.add_argument("--quantize", default="auto", choices=("auto", "none", "fp8", "int8", "nf4"),
                   help="transformer weights: compute dtype, fp8 storage, bitsandbytes 8-bit or "
                        "NF4 (CUDA); auto (default) lets the planner choose")
    g.add_argument("--lora", action="append", default=[], metavar="FILE[:WEIGHT]",
                   help="a FLUX.1 LoRA .safetensors file and its weight (1 if absent); repeat "
                        "for several")
    g.add_argument("--release-t5", action="store_true",
                   help="move the T5 text encoder off the GPU after encoding prompts")
    g = p.add_argument_group("running engine")
    g.add_argument("--server", default=None, metavar="URL",
                   help="run on a running engine (rfedit-server), e.g. http://gpu-box:8765")
    g.add_argument("--token-file", default=None,
                   help="file holding that engine's token (else $RFEDIT_TOKEN)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")


def _add_inversion_options(p: argparse.ArgumentParser, several: bool = False) -> None:
    if several:
        p.add_argument("input", nargs="+",
                       help="images to edit (PNG, JPEG, WebP, ...); several need --out-dir")
    else:
        p.add_argument("input", help="image to edit (PNG, JPEG, WebP, ...)")
    g = p.add_argument_group("method")
    g.add_argument("--preset", default=None,
                   help="task preset from the RF-Inversion paper: " + ", ".join(PRESETS))
    g.add_argument("--method", default=None, choices=METHODS,
                   help="rf-inversion (default), stochastic, ode, sdedit, rf-solver, fireflow, "
                        "flowedit; the newer methods start from their papers' steps and guidance")
    g.add_argument("--steps", type=int, default=None, help="steps on the sigma grid (28)")
    g.add_argument("--gamma", type=float, default=None, help="inversion pull to noise (0.5)")
    g.add_argument("--strength", type=float, default=None,
                   help="how far to invert, (0, 1]; 1 = all the way to noise")
    g.add_argument("--source-prompt", default="", help="prompt describing the input (empty)")
    g.add_argument("--source-guidance", type=float, default=None,
                   help="guidance of the source prompt (0, as in RF-Inversion's paper)")
    g.add_argument("--seed", type=int, default=None, help="seed of the reference noise (0)")
    g.add_argument("--max-megapixels", type=float, default=1.0,
                   help="pixel budget the model works at (the result is resized back)")
    g.add_argument("--mask", default=None,
                   help="grayscale image, white = may change (or painted alpha on transparency)")
    g = p.add_argument_group("edit region")
    g.add_argument("--region", default=None, metavar="X,Y,W,H",
                   help="the part of the image the model sees (default: the mask's box plus "
                        "context, else the whole image)")
    g.add_argument("--context", type=int, default=None, metavar="PX",
                   help="margin around the mask's box, image pixels (default: an eighth of "
                        "the box's longer side, at least 32)")
    g.add_argument("--keep-detail", action=argparse.BooleanOptionalAction, default=True,
                   help="restore the photo's fine detail where the edit changed nothing "
                        "(default: on)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rfedit-cli",
        description="Edit images with RF-Inversion on a local FLUX.1 model (offline).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    edit = sub.add_parser("edit", help="edit images under a new prompt")
    _add_inversion_options(edit, several=True)
    edit.add_argument("--prompt", required=True, help="what the image should become")
    outs = edit.add_mutually_exclusive_group(required=True)
    outs.add_argument("-o", "--out", help="output image for one input (.png keeps the parameters; "
                                    ".jpg, .webp, .tif, .bmp)")
    outs.add_argument("--out-dir", help="folder for the results of several inputs, one PNG "
                                        "named after each input; the model loads once")
    g = edit.add_argument_group("editing")
    g.add_argument("--eta", type=float, default=None, help="pull towards the input (0.9)")
    g.add_argument("--start", type=float, default=None, help="eta window start, fraction (0)")
    g.add_argument("--stop", type=float, default=None, help="eta window stop, fraction (0.25)")
    g.add_argument("--decay", type=float, default=None, dest="decay_power",
                   help="fade eta inside the window as (1 - i/N)^P")
    g.add_argument("--guidance", type=float, default=None, help="guidance for the prompt (3.5)")
    g = edit.add_argument_group("FlowEdit (--method flowedit)")
    g.add_argument("--n-max", type=int, default=None, dest="n_max",
                   help="steps it edits, counted from the end (24 of 28)")
    g.add_argument("--n-min", type=int, default=None, dest="n_min",
                   help="final steps sampled plainly under the prompt (0)")
    g.add_argument("--n-avg", type=int, default=None, dest="n_avg",
                   help="noise draws averaged per step (1)")
    _add_model_options(edit)

    inv = sub.add_parser("invert", help="invert an image into the cache (no edit)")
    _add_inversion_options(inv)
    _add_model_options(inv)

    gen = sub.add_parser("generate", help="plain text-to-image")
    gen.add_argument("--prompt", required=True)
    gen.add_argument("-o", "--out", required=True)
    gen.add_argument("--width", type=int, default=None)
    gen.add_argument("--height", type=int, default=None)
    gen.add_argument("--steps", type=int, default=28)
    gen.add_argument("--guidance", type=float, default=3.5)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--stochastic", action="store_true", help="rectified SDE sampler")
    _add_model_options(gen)

    info = sub.add_parser("info", help="devices, the model, caches and presets")
    info.add_argument("--plan", action="store_true",
                      help="print the memory plan (each mode's estimated peak, and the choice) "
                           "without loading the weights")
    info.add_argument("--plan-size", default=None, metavar="WxH",
                      help="image size to plan for (the model's resolution, else 1024x1024)")
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
def _lora_specs(args: argparse.Namespace) -> tuple[tuple[str, float], ...]:
    """`--lora` flags as (path, weight) pairs, each file checked before the model loads (with
    --server, names of the server's LoRAs, which the server checks)."""
    from .engine.lora import check_lora_file, parse_lora_arg

    specs = tuple(parse_lora_arg(text) for text in getattr(args, "lora", None) or ())
    for path, _ in specs:
        if not getattr(args, "server", None):
            check_lora_file(path)
    return specs


def _engine(args: argparse.Namespace):
    if args.server:
        from .cli_remote import ServerEngine

        return ServerEngine(args.server, args.token_file)
    from .engine.session import load_engine

    if not args.quiet:
        print(f"loading model {args.model} ...", file=sys.stderr)
    return load_engine(args.model, device=args.device, memory_mode=args.memory_mode,
                       dtype=args.dtype, base=args.base, release_t5=args.release_t5,
                       quantization=args.quantize)


def _run(args: argparse.Namespace, name: str, engine: Any, *a: Any, **kw: Any) -> Any:
    """`pipeline.<name>(engine, ...)` here, or the same call on the --server engine."""
    if args.server:
        return getattr(engine, name)(*a, **kw)
    from .engine import pipeline

    return getattr(pipeline, name)(engine, *a, **kw)


def _plan_size(text: str | None) -> tuple[int | None, int | None]:
    if text is None:
        return None, None
    w, sep, h = text.lower().partition("x")
    if not sep or not w.isdigit() or not h.isdigit() or not 16 <= int(w) <= 8192 \
            or not 16 <= int(h) <= 8192:
        raise EditError(f"--plan-size must be WIDTHxHEIGHT from 16 to 8192, got {text!r}.")
    return int(w), int(h)


def _plan(args: argparse.Namespace) -> Any:
    """The memory plan for the model named on the command line, no weights loaded."""
    from .engine.devices import pick_device, pick_dtype
    from .engine.loader import resolve_model
    from .engine.memory_plan import plan_for

    width, height = _plan_size(args.plan_size)
    source = resolve_model(args.model, args.base)
    dev = pick_device(args.device)
    return plan_for(source, dev, pick_dtype(dev, args.dtype), args.memory_mode, args.quantize,
                    height, width)


def _read_inputs(args: argparse.Namespace, source: str | None = None) -> tuple[Any, Any]:
    """The image and mask as arrays, read (and the region checked) before the model loads, so
    a bad file or value fails fast."""
    from .engine import images, region

    image = images.load_image(args.input if source is None else source)
    mask = None
    if args.mask is not None:
        mask = images.prepare_mask(args.mask, image.shape[0], image.shape[1], exact=True)
    region.check_context(args.context)
    if args.region is not None:
        if isinstance(args.region, str):  # parsed once; a batch checks it against every input
            args.region = region.parse_region(args.region)
        region.check_region(args.region, image.shape[1], image.shape[0])
    return image, mask


def _request(args: argparse.Namespace, image: Any, mask: Any, default_guidance: float,
             prompt: str = ""):
    """Flags win over the preset, the preset over the method's paper settings, those over the
    model's defaults (rfedit.json)."""
    from .engine.request import EditRequest

    preset = get_preset(args.preset).params() if args.preset else {}
    method = args.method or preset.get("method", _DEFAULTS["method"])
    defaults = {**_DEFAULTS, "guidance": default_guidance, "source_guidance": 0.0,
                **METHOD_DEFAULTS.get(method, {})}

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
        source_guidance=pick("source_guidance"),
        seed=pick("seed"),
        mask=mask,
        max_megapixels=args.max_megapixels,
        n_max=getattr(args, "n_max", None),
        n_min=getattr(args, "n_min", None),
        n_avg=getattr(args, "n_avg", None),
        region=args.region,
        context=args.context,
        keep_detail=args.keep_detail,
        loras=args.lora_specs,
    )


def _check_request(args: argparse.Namespace, image: Any, mask: Any, prompt: str = "") -> None:
    """Every parameter checked before the model loads, so a typo is not reported only after
    the wait. The model's own default guidance is not known yet; its stand-in is valid."""
    from .engine.validation import validate_request

    validate_request(_request(args, image, mask, 1.0, prompt))


def _check_method_options(args: argparse.Namespace) -> None:
    """A method-specific flag given to a method that does not read it is a mistake, not a no-op."""
    from .engine.validation import unused_options

    preset = get_preset(args.preset).params() if args.preset else {}
    method = args.method or preset.get("method", _DEFAULTS["method"])
    given = [name for name in ("gamma", "eta", "start", "stop", "decay_power", "strength",
                               "n_max", "n_min", "n_avg") if getattr(args, name, None) is not None]
    unused = unused_options(method, given)
    if unused:
        def flag(name: str) -> str:
            return "--decay" if name == "decay_power" else "--" + name.replace("_", "-")

        uses = ", ".join(flag(n) for n in METHOD_OPTIONS[method]) or "none of them"
        raise EditError(f"{flag(unused[0])} does not apply to --method {method} (it uses {uses}).")


def _check_out(out: str | Path) -> Path:
    """A writable output of a type rfedit writes, checked before the model loads."""
    from .files.atomic import check_writable
    from .imaging.encode import format_for

    path = Path(out)
    if path.is_dir():
        raise EditError(f"Output {path} is a folder; give a file name such as result.png.")
    if not path.parent.is_dir():
        raise EditError(f"Output folder {path.parent} does not exist.")
    format_for(path)
    check_writable(path)
    return path


def _outputs(args: argparse.Namespace) -> list[tuple[str, Path]]:
    """(input, output) pairs: `--out` for one input, `--out-dir`/NAME.png for each of many."""
    inputs = list(args.input)
    if args.out is not None:
        if len(inputs) > 1:
            raise EditError(f"{len(inputs)} inputs need --out-dir DIR instead of --out.")
        return [(inputs[0], _check_out(args.out))]
    folder = Path(args.out_dir)
    if not folder.is_dir():
        raise EditError(f"Output folder {folder} does not exist.")
    pairs = [(src, folder / f"{Path(src).stem}.png") for src in inputs]
    seen: dict[Path, str] = {}
    for src, out in pairs:
        if out.resolve() in seen:
            raise EditError(f"{seen[out.resolve()]} and {src} would both be written to {out}; "
                            "edit them in separate runs.")
        if Path(src).resolve() == out.resolve():
            raise EditError(f"The result of {src} would replace it; choose another --out-dir.")
        seen[out.resolve()] = src
    _check_out(pairs[0][1])
    return pairs


def _report(result: Any, out: Path, request: Any, engine: Any, seconds: float) -> dict[str, Any]:
    h, w = result.image.shape[:2]
    return {
        "out": str(out),
        "nfe": result.nfe,
        "cache_hit": result.cache_hit,
        "seconds": {k: round(v, 4) for k, v in result.timings.items()},
        "total_seconds": round(seconds, 4),
        "size": [w, h],
        "model_size": result.metadata.get("model_size"),
        "region": result.metadata.get("region"),
        "scale": result.metadata.get("scale"),
        "context": result.metadata.get("context"),
        "keep_detail": result.metadata.get("keep_detail"),
        "model": engine.name,
        "method": request.method,
        "steps": request.steps,
    }


def _edit_one(args: argparse.Namespace, engine: Any, bars: _Bars, image: Any, mask: Any,
              out: Path) -> dict[str, Any]:
    from .engine.images import save_image

    request = _request(args, image, mask, engine.default_guidance, args.prompt)
    t = time.perf_counter()
    result = _run(args, "run_edit", engine, request, progress=bars)
    bars.close()
    save_image(result.image, out, result.metadata)
    return _report(result, out, request, engine, time.perf_counter() - t)


def _cmd_edit(args: argparse.Namespace, bars: _Bars) -> dict[str, Any]:
    """One input: its report. Several: the model loads once, each input is edited in turn,
    and one that fails is reported on stderr while the others still run."""
    pairs = _outputs(args)
    if args.preset:
        get_preset(args.preset)
    _check_method_options(args)
    if len(pairs) == 1:
        image, mask = _read_inputs(args, pairs[0][0])
        _check_request(args, image, mask, args.prompt)
        return _edit_one(args, _engine(args), bars, image, mask, pairs[0][1])

    failed: list[dict[str, str]] = []

    def fail(src: str, exc: Exception) -> None:
        bars.close()
        print(f"rfedit-cli: error: {src}: {exc}", file=sys.stderr)
        failed.append({"input": src, "error": str(exc)})

    readable = []
    for src, out in pairs:  # a bad file is named before the model loads
        try:
            _read_inputs(args, src)
            readable.append((src, out))
        except EditError as exc:
            fail(src, exc)
    if not readable:
        raise EditError(f"None of the {len(pairs)} inputs could be read.")
    _check_request(args, *_read_inputs(args, readable[0][0]), args.prompt)
    engine = _engine(args)
    done = []
    for src, out in readable:
        try:
            image, mask = _read_inputs(args, src)
            done.append({"input": src, **_edit_one(args, engine, bars, image, mask, out)})
        except (EditError, OSError) as exc:
            fail(src, exc)
    if not done:
        raise EditError(f"None of the {len(pairs)} inputs was edited.")
    return {"results": done, "failed": failed, "model": engine.name}


def _cmd_invert(args: argparse.Namespace, bars: _Bars) -> dict[str, Any]:
    if args.preset:
        get_preset(args.preset)
    _check_method_options(args)
    image, mask = _read_inputs(args)
    _check_request(args, image, mask)
    engine = _engine(args)
    request = _request(args, image, mask, engine.default_guidance)
    t = time.perf_counter()
    info = _run(args, "run_invert", engine, request, progress=bars)
    bars.close()
    info["seconds"] = {k: round(v, 4) for k, v in info["seconds"].items()}
    info["total_seconds"] = round(time.perf_counter() - t, 4)
    info["model"] = engine.name
    return info


def _cmd_generate(args: argparse.Namespace, bars: _Bars) -> dict[str, Any]:
    from .engine.images import save_image
    from .engine.validation import validate_side

    out = _check_out(args.out)
    for name in ("width", "height"):
        if getattr(args, name) is not None:
            validate_side(name, getattr(args, name))
    engine = _engine(args)
    side = engine.native_resolution or 1024
    t = time.perf_counter()
    result = _run(args, "run_generate", engine, args.prompt,
                  width=side if args.width is None else args.width,
                  height=side if args.height is None else args.height,
                  steps=args.steps, guidance=args.guidance,
                  seed=args.seed, stochastic=args.stochastic, progress=bars,
                  loras=args.lora_specs)
    bars.close()
    save_image(result.image, out, result.metadata)
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
        if args.plan:
            plan = _plan(args)
            report["memory_plan"] = plan.as_dict()
            report["memory_plan_table"] = plan.table()
            return report
        engine = _engine(args)
        engine.loras.apply(engine.pipe, args.lora_specs)
        report.update(engine.info())
        report["memory_plan"] = engine.plan.as_dict()
    except EditError as exc:
        report["model_error"] = str(exc)
    return report


_COMMANDS = {"edit": _cmd_edit, "invert": _cmd_invert, "generate": _cmd_generate,
             "info": _cmd_info}


def _print_human(command: str, report: dict[str, Any]) -> None:
    if command == "info":
        for key, value in report.items():
            if key == "memory_plan":
                continue
            if key == "memory_plan_table":
                print(value)
            elif key == "presets":
                print("presets:")
                for name, p in value.items():
                    print(f"  {name:16s} {p['label']} (eta {p['eta']}, steps "
                          f"{p['start_step']}-{p['stop_step']} of 28)")
            else:
                print(f"{key}: {value}")
        return
    for one in report.get("results", [report]):
        secs = ", ".join(f"{k} {v:.2f}s" for k, v in one.get("seconds", {}).items() if v)
        hit = "hit" if one.get("cache_hit") else "miss"
        where = f" -> {one['out']}" if "out" in one else ""
        print(f"done{where}: {one.get('nfe')} model calls, inversion cache {hit}; {secs}")
    if report.get("failed"):
        print(f"{len(report['failed'])} of {len(report['failed']) + len(report['results'])} "
              "inputs failed (see the errors above)")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `rfedit-cli` console script; returns the exit code."""
    # The libraries' import-time chatter (optional torchvision, deprecations) is not for users.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    parser = build_parser()
    args = parser.parse_args(argv)
    bars = _Bars(enabled=not args.quiet)
    try:
        args.lora_specs = _lora_specs(args)
        report = _COMMANDS[args.command](args, bars)
    except (EditError, OSError) as exc:
        bars.close()
        print(f"rfedit-cli: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except (Cancelled, KeyboardInterrupt):
        bars.close()
        print("rfedit-cli: cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    try:
        if args.json:
            print(json.dumps(report, default=str))
        else:
            _print_human(args.command, report)
        sys.stdout.flush()
    except BrokenPipeError:  # `rfedit-cli info | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    if args.command == "info" and "model_error" in report:
        print(f"rfedit-cli: error: {report['model_error']}", file=sys.stderr)
        return EXIT_USER_ERROR
    if report.get("failed"):
        return EXIT_SOME_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
