"""What stride saves, and what vectorising buys: notebook 05's claims, measured at full size.

    .venv/bin/python benchmarks/conv.py [--repeats 7] [--threads 1] [--naive-images 8]

Times, on one float64 layer — input (8, 16, 64, 64), 32 filters of 3×3, padding 1 — at
strides 1, 2 and 4:

- ``naive loop``: one ``np.sum`` per output value (notebook 04's definition, written out);
- ``conv2d_fast``: the solution of notebook 05, read from ``solutions/05_efficiency.ipynb``
  (``einsum`` over a ``sliding_window_view``, ``optimize=True``);
- other numpy formulations of the same layer: ``tensordot`` over the window view, im2col
  (copy the windows into a matrix, one matrix product), and shift-and-add (one strided
  slice of the whole batch per kernel offset).

All are checked against each other first. It prints the times side by side, the measured
speed-up of strides 2 and 4 over stride 1 next to the ideal ``s²``, and the speed-up of
``conv2d_fast`` over the naive loop, then checks notebook 05's two claims: stride 2 at least
3× faster than stride 1, and ``conv2d_fast`` at least 50× faster than the naive loop (exit
status 1 if either fails).

Timings use one thread of the linear-algebra library by default (``--threads``): with
several, threads waiting for one another on a busy machine make small products jumpy. The
naive loop runs once per stride on all 8 images (about 10 s in all); ``--naive-images 1``
times it on the first image only and scales by 8, which the output then says.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHAPE, FILTERS, KERNEL, PADDING, STRIDES = (8, 16, 64, 64), 32, 3, 1, (1, 2, 4)
STRIDE_2_CLAIM, VECTORISE_CLAIM = 3.0, 50.0


def _set_threads(threads: int) -> None:
    """Must run before numpy is imported: the libraries read these once, at load."""
    for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[name] = str(threads)


def solution_conv2d_fast() -> Callable:
    """``conv2d_fast`` exactly as the solution notebook writes it."""
    import nbformat
    import numpy as np
    from numpy.lib.stride_tricks import as_strided, sliding_window_view

    notebook = nbformat.read(ROOT / "solutions" / "05_efficiency.ipynb", as_version=4)
    (cell,) = [c for c in notebook.cells
               if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "conv2d_fast"]
    namespace = {"np": np, "sliding_window_view": sliding_window_view, "as_strided": as_strided}
    exec(compile(cell.source, "<solutions/05_efficiency.ipynb: conv2d_fast>", "exec"), namespace)
    return namespace["conv2d_fast"]


def formulations() -> dict[str, Callable]:
    """Every vectorised formulation timed, by name: ``f(x, w, stride, padding)``."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    def windows(x, w, s, p):
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        return sliding_window_view(xp, w.shape[2:], axis=(2, 3))[:, :, ::s, ::s]

    def tensordot(x, w, s, p):
        return np.tensordot(windows(x, w, s, p), w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)

    def im2col(x, w, s, p):
        view = windows(x, w, s, p)                       # (N, C, H', W', kH, kW), no copy
        n, c, h, ww, kh, kw = view.shape
        columns = view.transpose(0, 2, 3, 1, 4, 5).reshape(n * h * ww, c * kh * kw)  # copies
        out = columns @ w.reshape(w.shape[0], -1).T      # one matrix product
        return out.reshape(n, h, ww, -1).transpose(0, 3, 1, 2)

    def shift_and_add(x, w, s, p):
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        kh, kw = w.shape[2:]
        h_out, w_out = (xp.shape[2] - kh) // s + 1, (xp.shape[3] - kw) // s + 1
        out = np.zeros((x.shape[0], w.shape[0], h_out, w_out))
        for a in range(kh):
            for d in range(kw):
                patch = xp[:, :, a:a + s * (h_out - 1) + 1:s, d:d + s * (w_out - 1) + 1:s]
                out += np.tensordot(w[:, :, a, d], patch, axes=([1], [1])).transpose(1, 0, 2, 3)
        return out

    fast = solution_conv2d_fast()
    return {
        "conv2d_fast (solution)": lambda x, w, s, p: fast(x, w, None, s, p),
        "tensordot on the view": tensordot,
        "im2col + matmul": im2col,
        "shift and add": shift_and_add,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7,
                        help="runs per vectorised timing; the fastest counts")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for the linear-algebra library (set before numpy loads)")
    parser.add_argument("--naive-images", type=int, default=SHAPE[0], choices=range(1, 9),
                        metavar="1..8", help="images the naive loop is timed on (scaled to 8)")
    args = parser.parse_args(argv)
    _set_threads(args.threads)
    sys.path.insert(0, str(ROOT))

    import numpy as np

    from stridelab.efficiency import naive_conv2d
    from stridelab.timing import best_time

    rng = np.random.default_rng(0)
    x = rng.standard_normal(SHAPE)
    w = rng.standard_normal((FILTERS, SHAPE[1], KERNEL, KERNEL))
    methods = formulations()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"input {SHAPE}, {FILTERS} filters {KERNEL}×{KERNEL}, padding {PADDING}, float64; "
          f"numpy {np.__version__}, {args.threads} BLAS thread(s), load average {load:.2f}")

    # 1. Every formulation gives the naive loop's answer (checked on two images).
    for s in STRIDES:
        expected = naive_conv2d(x[:2], w, None, s, PADDING)
        for name, method in methods.items():
            if not np.allclose(method(x[:2], w, s, PADDING), expected):
                print(f"{name} disagrees with the naive loop at stride {s}")
                return 1

    # 2. Times.
    times: dict[str, dict[int, float]] = {name: {} for name in ["naive loop", *methods]}
    for s in STRIDES:
        for name, method in methods.items():
            times[name][s] = best_time(lambda: method(x, w, s, PADDING), budget=float("inf"),
                                       max_repeats=args.repeats)
        part = x[:args.naive_images]
        seconds = best_time(lambda: naive_conv2d(part, w, None, s, PADDING), max_repeats=1)
        times["naive loop"][s] = seconds * SHAPE[0] / args.naive_images
    if args.naive_images < SHAPE[0]:
        print(f"(naive loop timed once on {args.naive_images} of {SHAPE[0]} images, scaled "
              f"×{SHAPE[0] / args.naive_images:g})")

    width = max(map(len, times)) + 2
    print("\ntime per call (ms)".ljust(width + 1) + "".join(f"{f'stride {s}':>12}" for s in STRIDES)
          + "   speed-up over stride 1 (ideal " + ", ".join(f"{s * s}×" for s in STRIDES[1:]) + ")")
    for name, row in times.items():
        ups = ", ".join(f"{row[1] / row[s]:.1f}×" for s in STRIDES[1:])
        print(name.ljust(width) + "".join(f"{row[s] * 1e3:12.2f}" for s in STRIDES) + f"   {ups}")

    fast = times["conv2d_fast (solution)"]
    best_name = min(methods, key=lambda name: times[name][1])
    print(f"\nfastest numpy formulation at stride 1: {best_name}")
    print("conv2d_fast over the naive loop: " + ", ".join(
        f"{times['naive loop'][s] / fast[s]:.0f}× at stride {s}" for s in STRIDES))

    # 3. The notebook's claims.
    stride_2 = fast[1] / fast[2]
    vectorised = min(times["naive loop"][s] / fast[s] for s in STRIDES)
    claims = [
        (f"stride 2 is {stride_2:.1f}× faster than stride 1 (claim: at least "
         f"{STRIDE_2_CLAIM:g}×, ideal 4×)", stride_2 >= STRIDE_2_CLAIM),
        (f"conv2d_fast is at least {vectorised:.0f}× faster than the naive loop (claim: at "
         f"least {VECTORISE_CLAIM:g}×)", vectorised >= VECTORISE_CLAIM),
    ]
    print()
    for text, holds in claims:
        print(("ok    " if holds else "FAIL  ") + text)
    return 0 if all(holds for _, holds in claims) else 1


if __name__ == "__main__":
    sys.exit(main())
