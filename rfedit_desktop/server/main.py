"""`rfedit-server`: the engine protocol for other machines; and the GUI's local engine child.

    rfedit-server --model demo --host 0.0.0.0 --port 8765 --token-file ~/.rfedit-token

`--local` is how the GUI starts its own engine (python -m rfedit_desktop.server --local): the
token comes on stdin, the port goes out on stdout, and the process ends when stdin closes (the
GUI quit or died), so a crashed window never leaves an engine holding GPU memory. The local
engine, and any server listening on loopback only, also takes bodies through shared memory
(protocol/shm.py) and sweeps the segments of killed clients when it starts.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import socket
import sys
import threading
from pathlib import Path

from rfedit_desktop.errors import EditError
from rfedit_desktop.protocol import shm
from rfedit_desktop.protocol.model_choice import DEVICES, MEMORY_MODES, QUANTIZATIONS, ModelChoice

READY = "RFEDIT-ENGINE-READY"
LOCAL_NICENESS = 5
EXIT_USER_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rfedit-server",
                                description="serve the rfedit engine to other machines")
    p.add_argument("--model", action="append", default=None,
                   help="model to serve: 'demo', a folder, a file or a repo id (repeat to offer "
                        "several; the first loads)")
    p.add_argument("--device", default="auto", choices=DEVICES)
    p.add_argument("--memory-mode", default="auto", choices=MEMORY_MODES,
                   help="auto: what fits the GPU's memory (see rfedit-cli info --plan)")
    p.add_argument("--quantize", default="auto", choices=QUANTIZATIONS,
                   help="the transformer's weight format (auto: what fits the GPU's memory)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (127.0.0.1; 0.0.0.0 for other machines, behind "
                        "TLS beyond a LAN)")
    p.add_argument("--port", type=_ranged(int, 0, 65535), default=8765,
                   help="port to listen on (8765; 0 picks a free one)")
    p.add_argument("--token-file", default=None,
                   help="file holding the token clients must send (created with a new random "
                        "token if missing)")
    p.add_argument("--lora-dir", type=Path, default=None, metavar="FOLDER",
                   help="offer the .safetensors LoRAs in FOLDER; clients name them by file name")
    p.add_argument("--max-body-mb", type=_ranged(int, 1, 65536), default=320,
                   help="largest request accepted, in MiB (320)")
    g = p.add_argument_group("Ray Serve (pip install 'rfedit-desktop[server]')")
    g.add_argument("--ray", action="store_true",
                   help="run the engine as Ray Serve replicas (one per GPU)")
    g.add_argument("--ray-address", default=None,
                   help="Ray cluster to join (default: the one `ray start` made, else a new "
                        "local one)")
    g.add_argument("--min-replicas", type=_ranged(int, 1, 4096), default=1)
    g.add_argument("--max-replicas", type=_ranged(int, 1, 4096), default=1)
    g.add_argument("--gpus-per-replica", type=_ranged(float, 0, 64), default=None,
                   help="GPUs per replica (default: 1 if the cluster has GPUs, else CPU replicas)")
    p.add_argument("--local", action="store_true", help=argparse.SUPPRESS)
    return p


def _ranged(kind: type, low: float, high: float):
    """An argparse type: a `kind` number in [low, high], else one line naming the range."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= value <= high:  # NaN fails this too
            raise argparse.ArgumentTypeError(f"{text} is not between {low} and {high}")
        return value
    parse.__name__ = kind.__name__
    return parse


def _lora_dir(folder: Path | None) -> Path | None:
    if folder is None:
        return None
    folder = folder.expanduser().resolve()
    if not folder.is_dir():
        raise EditError(f"--lora-dir {folder} is not a folder.")
    return folder


def token_from_file(path: str | None) -> str:
    """The token in `path`, or a new one written there (owner-only) if the file is missing."""
    if path is None:
        token = secrets.token_urlsafe(32)
        print(f"rfedit-server: no --token-file; this run's token is {token}", file=sys.stderr)
        return token
    file = Path(path).expanduser()
    if file.exists():
        from rfedit_desktop.protocol.client import read_token  # noqa: PLC0415

        return read_token(str(file))
    token = secrets.token_urlsafe(32)
    try:
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(token + "\n")
    except OSError as exc:
        raise EditError(f"Cannot write the token file {file}: {exc.strerror or exc}.") from exc
    print(f"rfedit-server: wrote a new token to {file}", file=sys.stderr)
    return token


def _watch_stdin() -> None:
    """The GUI holds our stdin open; end of file means it quit or died."""
    def watch() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def serve(app, sock: socket.socket) -> None:
    import uvicorn  # noqa: PLC0415

    config = uvicorn.Config(app, log_level="warning", lifespan="off",
                            timeout_graceful_shutdown=2, access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except (OSError, OverflowError) as exc:
        sock.close()
        raise EditError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.") from exc
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    logging.basicConfig(level=logging.WARNING, format="rfedit-server: %(message)s")
    args = build_parser().parse_args(argv)
    models = tuple(args.model or ["demo"])
    try:
        choice = ModelChoice(models[0], args.device, args.memory_mode, args.quantize)
        if args.ray:  # before a token is made or a port taken
            try:
                from rfedit_desktop.server.ray_host import RayHost  # noqa: PLC0415
            except ImportError as exc:
                raise EditError("--ray needs Ray Serve: pip install 'rfedit-desktop[server]' "
                                f"({exc.name or exc} is missing)") from None
        if args.local:
            token = sys.stdin.readline().strip()
            if not token:
                raise EditError("the local engine needs its token on stdin")
            _watch_stdin()
            if hasattr(os, "nice"):
                os.nice(LOCAL_NICENESS)  # the window's thread wins when the cores are busy
            sock = _bind("127.0.0.1", 0)
        else:
            token = token_from_file(args.token_file)
            sock = _bind(args.host, args.port)
        from rfedit_desktop.server.app import create_app  # noqa: PLC0415

        if args.ray:
            try:
                host = RayHost(choice, models=models, address=args.ray_address,
                               min_replicas=args.min_replicas, max_replicas=args.max_replicas,
                               gpus_per_replica=args.gpus_per_replica)
            except EditError:
                raise
            except Exception as exc:  # noqa: BLE001 - Ray's own errors, in one line
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise EditError(f"Cannot start the engine on Ray Serve: {first[:200]}") from exc
        else:
            from rfedit_desktop.server.engine_host import EngineHost  # noqa: PLC0415

            host = EngineHost(choice, models=None if args.local else models)
            if not args.local:
                host.load(None)  # a remote engine loads its model at once
        shared_memory = args.local or shm.is_loopback(args.host)
        if shared_memory:
            shm.sweep()  # segments of clients killed since the last start
        app = create_app(host, token, max_body=args.max_body_mb << 20,
                         lora_dir=_lora_dir(args.lora_dir), client_paths=args.local,
                         shared_memory=shared_memory)
    except (EditError, ValueError) as exc:
        print(f"rfedit-server: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    port = sock.getsockname()[1]
    if args.local:
        print(f"{READY} {port}", flush=True)
    else:
        where = "Ray Serve" if args.ray else "this machine"
        print(f"rfedit-server: serving {models[0]} on http://{args.host}:{port} "
              f"(engine on {where})", file=sys.stderr, flush=True)
    try:
        serve(app, sock)
    finally:
        host.close()
    return 0
