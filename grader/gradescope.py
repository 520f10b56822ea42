"""Gradescope: build the autograder bundle, and run inside Gradescope's container.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` there once (as
root) when it builds the image, copies ``run_autograder`` to ``/autograder/run_autograder``
and runs it for every upload, with the upload in ``/autograder/submission``; it reads
``/autograder/results/results.json``. So the zip holds, at its root:

- ``setup.sh`` — finds (or installs) a Python ≥ 3.11 and bubblewrap, installs this course's
  pinned requirements into ``/autograder/venv``, and makes the course's files readable by
  root only: where bubblewrap cannot run in the container, student code runs as the user
  an unprivileged user of its own and cannot read the grader's code, tests or memory;
- ``run_autograder`` — ``python -m grader gradescope-run``, which grades the upload and
  writes ``results.json``; when the grader dies or cannot start, the script itself writes an
  honest one;
- the course (``grader/``, ``stridelab/``, ``requirements.txt`` …) and ``gradescope.json``,
  which ties the bundle to the notebooks of one assignment (``--notebook 02``).

Pick Gradescope's Ubuntu 24.04 base image (its Python 3.12 needs nothing installed); on
22.04 ``setup.sh`` installs ``python3.11`` from Ubuntu's own packages.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from grader._text import clean
from grader.errors import GraderError, OutputError, UsageError
from grader.exercises import notebooks as course_notebooks
from grader.grade import GradingOptions, grade
from grader.report import read_results, write_text_atomically

__all__ = ["build_bundle", "check_setup", "run_in_gradescope"]

ROOT = Path(__file__).resolve().parent.parent
SOURCE_ITEMS = ("grader", "stridelab", "requirements.txt", "pyproject.toml", "README.md", "LICENSE")
ASSIGNMENT = "gradescope.json"

SETUP = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, in /autograder/source, when it builds the image.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
export DEBIAN_FRONTEND=noninteractive

find_python() {  # the first Python 3.11 or newer that can make a virtual environment
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null &&
           "$candidate" -c 'import sys, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

missing=()
command -v bwrap >/dev/null || missing+=(bubblewrap)
if ! find_python >/dev/null; then
    version="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")' 2>/dev/null || true)"
    case "$version" in
        3.1[1-9]) missing+=("python$version-venv") ;;   # Python is new enough; venv is missing
        *) missing+=(python3.11 python3.11-venv) ;;      # Ubuntu 22.04 ships 3.10
    esac
fi
if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
fi
PYTHON="$(find_python)" || {
    echo "setup.sh: no Python 3.11 or newer could be installed: choose Gradescope's Ubuntu 24.04 base image" >&2
    exit 1
}

"$PYTHON" -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install --disable-pip-version-check --upgrade pip
cd "$SOURCE"
"$ROOT/venv/bin/python" -m pip install --disable-pip-version-check -r requirements.txt
# Where bubblewrap cannot run, student code runs as an unprivileged user: keep the grader's code,
# hidden tests and reference solutions readable by root alone.
chmod -R go-rwx "$SOURCE"
chmod 755 "$ROOT/venv"
"$ROOT/venv/bin/python" -m grader gradescope-check "$ROOT"
"""

RUN = r"""#!/usr/bin/env bash
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


def _resolve_notebooks(asked: Sequence[str]) -> list[str]:
    known = list(course_notebooks())
    chosen = []
    for name in asked:
        matches = [n for n in known if n == name.removesuffix(".ipynb") or n.startswith(name)]
        if len(matches) != 1:
            raise UsageError(f"{'unknown' if not matches else 'ambiguous'} notebook {name!r}; "
                             f"choose from: {', '.join(known)}")
        chosen.append(matches[0])
    return [n for n in known if n in chosen]


def build_bundle(out: Path, notebooks: Sequence[str] = ()) -> Path:
    """Write the Gradescope autograder zip to ``out``, for ``notebooks`` (default: every
    course notebook an upload holds); return its path."""
    assignment = {"notebooks": _resolve_notebooks(notebooks)}
    try:
        with tempfile.TemporaryDirectory(prefix="gradescope-") as scratch:
            staging = Path(scratch)
            for item in SOURCE_ITEMS:
                source, target = ROOT / item, staging / item
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
                bundle.writestr(ASSIGNMENT, json.dumps(assignment, indent=1) + "\n")
                for path in sorted(staging.rglob("*")):
                    if path.is_file():
                        bundle.write(path, path.relative_to(staging).as_posix())
    except OSError as error:
        raise OutputError(f"cannot write {out}: {error}") from error
    return out


def _assignment(root: Path) -> list[str]:
    try:
        data = json.loads((root / "source" / ASSIGNMENT).read_text(encoding="utf-8"))
        return [str(n) for n in data.get("notebooks", [])]
    except (OSError, ValueError, AttributeError):
        return []


def _honest_zero(target: Path, message: str) -> None:
    write_text_atomically(target, json.dumps({
        "score": 0, "max_score": 0, "execution_time": 0, "tests": [], "visibility": "visible",
        "output": message}, indent=1) + "\n")


def run_in_gradescope(root: Path) -> int:
    """Grade ``root/submission`` and write ``root/results/results.json``; always exits 0."""
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    target = results / "results.json"
    wanted = _assignment(root)
    try:
        with tempfile.TemporaryDirectory(prefix="gradescope-out-") as scratch:
            out = Path(scratch)
            grade([root / "submission"],
                  GradingOptions(out=out, progress=False, jobs=1, student="submission",
                                 notebooks=tuple(wanted), allow_unsandboxed=True,
                                 class_report=False))
            graded = read_results(out)
            if len(graded) != 1:
                raise GraderError(f"expected one submission, found {len(graded)}")
            write_text_atomically(target, json.dumps(next(iter(graded.values())), indent=1) + "\n")
    except GraderError as error:
        expected = (f" This assignment is {', '.join(f'{n}.ipynb' for n in wanted)}."
                    if wanted else "")
        _honest_zero(target, f"This submission could not be graded: {clean(error)}.{expected} "
                     "Upload your notebooks (.ipynb files) and submit again.")
    return 0


def check_setup(root: Path) -> int:
    """After ``setup.sh``: say how student code will be isolated in this image."""
    import time

    from grader.sandbox import Limits, choose_sandbox

    sandbox = choose_sandbox(Limits(), allow_unsandboxed=True)
    with sandbox.open(time.monotonic() + 60):
        pass  # starting a worker settles which user it runs as
    sandbox.release()
    print("setup.sh: the grader is installed. Each result will say how student code ran: "
          f"{sandbox.description}")
    if not (root / "source" / ASSIGNMENT).is_file():
        print("setup.sh: warning: no gradescope.json; every course notebook an upload holds "
              "is graded")
    return 0
