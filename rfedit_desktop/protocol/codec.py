"""EditRequest and EditResult as bytes, the one serialisation both sides of the protocol use.

A frame is `RFE1`, a little-endian u32 header length, a JSON header, then the raw bytes of each
array the header lists (dtype, shape). Pixels travel raw: lossless and with no encode cost, so
a 4096² request is one memcpy on each side. Every check here raises `ProtocolError` with one
line an artist or an administrator can read; nothing a client sends is trusted.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import struct
import types
import typing
from functools import cache
from pathlib import PurePath
from typing import Any

import numpy as np

from rfedit_desktop.engine.request import EditRequest, EditResult
from rfedit_desktop.protocol import PROTOCOL_VERSION
from rfedit_desktop.protocol.model_choice import ModelChoice

MAGIC = b"RFE1"
_HEAD = struct.Struct("<4sI")
MAX_HEADER_BYTES = 4 << 20
MAX_SIDE = 32768
DTYPES = ("uint8", "uint16", "float32", "float64", "bool")
JOB_KINDS = ("edit", "generate", "invert")


class ProtocolError(ValueError):
    """A malformed or unacceptable message; its text is the one line the other side sees."""


# -- JSON ----------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (PurePath, bytes)):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def dumps(obj: Any) -> bytes:
    """JSON for the wire: numpy values become numbers, anything odd becomes text."""
    return json.dumps(obj, default=_plain, allow_nan=False).encode("utf-8")


def _reject_constant(name: str) -> Any:
    raise ProtocolError(f"the JSON holds {name}, which is not a number the engine accepts")


def loads(data: bytes | str) -> Any:
    """Strict JSON (no NaN/Infinity); ProtocolError with one line if it is not JSON."""
    try:
        return json.loads(data, parse_constant=_reject_constant)
    except ProtocolError:
        raise
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"the body is not valid JSON ({exc.__class__.__name__}: "
                            f"{str(exc).splitlines()[0][:80]})") from None


# -- frames --------------------------------------------------------------------------------------
def byte_buffer(size: int) -> memoryview:
    """A writable buffer for a body of `size` bytes. numpy's allocation asks the kernel for
    huge pages, which makes the first write into a 100 MiB body several times faster than
    into a bytearray (page faults, not copying, are most of a large body's cost)."""
    return memoryview(np.empty(size, np.uint8)).cast("B")


def frame_parts(header: dict[str, Any],
                arrays: dict[str, np.ndarray] | None = None) -> list[bytes | memoryview]:
    """A frame as buffers to send one after another: the arrays' own memory, not copied."""
    blobs: list[bytes | memoryview] = []
    specs = []
    for name, value in (arrays or {}).items():
        arr = np.ascontiguousarray(value)
        if arr.dtype.name not in DTYPES:
            arr = arr.astype(np.float32)
        specs.append({"name": name, "dtype": arr.dtype.name, "shape": list(arr.shape)})
        blobs.append(arr.data.cast("B") if arr.size else b"")
    head = dumps({**header, "protocol": PROTOCOL_VERSION, "arrays": specs})
    return [_HEAD.pack(MAGIC, len(head)), head, *blobs]


def encode_frame(header: dict[str, Any], arrays: dict[str, np.ndarray] | None = None) -> bytes:
    """One frame as one byte string; `arrays` travel as raw C-order bytes after the header."""
    return b"".join(frame_parts(header, arrays))


def decode_frame(data: bytes | bytearray | memoryview) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(header, arrays) of a frame; arrays are read-only views into `data` (no copy)."""
    view = memoryview(data)
    if len(view) < _HEAD.size:
        raise ProtocolError("the body is too short to be an rfedit frame")
    magic, size = _HEAD.unpack_from(view)
    if magic != MAGIC:
        raise ProtocolError("the body is not an rfedit frame (wrong magic bytes)")
    if size > MAX_HEADER_BYTES or _HEAD.size + size > len(view):
        raise ProtocolError("the frame's header length is out of range")
    header = loads(bytes(view[_HEAD.size:_HEAD.size + size]))
    if not isinstance(header, dict):
        raise ProtocolError("the frame's header must be a JSON object")
    check_version(header.get("protocol"))
    specs = header.pop("arrays", [])
    if not isinstance(specs, list):
        raise ProtocolError("'arrays' must be a list")
    offset = _HEAD.size + size
    arrays: dict[str, np.ndarray] = {}
    for spec in specs:
        name, dtype, shape = _array_spec(spec)
        count = math.prod(shape)
        nbytes = count * np.dtype(dtype).itemsize
        if offset + nbytes > len(view):
            raise ProtocolError(f"array '{name}' is cut short: the body ends before its bytes")
        arrays[name] = np.frombuffer(view[offset:offset + nbytes], dtype=dtype,
                                     count=count).reshape(shape)
        offset += nbytes
    if offset != len(view):
        raise ProtocolError(f"the body has {len(view) - offset} bytes after its last array")
    return header, arrays


def _array_spec(spec: Any) -> tuple[str, str, tuple[int, ...]]:
    if not isinstance(spec, dict):
        raise ProtocolError("each entry of 'arrays' must be an object")
    name, dtype, shape = spec.get("name"), spec.get("dtype"), spec.get("shape")
    if not isinstance(name, str) or not name or len(name) > 200:
        raise ProtocolError("an array needs a 'name' of 1 to 200 characters")
    if dtype not in DTYPES:
        raise ProtocolError(f"array '{name}': dtype must be one of {', '.join(DTYPES)}")
    if (not isinstance(shape, list) or len(shape) > 3
            or not all(type(s) is int and 0 <= s for s in shape)):
        raise ProtocolError(f"array '{name}': shape must be a list of at most 3 sizes ≥ 0")
    if len(shape) >= 2 and max(shape[:2]) > MAX_SIDE:
        raise ProtocolError(f"array '{name}' is larger than {MAX_SIDE} pixels on a side")
    return name, dtype, tuple(shape)


def check_version(version: Any) -> None:
    """One clear line when the other side speaks another protocol version."""
    if version == PROTOCOL_VERSION:
        return
    if not isinstance(version, int) or isinstance(version, bool):
        raise ProtocolError(f"the message names no protocol version; this side speaks "
                            f"version {PROTOCOL_VERSION}")
    newer = "newer" if version > PROTOCOL_VERSION else "older"
    raise ProtocolError(f"the other side speaks engine protocol {version} ({newer}); this side "
                        f"speaks {PROTOCOL_VERSION}: install the same rfedit version on both")


# -- EditRequest ---------------------------------------------------------------------------------
@cache
def _request_fields() -> dict[str, Any]:
    hints = typing.get_type_hints(EditRequest)
    return {f.name: hints[f.name] for f in dataclasses.fields(EditRequest)}


def _is_array_field(name: str, value: Any) -> bool:
    return _request_fields().get(name) is Any and value is not None and not isinstance(
        value, (str, int, float, bool, list, dict))


def encode_request(request: EditRequest, kind: str = "edit",
                   choice: ModelChoice | None = None) -> bytes:
    """Every field of `request`; pixel fields (image, mask, …) as raw arrays. `choice` is the
    model the job is for (None: whichever the engine has chosen)."""
    return b"".join(request_parts(request, kind, choice))


def request_parts(request: EditRequest, kind: str = "edit",
                  choice: ModelChoice | None = None) -> list[bytes | memoryview]:
    """`encode_request` as buffers (see `frame_parts`)."""
    if kind not in JOB_KINDS:
        raise ProtocolError(f"unknown job kind {kind!r}")
    fields: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    for name in _request_fields():
        value = getattr(request, name)
        if _is_array_field(name, value):
            arrays[name] = np.asarray(value)
        else:
            fields[name] = value
    header: dict[str, Any] = {"kind": kind, "fields": fields}
    if choice is not None:
        header["choice"] = choice_to_json(choice)
    return frame_parts(header, arrays)


def decode_request(data: bytes | memoryview) -> tuple[str, EditRequest, ModelChoice | None]:
    """(job kind, EditRequest, the model it is for or None) from a frame; ProtocolError names
    the first bad field."""
    header, arrays = decode_frame(data)
    choice = choice_from_json(header["choice"]) if "choice" in header else None
    kind = header.get("kind")
    if kind not in JOB_KINDS:
        raise ProtocolError(f"'kind' must be one of {', '.join(JOB_KINDS)}")
    given = header.get("fields", {})
    if not isinstance(given, dict):
        raise ProtocolError("'fields' must be an object")
    known = _request_fields()
    values: dict[str, Any] = {}
    for name, value in list(given.items()) + list(arrays.items()):
        if name not in known:
            raise ProtocolError(f"unknown request field '{name}' (is the client newer than the "
                                "engine?)")
        if name in values:
            raise ProtocolError(f"request field '{name}' is given twice")
        values[name] = value if name in arrays else _check(name, known[name], value)
    if "prompt" not in values:
        raise ProtocolError("the request has no 'prompt'")
    values.setdefault("image", None)
    return str(kind), EditRequest(**values), choice


def _check(name: str, hint: Any, value: Any) -> Any:
    ok, converted = _convert(hint, value)
    if not ok:
        raise ProtocolError(f"request field '{name}' must be {_describe(hint)}, not "
                            f"{type(value).__name__} {json.dumps(value, default=str)[:40]}")
    return converted


def _convert(hint: Any, value: Any) -> tuple[bool, Any]:
    origin = typing.get_origin(hint)
    if hint is Any:
        return True, value
    if hint is type(None):
        return value is None, None
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(hint):
            ok, converted = _convert(arg, value)
            if ok:
                return True, converted
        return False, None
    if origin is typing.Literal:
        return value in typing.get_args(hint), value
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, list):
            return False, None
        if len(args) == 2 and args[1] is Ellipsis:
            args = (args[0],) * len(value)
        if len(args) != len(value):
            return False, None
        out = [_convert(a, v) for a, v in zip(args, value, strict=True)]
        return all(ok for ok, _ in out), tuple(v for _, v in out)
    if hint is bool:
        return isinstance(value, bool), value
    if hint is int:
        return type(value) is int, value
    if hint is float:
        return type(value) in (int, float), float(value) if type(value) in (int, float) else None
    if hint is str:
        return isinstance(value, str), value
    return False, None


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    if origin is tuple:
        return f"a list of {len(typing.get_args(hint))} numbers"
    if hint is type(None):
        return "null"
    return {int: "an integer", float: "a number", str: "text", bool: "true or false"}.get(
        hint, str(hint))


# -- EditResult ----------------------------------------------------------------------------------
def encode_result(result: EditResult) -> bytes:
    return b"".join(result_parts(result))


def result_parts(result: EditResult) -> list[bytes | memoryview]:
    """`encode_result` as buffers (see `frame_parts`)."""
    return frame_parts(
        {"kind": "result", "metadata": result.metadata or {}, "timings": result.timings or {},
         "nfe": int(result.nfe), "cache_hit": bool(result.cache_hit)},
        {"image": np.asarray(result.image)},
    )


def decode_result(data: bytes | memoryview) -> EditResult:
    header, arrays = decode_frame(data)
    if header.get("kind") != "result" or "image" not in arrays:
        raise ProtocolError("the answer is not an edit result")
    return EditResult(image=arrays["image"], metadata=dict(header.get("metadata") or {}),
                      timings={k: float(v) for k, v in (header.get("timings") or {}).items()},
                      nfe=int(header.get("nfe", 0)), cache_hit=bool(header.get("cache_hit")))


# -- smaller messages ----------------------------------------------------------------------------
def encode_preview(pixels: np.ndarray) -> dict[str, Any]:
    """A preview for the event stream (small: the latent's size), raw bytes in base64."""
    arr = np.ascontiguousarray(pixels, dtype=np.uint8)
    return {"shape": list(arr.shape), "data": base64.b64encode(arr.data.cast("B")).decode()}


def decode_preview(event: dict[str, Any]) -> np.ndarray:
    shape = tuple(int(s) for s in event["shape"])
    return np.frombuffer(base64.b64decode(event["data"]), dtype=np.uint8).reshape(shape)


_CHOICE_FIELDS = tuple(f.name for f in dataclasses.fields(ModelChoice))


def choice_to_json(choice: ModelChoice) -> dict[str, str]:
    return {name: str(getattr(choice, name)) for name in _CHOICE_FIELDS}


def choice_from_json(value: Any) -> ModelChoice | None:
    """A ModelChoice; None for `{}` (the model the engine serves)."""
    if value == {}:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("model", "demo"), str):
        raise ProtocolError(f"a model choice is an object with {', '.join(_CHOICE_FIELDS)}")
    extra = set(value) - set(_CHOICE_FIELDS)
    if extra:
        raise ProtocolError(f"unknown model choice field '{sorted(extra)[0]}'")
    try:
        return ModelChoice(**{k: str(v) for k, v in value.items()})
    except (TypeError, ValueError) as exc:
        raise ProtocolError(str(exc)) from None


def encode_files(files: dict[str, bytes]) -> bytes:
    """Named byte strings (a project's stored inversions) as one frame."""
    return encode_frame({"kind": "files"},
                        {name: np.frombuffer(data, dtype=np.uint8) for name, data in files.items()})


def decode_files(data: bytes | memoryview) -> dict[str, bytes]:
    header, arrays = decode_frame(data)
    if header.get("kind") != "files":
        raise ProtocolError("the body is not a set of files")
    return {name: arr.tobytes() for name, arr in arrays.items() if arr.ndim == 1}
