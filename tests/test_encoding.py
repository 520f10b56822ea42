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


def test_a_pickled_object_array_is_never_unpickled():
    """An .npy holding pickled objects (which would run code on load) is refused."""
    buffer = io.BytesIO()
    np.save(buffer, np.array([Exploit()], dtype=object), allow_pickle=True)
    forged = {"$": "ndarray", "npy": base64.b64encode(buffer.getvalue()).decode()}
    with pytest.raises(EncodingError):
        decode(forged)


@pytest.mark.parametrize("forged", [
    {"$": "pickle", "data": base64.b64encode(pickle.dumps(1)).decode()},
    {"$": "layer", "type": "os.system", "fields": {}},
    {"$": "layer", "type": "Conv", "fields": {"out_channels": 1, "kernel": 1, "evil": 1}},
    {"$": "ndarray", "npy": "not base64!"},
    {"plain": "dict"},
])
def test_forged_encodings_are_refused(forged):
    with pytest.raises((EncodingError, ValueError)):
        decode(forged)
