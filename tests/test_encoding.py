"""The plain-data encoding that crosses the trust boundary: faithful, and refuses the rest."""

from __future__ import annotations

import base64
import io
import json
import pickle

import numpy as np
import pytest

from stridelab import Conv, Pool
from stridelab.encoding import EncodingError, Raises, ShapeOnly, Unsupported, decode, encode, encode_or_unsupported


def roundtrip(value):
    return decode(json.loads(json.dumps(encode(value))))


@pytest.mark.parametrize("value", [
    None, True, 3, -2.5, "text", [1, 2], (1, (2, 3)), [(3, 4, 5)],
    Conv(8, 3, stride=2, padding=(1, 0)), Pool(2), Raises("ValueError"), ShapeOnly((2, 3)),
    Unsupported("generator"),
], ids=repr)
def test_values_survive_a_json_roundtrip(value):
    assert roundtrip(value) == value


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "uint8", "bool"])
def test_arrays_keep_shape_dtype_and_values(dtype):
    array = (np.arange(24).reshape(2, 3, 4) % 3).astype(dtype)
    back = roundtrip(array)
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def test_numpy_scalars_become_python_numbers():
    assert roundtrip(np.int64(7)) == 7 and type(roundtrip(np.int64(7))) is int
    assert type(roundtrip(np.float32(0.5))) is float


def test_non_finite_floats_roundtrip():
    assert np.isnan(roundtrip(float("nan")))
    assert roundtrip(float("-inf")) == float("-inf")


@pytest.mark.parametrize("value", [{"a": 1}, object(), np.array([object()]), lambda: 1, {1, 2}])
def test_unknown_values_are_refused_or_marked_unsupported(value):
    with pytest.raises(EncodingError):
        encode(value)
    assert isinstance(decode(encode_or_unsupported(value)), Unsupported)


class Exploit:
    def __reduce__(self):
        return (print, ("unpickled!",))


def test_a_pickled_object_array_is_never_unpickled(capsys):
    """Object arrays (which would run code when unpickled) are refused, in any format."""
    buffer = io.BytesIO()
    np.save(buffer, np.array([Exploit()], dtype=object), allow_pickle=True)
    pickled = base64.b64encode(buffer.getvalue()).decode()
    for forged in ({"$": "ndarray", "npy": pickled},
                   {"$": "ndarray", "dtype": "|O", "shape": [1], "data": pickled}):
        with pytest.raises(EncodingError):
            decode(forged)
    assert "unpickled" not in capsys.readouterr().out


def _array(dtype, shape, data: bytes = b"") -> dict:
    return {"$": "ndarray", "dtype": dtype, "shape": shape,
            "data": base64.b64encode(data).decode()}


@pytest.mark.parametrize("forged", [
    _array("<f8", [2], b"\0" * 15),       # fewer bytes than the shape needs
    _array("<f8", [2], b"\0" * 17),       # more
    _array("<f8", [-1, -2], b"\0" * 16),  # negative sizes
    _array("<f8", [True], b"\0" * 8),     # not an int
    _array("<f8", "2", b"\0" * 16),
    _array("<f8", [1] * 40, b"\0" * 8),   # too many dimensions
    _array("<U2", [1], b"\0" * 8),        # text
    _array("<c16", [1], b"\0" * 16),      # complex
    _array("<M8[s]", [1], b"\0" * 8),     # dates
    _array([["a", "<f8"]], [1], b"\0" * 8),
    {"$": "ndarray", "dtype": "<f8", "shape": [1], "data": "not base64!"},
])
def test_forged_arrays_are_refused(forged):
    with pytest.raises(EncodingError):
        decode(forged)


@pytest.mark.parametrize("array", [
    np.arange(6, dtype=np.int64).reshape(2, 3), np.zeros((0, 3)), np.array(2.5),
    np.ones((2, 2), dtype=">i2"), np.arange(12.0).reshape(3, 4)[:, ::2], np.array([True]),
    np.arange(4, dtype=np.float32).reshape(2, 2).T,
])
def test_arrays_come_back_equal_and_writable(array):
    """dtype, byte order, shape and values survive; views and transposes come back whole;
    the decoded array can be written to, as a student's function may do with its input."""
    back = decode(json.loads(json.dumps(encode(array))))
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    back[...] = 0


@pytest.mark.parametrize("forged", [
    {"$": "pickle", "data": base64.b64encode(pickle.dumps(1)).decode()},
    {"$": "layer", "type": "os.system", "fields": {}},
    {"$": "layer", "type": "Conv", "fields": {"out_channels": 1, "kernel": 1, "evil": 1}},
    {"plain": "dict"},
])
def test_forged_encodings_are_refused(forged):
    with pytest.raises((EncodingError, ValueError)):
        decode(forged)
