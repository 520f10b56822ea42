"""Gradescope: build the autograder bundle, and run inside Gradescope's container.

``python -m grader gradescope-bundle`` writes a zip with Gradescope's two entry points:

- ``setup.sh`` — run once when Gradescope builds the image: installs Python, bubblewrap
  and this repository's requirements into ``/autograder/venv``;
- ``run_autograder`` — run for every submission: ``python -m grader gradescope-run``, which
  grades ``/autograder/submission`` and writes ``/autograder/results/results.json``.

``gradescope-run`` always leaves a ``results.json``: when grading cannot even start, it is a
zero score whose output says why, so the student sees a message rather than an error page.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from pathlib import Path

from grader._text import clean
from grader.errors import GraderError, OutputError
from grader.grade import GradingOptions, grade
from grader.report import read_results, write_text_atomically

__all__ = ["build_bundle", "run_in_gradescope"]

ROOT = Path(__file__).resolve().parent.parent
SOURCE_ITEMS = ("grader", "stridelab", "requirements.txt", "pyproject.toml", "README.md", "LICENSE")

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
# bubblewrap isolates student code where the container allows it; the grader says which.
apt-get install -y --no-install-recommends python3 python3-venv python3-pip bubblewrap
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --upgrade pip
cd /autograder/source
/autograder/venv/bin/pip install -r requirements.txt
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission; it must leave results/results.json behind,
# an honest one, whatever happens to the grader (killed, crashed, never started).
set -u
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
rm -f "$RESULTS"
status=1
if cd "$ROOT/source"; then
    "$PYTHON" -m grader gradescope-run "$ROOT"
    status=$?
fi
if [ "$status" -ne 0 ] || ! grep -q '"score"' "$RESULTS" 2>/dev/null; then
    cat > "$RESULTS" <<'JSON'
{"score": 0, "execution_time": 0, "tests": [], "visibility": "visible",
 "output": "The autograder itself failed while grading this submission, so it has no score yet. Your instructor can see why in the autograder's output; submit again later or ask them."}
JSON
fi
exit 0
"""


def _ignore(directory: str, names: list[str]) -> set[str]:
    return {n for n in names if n in ("__pycache__", ".pytest_cache") or n.endswith(".pyc")}


def build_bundle(out: Path) -> Path:
    """Write the Gradescope autograder zip to ``out``; return its path."""
    try:
        with tempfile.TemporaryDirectory(prefix="gradescope-") as scratch:
            staging = Path(scratch)
            (staging / "source").mkdir()
            for item in SOURCE_ITEMS:
                source, target = ROOT / item, staging / "source" / item
                if source.is_dir():
                    shutil.copytree(source, target, ignore=_ignore)
                else:
                    shutil.copy2(source, target)
            out.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
                for name, text in (("setup.sh", SETUP), ("run_autograder", RUN)):
                    info = zipfile.ZipInfo(name)
                    info.external_attr = 0o755 << 16
                    bundle.writestr(info, text)
                for path in sorted(staging.rglob("*")):
                    if path.is_file():
                        bundle.write(path, path.relative_to(staging).as_posix())
    except OSError as error:
        raise OutputError(f"cannot write {out}: {error}") from error
    return out


def run_in_gradescope(root: Path) -> int:
    """Grade ``root/submission`` and write ``root/results/results.json``; always exits 0."""
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    target = results / "results.json"
    try:
        with tempfile.TemporaryDirectory(prefix="gradescope-out-") as scratch:
            out = Path(scratch)
            grade([root / "submission"],
                  GradingOptions(out=out, progress=False, jobs=1, student="submission",
                                 allow_unsandboxed=True))
            graded = read_results(out)
            if len(graded) != 1:
                raise GraderError(f"expected one submission, found {len(graded)}")
            write_text_atomically(target, json.dumps(next(iter(graded.values())), indent=1) + "\n")
    except GraderError as error:
        write_text_atomically(target, json.dumps({
            "score": 0, "max_score": 0, "execution_time": 0, "tests": [],
            "output": f"This submission could not be graded: {clean(error)}. Upload your "
                      "notebooks (.ipynb files) and submit again.",
        }, indent=1) + "\n")
    return 0
