"""Reading a submitted notebook: identified safely by the grader, parsed by the worker
(here in-process), never run. Hostile notebooks cost the reader, not the grader."""

from __future__ import annotations

import json
import os

import nbformat
import pytest

from grader._reader import MAX_CODE_CELLS, read_program
from grader._worker import Worker
from grader.exercises import notebooks
from grader.load import NotebookProgram, demo_modules, inspect_notebook, program_from_answer

NB01 = "01_convolution_dot_product"
EXERCISES = [e.name for e in notebooks()[NB01]]


def load_notebook(path) -> NotebookProgram:
    """What grading reads from ``path``: identified here, parsed by the worker."""
    file = inspect_notebook(path)
    if file.problem or file.notebook is None:
        return NotebookProgram(path, file.notebook,
                               error=file.problem or "is not one of the course's notebooks")
    exercises = [e.name for e in notebooks()[file.notebook]]
    answer = Worker().load(os.open(path, os.O_RDONLY), exercises, list(demo_modules()))
    return program_from_answer(path, file.notebook, answer, exercises)


def test_solution_notebook_gives_every_exercise_cell(submission):
    program = load_notebook(submission("alice", NB01))
    assert program.notebook == NB01 and not program.problems and not program.error
    assert [c.exercise for c in program.cells if c.exercise] == ["window_dot", "conv1d", "conv2d"]


def test_other_cells_keep_only_definitions(submission):
    program = load_notebook(submission("alice", NB01))
    support = "\n".join(c.source for c in program.cells if not c.exercise)
    assert "import numpy as np" in support
    assert "WindowSlider(x, w)" not in support and "edge_demo(conv2d)" not in support
    assert "x = np.array" not in support  # not a literal: skipped


def test_check_cells_are_not_run(submission):
    program = load_notebook(submission("alice", NB01))
    assert not any("check(" in c.source for c in program.cells)


def test_a_deleted_exercise_cell_is_reported(submission):
    program = load_notebook(submission("alice", NB01, delete=("conv1d",)))
    assert "no cell defines conv1d" in program.problems["conv1d"]


def test_a_cell_without_metadata_is_found_by_its_def(submission):
    program = load_notebook(submission("alice", NB01, strip_metadata=True))
    assert program.notebook == NB01
    assert {c.exercise for c in program.cells if c.exercise} == {"window_dot", "conv1d", "conv2d"}


def test_syntax_errors_are_reported_with_their_line(submission):
    program = load_notebook(submission("alice", NB01, {"conv2d": "def conv2d(x, w):\n    return (\n"}))
    assert "syntax error on line" in program.problems["conv2d"]


def test_magics_become_harmless_calls(submission):
    source = "%time 1 + 1\n!ls\ndef conv2d(x, w):\n    return x\n"
    program = load_notebook(submission("alice", NB01, {"conv2d": source}))
    cell = next(c for c in program.cells if c.exercise == "conv2d")
    assert "get_ipython()" in cell.source and "def conv2d" in cell.source


def test_cell_magic_body_is_kept_for_python_magics(submission):
    program = load_notebook(submission("alice", NB01, {"conv2d": "%%time\ndef conv2d(x, w):\n    return x\n"}))
    cell = next(c for c in program.cells if c.exercise == "conv2d")
    assert cell.source.splitlines()[1] == "def conv2d(x, w):"


def test_unreadable_files_are_problems_not_crashes(tmp_path):
    broken = tmp_path / f"{NB01}.ipynb"
    broken.write_text("{ not json")
    program = load_notebook(broken)
    assert program.notebook == NB01 and "could not be read as a notebook" in program.error
    pdf = tmp_path / "essay.ipynb"
    pdf.write_bytes(b"%PDF-1.4 \x00\x01")
    assert load_notebook(pdf).error


def test_renamed_file_is_recognised_by_its_grade_ids(submission, tmp_path):
    path = submission("alice", NB01)
    renamed = path.with_name("my homework (1).ipynb")
    path.rename(renamed)
    assert load_notebook(renamed).notebook == NB01


def test_unknown_notebook(tmp_path):
    path = tmp_path / "shopping.ipynb"
    path.write_text(json.dumps(nbformat.v4.new_notebook()))
    assert load_notebook(path).error == "is not one of the course's notebooks"


def test_huge_files_are_refused_unread(tmp_path):
    path = tmp_path / f"{NB01}.ipynb"
    with open(path, "wb") as file:
        file.truncate(65 * 2**20)  # sparse: 65 MB that cost nothing to make
    program = load_notebook(path)
    assert program.notebook == NB01 and "is larger than 64 MB" in program.error


def test_links_fifos_and_folders_are_refused_without_following_or_blocking(tmp_path, submission):
    real = submission("alice", NB01)
    link = tmp_path / "link.ipynb"
    link.symlink_to(real)
    assert "symbolic link" in inspect_notebook(link).problem
    fifo = tmp_path / f"{NB01}-fifo.ipynb"
    os.mkfifo(fifo)
    assert "not a regular file" in inspect_notebook(fifo).problem  # and did not hang
    folder = tmp_path / "folder.ipynb"
    folder.mkdir()
    assert inspect_notebook(folder).problem


