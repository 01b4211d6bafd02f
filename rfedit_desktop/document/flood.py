"""Regions of similar colour: the magic wand's selection and the fill tool's area.

A pixel-by-pixel flood fill in Python takes seconds on a photo. Here the colour test runs once
over the whole image in numpy; the similar pixels are cut into horizontal runs, and the region
grows from the seed's run through runs that overlap it in the rows above and below, one
vectorised step per wide frontier (plain steps while it is narrow). A 6000x4000 photo takes well under a second (see
benchmarks/bench_editor_tools.py).
"""

from __future__ import annotations

import numpy as np


def similar(pixels: np.ndarray, seed: tuple[int, int], tolerance: int) -> np.ndarray:
    """HxW bool: pixels whose every channel is within `tolerance` (0..255) of the seed's.

    `pixels` is HxWx4 uint8 (any channel order; the seed is read from the same array). The
    test is `(p - lo) mod 256 <= hi - lo` on all four bytes of a row at once, in blocks of
    rows through reused buffers (fresh big arrays cost more in page faults than the maths).
    """
    x, y = seed
    h, w = pixels.shape[:2]
    ref = pixels[y, x].astype(np.int16)
    tol = int(max(0, min(255, tolerance)))
    lo = np.clip(ref - tol, 0, 255).astype(np.uint8)
    span = (np.clip(ref + tol, 0, 255) - lo).astype(np.uint8)
    rows = pixels.reshape(h, w * 4)
    lo_row, span_row = np.tile(lo, w), np.tile(span, w)
    out = np.empty((h, w), bool)
    block = 64
    diff = np.empty((block, w * 4), np.uint8)
    ok = np.empty((block, w * 4), bool)
    for r0 in range(0, h, block):
        n = min(block, h - r0)
        np.subtract(rows[r0 : r0 + n], lo_row, out=diff[:n])
        np.less_equal(diff[:n], span_row, out=ok[:n])
        np.equal(ok[:n].view(np.uint32), 0x01010101, out=out[r0 : r0 + n])
    return out


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, start, end) of every horizontal run of True, rows ascending, end exclusive."""
    h, w = mask.shape
    padded = np.zeros((h, w + 2), np.int8)
    padded[:, 1:-1] = mask
    edges = np.flatnonzero(np.diff(padded.ravel()))
    # each run gives a +1 edge (start) then a -1 edge (end); the padding keeps rows apart
    starts, ends = edges[0::2], edges[1::2]
    row = starts // (w + 2)
    return row, starts - row * (w + 2), ends - row * (w + 2)


def _expand(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Concatenate range(lo[i], hi[i]) for all i, vectorised."""
    n = hi - lo
    keep = n > 0
    lo, n = lo[keep], n[keep]
    if not len(n):
        return np.zeros(0, np.int64)
    offsets = np.repeat(np.cumsum(n) - n, n)
    return np.repeat(lo, n) + (np.arange(int(n.sum())) - offsets)


def connected(mask: np.ndarray, seed: tuple[int, int]) -> np.ndarray:
    """HxW bool: the 4-connected part of `mask` that contains `seed` (x, y); all False when
    the seed itself is not in the mask."""
    h, w = mask.shape
    x, y = seed
    out = np.zeros((h, w), bool)
    if not (0 <= x < w and 0 <= y < h) or not mask[y, x]:
        return out
    row, start, end = _runs(mask)
    stride = w + 1
    skey = row * stride + start  # sorted ascending: rows, then positions within a row
    ekey = row * stride + end
    # neighbours of run i in row r±1: runs j there with start_j < end_i and end_j > start_i
    down_lo = np.searchsorted(ekey, (row + 1) * stride + start, side="right")
    down_hi = np.searchsorted(skey, (row + 1) * stride + end, side="left")
    up_lo = np.searchsorted(ekey, (row - 1) * stride + start, side="right")
    up_hi = np.searchsorted(skey, (row - 1) * stride + end, side="left")
    first = int(np.searchsorted(skey, y * stride + x, side="right")) - 1
    seen = np.zeros(len(row), bool)
    seen[first] = True
    stack = [first]
    while stack:
        if len(stack) > 256:  # a wide front: one vectorised step for all of it
            f = np.array(stack)
            nxt = np.concatenate([_expand(down_lo[f], down_hi[f]), _expand(up_lo[f], up_hi[f])])
            nxt = np.unique(nxt[~seen[nxt]])
            seen[nxt] = True
            stack = nxt.tolist()
            continue
        i = stack.pop()  # a narrow front: plain steps cost less than numpy calls
        for j in range(down_lo[i], down_hi[i]):
            if not seen[j]:
                seen[j] = True
                stack.append(j)
        for j in range(up_lo[i], up_hi[i]):
            if not seen[j]:
                seen[j] = True
                stack.append(j)
    picked = np.flatnonzero(seen)
    marks = np.zeros((h, stride), np.int8)
    flat = marks.ravel()
    flat[row[picked] * stride + start[picked]] = 1
    flat[row[picked] * stride + end[picked]] = -1  # runs are maximal: never on a start
    np.cumsum(marks, axis=1, dtype=np.int8, out=marks)
    return marks[:, :w].view(bool)


def region(
    pixels: np.ndarray, seed: tuple[int, int], tolerance: int, contiguous: bool = True
) -> np.ndarray:
    """HxW bool: the pixels of similar colour to the seed, connected to it if `contiguous`."""
    ok = similar(pixels, seed, tolerance)
    return connected(ok, seed) if contiguous else ok
