"""Reading a submitted notebook into the code the sandbox runs, without running it."""

from __future__ import annotations

import json

import nbformat

from grader.load import load_notebook

NB01 = "01_convolution_dot_product"


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


def test_huge_files_are_refused_unread(tmp_path, monkeypatch):
    import grader.load

    monkeypatch.setattr(grader.load, "MAX_NOTEBOOK_BYTES", 1000)
    path = tmp_path / f"{NB01}.ipynb"
    path.write_text(json.dumps(nbformat.v4.new_notebook()) + " " * 2000)
    program = load_notebook(path)
    assert program.notebook == NB01 and "is larger than" in program.error


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