def cells(*sources: str) -> bytes:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    return json.dumps(notebook).encode()


@pytest.mark.parametrize("data, error", [
    (b"[" * 200_000 + b"]" * 200_000, "could not be read as a notebook"),
    (b'{"cells": 5}', "has no list of cells"),
    (b"\xff\xfe not utf-8", "could not be read as a notebook"),
    (b'{"cells": [' + b'{"cell_type": "code", "source": ""},' * (MAX_CODE_CELLS + 1)
     + b'{}]}', "code cells; the grader reads at most"),
])
def test_hostile_notebooks_are_reported_not_raised(data, error):
    assert error in read_program(data, EXERCISES, [])["error"]


def test_deeply_nested_code_costs_only_its_cell():
    deep = "x = " + "1 + " * 100_000 + "1\n"
    nested = "y = " + "(" * 5000 + ")" * 5000 + "\n"
    result = read_program(cells(deep, nested, "def conv1d(x, w):\n    return x\n",
                                "def conv2d(x, w):\n    return " + "-" * 90_000 + "x\n"),
                          EXERCISES, [])
    assert [c["exercise"] for c in result["cells"]] == ["conv1d"]
    assert "cannot be read as Python" in result["problems"]["conv2d"] \
        or "syntax error" in result["problems"]["conv2d"]


def test_odd_json_shapes_are_tolerated():
    data = json.dumps({"cells": [5, "text", {"cell_type": "code", "source": [1, "def conv1d(x, w):\n",
                       "    return x\n"], "metadata": []}]}).encode()
    result = read_program(data, EXERCISES, [])
    assert result["error"] == "" and [c["exercise"] for c in result["cells"]] == ["conv1d"]


def test_the_grader_caps_what_the_reader_sends_back(tmp_path):
    """Even a reader that misbehaves cannot make the grader hold more than the caps."""
    answer = {"cells": [{"label": "x" * 10_000, "source": "y" * 10**6, "exercise": "conv1d"}] * 50,
              "problems": {"conv2d": "z" * 10_000, "not-an-exercise": "?"}, "error": ""}
    program = program_from_answer(tmp_path / "a.ipynb", NB01, answer, EXERCISES)
    assert sum(len(c.source) for c in program.cells) <= 2_000_000
    assert set(program.problems) == {"conv2d"} and len(program.problems["conv2d"]) <= 500


def test_demo_helper_imports_are_left_out_of_graded_code(submission):
    source = ("from stridelab.dotproduct import _correlate2d\nimport numpy as np\n"
              "def conv2d(x, w):\n    return _correlate2d(x, w)\n")
    program = load_notebook(submission("alice", NB01, {"conv2d": source}))
    cell = next(c for c in program.cells if c.exercise == "conv2d")
    assert "_correlate2d(x, w)" in cell.source and "from stridelab.dotproduct" not in cell.source
    assert cell.source.splitlines()[1] == "import numpy as np"  # line numbers kept
    support = "\n".join(c.source for c in program.cells if not c.exercise)
    assert "from stridelab import check" in support and "stridelab.dotproduct" not in support


def test_names_from_the_package_itself_are_kept(submission):
    source = "from stridelab import Conv, as_pair, check\nfrom stridelab import training\n"
    program = load_notebook(submission("alice", NB01, {"conv2d": source + "def conv2d(x, w):\n    return x\n"}))
    cell = next(c for c in program.cells if c.exercise == "conv2d")
    assert "from stridelab import Conv, as_pair, check" in cell.source
    assert "from stridelab import training" not in cell.source


def test_a_folder_swapped_for_a_link_after_discovery_is_refused(tmp_path, root):
    """The file opened must really be inside the student's folder, links resolved."""
    from grader.discover import find_submissions

    student = tmp_path / "class" / "mallory"
    (student / "sub").mkdir(parents=True)
    (student / "sub" / f"{NB01}.ipynb").write_text("{}")
    submission = find_submissions([tmp_path / "class"], tmp_path / "ws").submissions[0]
    (student / "sub" / f"{NB01}.ipynb").unlink()
    (student / "sub").rmdir()
    (student / "sub").symlink_to(root / "solutions")
    inspected = inspect_notebook(submission.notebooks[0], submission.root)
    assert "not inside its submission folder" in inspected.problem


def test_grading_reads_the_bytes_that_were_inspected(tmp_path, submission):
    path = submission("alice", NB01)
    kept = inspect_notebook(path, path.parent, tmp_path / "private")
    path.write_text("{}")  # changed after inspection
    assert kept.readable != path and kept.readable.read_bytes() != b"{}"
    assert oct(kept.readable.parent.stat().st_mode & 0o777) == "0o700"
