"""``conv2d_fast`` as different learners write it: four loop-free versions and two loops over
output positions, each as the source of an exercise cell (the notebook imports numpy as np).

The speed test must pass every loop-free version every time and fail every loop over output
positions every time, on any machine and under any load (tests/test_nb05_efficiency.py,
tests/test_grade.py)."""

from __future__ import annotations

from typing import Any

PAIRS = '''
def _pair(v):
    return (v, v) if np.ndim(v) == 0 else tuple(v)

def _padded(x, padding):
    ph, pw = _pair(padding)
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))

def _sizes(xp, w, stride):
    sh, sw = _pair(stride)
    kh, kw = w.shape[2:]
    return sh, sw, (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
'''

LOOP_FREE = {
    "einsum over a window view": PAIRS + '''
def conv2d_fast(x, w, b=None, stride=1, padding=0):
    xp = _padded(x, padding)
    sh, sw, ho, wo = _sizes(xp, w, stride)
    windows = np.lib.stride_tricks.sliding_window_view(xp, w.shape[2:], axis=(2, 3))
    out = np.einsum("nchwij,ocij->nohw", windows[:, :, ::sh, ::sw][:, :, :ho, :wo], w,
                    optimize=True)
    return out if b is None else out + b[:, None, None]
''',
    "tensordot over a window view": PAIRS + '''
def conv2d_fast(x, w, b=None, stride=1, padding=0):
    xp = _padded(x, padding)
    sh, sw, ho, wo = _sizes(xp, w, stride)
    windows = np.lib.stride_tricks.sliding_window_view(xp, w.shape[2:], axis=(2, 3))
    out = np.tensordot(windows[:, :, ::sh, ::sw][:, :, :ho, :wo], w, axes=([1, 4, 5], [1, 2, 3]))
    out = out.transpose(0, 3, 1, 2)
    return out if b is None else out + b[:, None, None]
''',
    "im2col and one matrix product": PAIRS + '''
def conv2d_fast(x, w, b=None, stride=1, padding=0):
    xp = _padded(x, padding)
    sh, sw, ho, wo = _sizes(xp, w, stride)
    n, c = xp.shape[:2]
    o, _, kh, kw = w.shape
    windows = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    columns = windows[:, :, ::sh, ::sw][:, :, :ho, :wo].transpose(0, 2, 3, 1, 4, 5)
    out = columns.reshape(n * ho * wo, c * kh * kw) @ w.reshape(o, -1).T
    out = out.reshape(n, ho, wo, o).transpose(0, 3, 1, 2)
    return out if b is None else out + b[:, None, None]
''',
    "a loop over the kernel offsets": PAIRS + '''
def conv2d_fast(x, w, b=None, stride=1, padding=0):
    xp = _padded(x, padding)
    sh, sw, ho, wo = _sizes(xp, w, stride)
    out = np.zeros((x.shape[0], w.shape[0], ho, wo))
    for i in range(w.shape[2]):
        for j in range(w.shape[3]):
            patch = xp[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    return out if b is None else out + b[:, None, None]
''',
}

POSITION_LOOPS = {
    "a loop over output positions, vectorised over batch and filters": PAIRS + '''
def conv2d_fast(x, w, b=None, stride=1, padding=0):
    xp = _padded(x, padding)
    sh, sw, ho, wo = _sizes(xp, w, stride)
    kh, kw = w.shape[2:]
    out = np.zeros((x.shape[0], w.shape[0], ho, wo))
    for i in range(ho):
        for j in range(wo):
            window = xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3]))
    return out if b is None else out + b[:, None, None]
''',
    "the naive loop over images, filters and positions": PAIRS + '''
def conv2d_fast(x, w, b=None, stride=1, padding=0):
    xp = _padded(x, padding)
    sh, sw, ho, wo = _sizes(xp, w, stride)
    kh, kw = w.shape[2:]
    out = np.zeros((x.shape[0], w.shape[0], ho, wo))
    for n in range(x.shape[0]):
        for o in range(w.shape[0]):
            for i in range(ho):
                for j in range(wo):
                    out[n, o, i, j] = np.sum(xp[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw] * w[o])
    return out if b is None else out + b[:, None, None]
''',
}


def compile_variant(source: str) -> Any:
    """The ``conv2d_fast`` a variant's cell defines."""
    import numpy as np

    namespace: dict[str, Any] = {"np": np}
    exec(compile(source, "<variant>", "exec"), namespace)
    return namespace["conv2d_fast"]
