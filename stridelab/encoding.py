"""Plain-data encoding of the values that cross the grader's trust boundary.

Exercise inputs and outputs travel between the grader and the sandboxed worker as JSON,
and public test cases are frozen to JSON files the check cells read. Nothing is ever
pickled: arrays travel as their raw bytes with a numeric dtype and a shape, checked against
each other on decode (no ``.npy`` header to parse), and only
the few kinds of value the exercises use are understood. Anything else is refused on
decode and reported as :class:`Unsupported` on encode, so a student's function cannot
smuggle code to the grader.

>>> import json, numpy as np
>>> decode(json.loads(json.dumps(encode((2, np.arange(3))))))
(2, array([0, 1, 2]))
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from stridelab.layers import Conv, Pool

__all__ = [
    "EncodingError",
    "Raises",
    "ShapeOnly",
    "Unsupported",
    "decode",
    "encode",
    "encode_or_unsupported",
]

TAG = "$"
MAX_ARRAY_BYTES = 256 * 2**20
MAX_DEPTH = 32
_NUMERIC_KINDS = "biuf"
_LAYERS = {cls.__name__: cls for cls in (Conv, Pool)}


class EncodingError(ValueError):
    """A value that cannot be encoded, or JSON that is not a valid encoding."""


@dataclass(frozen=True)
class Raises:
    """An expected result that is an exception of the named type, e.g. ``Raises("ValueError")``."""

    exception: str


@dataclass(frozen=True)
class ShapeOnly:
    """A known mistake recognised by the shape of its output alone (values unknown)."""

    shape: tuple[int, ...]


@dataclass(frozen=True)
class Unsupported:
    """A returned value the grader cannot read back (an object, a dict, a generator …)."""

    type_name: str


def _encode_array(array: np.ndarray) -> dict[str, Any]:
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise EncodingError(f"arrays of dtype {array.dtype} are not supported")
    return {TAG: "ndarray", "dtype": array.dtype.str, "shape": list(array.shape),
            "data": base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")}


def encode(value: Any, _depth: int = 0) -> Any:
    """Turn ``value`` into JSON-safe data; :class:`EncodingError` if it is of an unknown kind."""
    if _depth > MAX_DEPTH:
        raise EncodingError("value is nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else {TAG: "float", "value": repr(number)}
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return _encode_array(value)
    if isinstance(value, tuple):
        return {TAG: "tuple", "items": [encode(item, _depth + 1) for item in value]}
    if isinstance(value, list):
        return [encode(item, _depth + 1) for item in value]
    if isinstance(value, (Conv, Pool)):
        return {
            TAG: "layer",
            "type": type(value).__name__,
            "fields": {f.name: encode(getattr(value, f.name), _depth + 1) for f in fields(value)},
        }
    if isinstance(value, Raises):
        return {TAG: "raises", "exception": value.exception}
    if isinstance(value, ShapeOnly):
        return {TAG: "shape", "shape": list(value.shape)}
    if isinstance(value, Unsupported):
        return {TAG: "unsupported", "type": value.type_name}
    raise EncodingError(f"values of type {type(value).__name__} are not supported")


def encode_or_unsupported(value: Any) -> Any:
    """Like :func:`encode`, but an unreadable value becomes :class:`Unsupported` instead."""
    try:
        return encode(value)
    except (EncodingError, ValueError, TypeError, RecursionError):
        name = type(value).__name__
        if isinstance(value, np.ndarray):
            name = f"numpy array of dtype {value.dtype}"
        return encode(Unsupported(name))


def _array_dtype(name: Any) -> np.dtype:
    """A plain numeric dtype from its ``dtype.str`` (``"<f8"``), nothing else."""
    if not isinstance(name, str) or len(name) > 4 or name[1:2] not in _NUMERIC_KINDS:
        raise EncodingError(f"array data of an unsupported dtype {str(name)[:20]!r}")
    try:
        dtype = np.dtype(name)
    except TypeError as error:
        raise EncodingError(f"array data of an unsupported dtype {name!r}") from error
    if dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype:
        raise EncodingError(f"array data of an unsupported dtype {name!r}")
    return dtype


def _decode_array(data: dict[str, Any]) -> np.ndarray:
    raw, shape = data.get("data"), data.get("shape")
    if not isinstance(raw, str) or len(raw) > MAX_ARRAY_BYTES * 4 // 3 + 4:
        raise EncodingError("array data is missing or too large")
    if (not isinstance(shape, list) or len(shape) > MAX_DEPTH
            or not all(type(n) is int and 0 <= n <= MAX_ARRAY_BYTES for n in shape)):
        raise EncodingError("array data has an unreadable shape")
    dtype = _array_dtype(data.get("dtype"))
    try:
        buffer = bytearray(base64.b64decode(raw, validate=True))
    except ValueError as error:
        raise EncodingError(f"unreadable array data: {error}") from error
    if math.prod(shape) * dtype.itemsize != len(buffer):
        raise EncodingError(f"array data holds {len(buffer)} bytes, not the "
                            f"{math.prod(shape) * dtype.itemsize} its shape and dtype need")
    return np.frombuffer(buffer, dtype=dtype).reshape(shape)


def decode(data: Any, _depth: int = 0) -> Any:
    """Rebuild a value from :func:`encode`'s output, accepting nothing else."""
    if _depth > MAX_DEPTH:
        raise EncodingError("value is nested too deeply")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(item, _depth + 1) for item in data]
    if not isinstance(data, dict):
        raise EncodingError(f"unexpected JSON value of type {type(data).__name__}")
    tag = data.get(TAG)
    if tag == "ndarray":
        return _decode_array(data)
    if tag == "tuple" and isinstance(data.get("items"), list):
        return tuple(decode(item, _depth + 1) for item in data["items"])
    if tag == "float" and data.get("value") in ("nan", "inf", "-inf"):
        return float(data["value"])
    if tag == "layer" and data.get("type") in _LAYERS and isinstance(data.get("fields"), dict):
        layer = _LAYERS[data["type"]]
        names = {f.name for f in fields(layer)}
        if set(data["fields"]) - names:
            raise EncodingError(f"unknown fields for {data['type']}")
        return layer(**{k: decode(v, _depth + 1) for k, v in data["fields"].items()})
    if tag == "raises" and isinstance(data.get("exception"), str):
        return Raises(data["exception"])
    if tag == "shape" and isinstance(data.get("shape"), list):
        return ShapeOnly(tuple(int(n) for n in data["shape"]))
    if tag == "unsupported" and isinstance(data.get("type"), str):
        return Unsupported(data["type"][:200])
    raise EncodingError(f"unknown encoded value {str(data)[:80]!r}")
