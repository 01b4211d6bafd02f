"""Opening a hostile .ora whose layers all name one padded member: time and peak memory.

    python benchmarks/bench_ora_shared_member.py [--layers 40] [--member-mb 85]
    python benchmarks/bench_ora_shared_member.py --source DIR    # another checkout, to compare

The file is small (about 4.5 MB): one 64x64 PNG padded with a compressible private chunk to
--member-mb, named by every layer of stack.xml. Each reference would unpack the member again;
the reader must read it once and count every reference against its unpacked-size cap. The
open runs in a child process, so its peak RSS is the reader's alone.
"""

from __future__ import annotations

import argparse
import io
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import resource, sys, time
from rfedit_desktop.document import DocumentError, load_ora
t = time.perf_counter()
try:
    doc = load_ora(sys.argv[1])
    outcome = f"loaded {len(doc.layers)} layers"
except DocumentError as exc:
    outcome = f"refused: {exc}"
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{seconds:.2f}|{peak:.0f}|{outcome}")
"""


def padded_png(pad_bytes: int, seed: int = 0) -> bytes:
    """A valid 64x64 PNG with a private ancillary chunk of `pad_bytes` sparse random bytes
    (deflates about 19:1, under the reader's zip-bomb ratio)."""
    buf = io.BytesIO()
    Image.new("RGBA", (64, 64), (200, 60, 40, 255)).save(buf, format="PNG")
    png = buf.getvalue()
    rng = np.random.default_rng(seed)
    parts = []
    for start in range(0, pad_bytes, 1 << 23):
        n = min(1 << 23, pad_bytes - start)
        parts.append((rng.integers(1, 256, n, dtype=np.uint8) * (rng.random(n) < 0.015))
                     .astype(np.uint8).tobytes())
    pad = b"".join(parts)
    chunk = struct.pack(">I", len(pad)) + b"paDd" + pad
    chunk += struct.pack(">I", zlib.crc32(b"paDd" + pad) & 0xFFFFFFFF)
    iend = png.rindex(b"IEND") - 4
    return png[:iend] + chunk + png[iend:]


def craft(path: Path, layers: int, member_mb: int) -> None:
    stack = "".join(f'<layer name="L{i}" src="data/pad.png"/>' for i in range(layers))
    xml = f'<?xml version="1.0"?><image w="64" h="64"><stack>{stack}</stack></image>'
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), b"image/openraster")
        zf.writestr("stack.xml", xml, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("data/pad.png", padded_png(member_mb * 1024**2),
                    compress_type=zipfile.ZIP_DEFLATED)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=40)
    ap.add_argument("--member-mb", type=int, default=85)
    ap.add_argument("--source", type=Path, default=ROOT, help="checkout whose reader is measured")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "shared-member.ora"
        craft(path, args.layers, args.member_mb)
        size = path.stat().st_size / 1024**2
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True,
            cwd=args.source, env={"PYTHONPATH": str(args.source), "QT_QPA_PLATFORM": "offscreen",
                                  "PATH": "/usr/bin:/bin"}, check=False,
        )
    if out.returncode != 0:
        print(out.stderr[-2000:], file=sys.stderr)
        return 1
    seconds, peak, outcome = out.stdout.strip().splitlines()[-1].split("|", 2)
    print(f"{size:.1f} MB file, {args.layers} layers naming one {args.member_mb} MB member "
          f"({args.source}):")
    print(f"  {outcome[:120]}")
    print(f"  open: {float(seconds):.1f} s, peak RSS {float(peak):.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
