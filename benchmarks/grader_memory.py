"""The grader's own peak memory against the size of what a submission sends back.

    .venv/bin/python benchmarks/grader_memory.py
    .venv/bin/python benchmarks/grader_memory.py --sizes 1e3 1e6 1e7

A student's ``conv2d`` returns an array of N float64 values (a case needs 9 of them) — or,
having replaced the worker's ``json``, sends one answer line of N bytes — or the notebook
holds N bytes of code (parsed by the worker, never by the grader). Each submission is
graded alone in a fresh grader process (bubblewrap, as an instructor runs it), which
reports its own peak resident memory: the worker's memory is its own, limited separately.
Printed side by side with the size of the answer attempted, the grader's peak stays flat:
answers are capped per case at what the case can need, judged as they arrive and dropped.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NB01 = "01_convolution_dot_product"

MEASURE = """
import json, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from grader import GradingOptions, grade
started = time.perf_counter()
summary = grade([Path({folder!r})], GradingOptions(out=Path({out!r}), jobs=1, progress=False,
                                                 seed=1, fresh=True))
# VmHWM: this process's own peak since exec (ru_maxrss would count the parent's at fork)
peak = next(int(line.split()[1]) for line in open("/proc/self/status")
            if line.startswith("VmHWM")) / 1024
print(json.dumps({{"peak_mb": peak, "seconds": time.perf_counter() - started,
                  "score": summary.results[0].score}}))
"""

ATTACKS = {
    "array": "def conv2d(x, w):\n    return np.zeros({n})\n",
    "json line": "import json\njson.dumps = lambda *a, **k: 'x' * {n}\n"
                 "def conv2d(x, w):\n    return np.zeros((1, 1))\n",
    "code": "x = [" + "1, " * 0 + "{code}]\ndef conv2d(x, w):\n    return np.zeros((1, 1))\n",
}
"""A returned array of N values; an answer line of N bytes; a notebook with N bytes of code."""


def measure(kind: str, n: int, scratch: Path) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from tests.submissions import write_submission

    folder = scratch / f"{kind.replace(' ', '-')}-{n}" / "student"
    folder.mkdir(parents=True)
    source = ATTACKS[kind].format(n=n, code="1, " * (n // 3))
    write_submission(folder, NB01, {"conv2d": source})
    code = MEASURE.format(root=str(ROOT), folder=str(folder.parent), out=str(folder.parent / "out"))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=900, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e3, 1e5, 1e6, 1e7, 5e7])
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes]
    with tempfile.TemporaryDirectory(prefix="grader-memory-") as scratch:
        baseline = measure("array", 9, Path(scratch))
        print(f"honest-sized answer (9 values): grader peak {baseline['peak_mb']:.0f} MB, "
              f"{baseline['seconds']:.1f} s")
        print(f"{'attack':<10}{'bytes sent':>16}{'grader peak':>14}{'× honest':>10}{'time':>8}")
        for kind in ATTACKS:
            for n in sizes:
                got = measure(kind, n, Path(scratch))
                sent = n * 8 if kind == "array" else n
                if kind == "code" and n > 60 * 2**20:
                    continue  # over the 64 MB notebook cap: refused unread
                print(f"{kind:<10}{sent / 2**20:>13.1f} MB{got['peak_mb']:>11.0f} MB"
                      f"{got['peak_mb'] / baseline['peak_mb']:>9.2f}×{got['seconds']:>7.1f}s")


if __name__ == "__main__":
    main()
