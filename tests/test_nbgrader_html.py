"""Student HTML reaches the instructor's pages inert: nbgrader autograde, formgrader, feedback.

formgrader shows an autograded notebook as a page from the instructor's own Jupyter server,
where a script can start kernels; ``generate_feedback`` writes HTML from the same notebook.
An attacker hands in notebook 01 with every kind of active content a notebook can carry
(HTML and links in Markdown, raw HTML cells, script outputs, widget state, SVG attachments),
beside an honest student and a twin whose code is the attacker's without the payloads. After
nbgrader's own ``autograde`` and ``generate_feedback`` through the repository's config:

- the autograded notebook holds nothing active from the attacker;
- the page formgrader sends (rendered here by formgrader's own exporter and configuration)
  and the feedback page have no script, event handler, script URL, frame or SVG from them:
  the pages hold exactly the active content the honest student's pages hold;
- the honest student's notebook is unchanged and scores 15; the attacker scores what their
  code earns, the twin's points, cell by cell, and every check cell keeps its feedback.

Every payload carries a marker. The student's text may survive as escaped text, but a marker
must never appear where a browser would run it or load it: in a script, style, frame,
object, SVG or MathML element, or in any attribute.
"""

from __future__ import annotations

import base64
import csv
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pytest
from bleach._vendor import html5lib  # the HTML5 parsing algorithm of browsers, as bleach ships it
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.filters.strings import strip_files_prefix

from tests.conftest import run_grader
from tests.submissions import write_submission
from tests.test_grade import FLIPPED
from tests.test_nbgrader import NB01, SEED, nbgrader

pytestmark = pytest.mark.slow

MARKDOWN_PAYLOADS = {
    "XSSMDSCRIPT": "<script>window.XSSMDSCRIPT = 1</script>",
    "XSSMDONERROR": '<img src=x onerror="window.XSSMDONERROR = 1">',
    "XSSMDIFRAME": '<iframe src="javascript:window.XSSMDIFRAME = 1"></iframe>',
    "XSSMDSRCDOC": '<iframe srcdoc="&lt;script&gt;XSSMDSRCDOC&lt;/script&gt;"></iframe>',
    "XSSMDSVG": '<svg><script>window.XSSMDSVG = 1</script><a xlink:href="javascript:XSSMDSVG">'
                "<text>x</text></a></svg>",
    "XSSMDJSLINK": "Read [this](javascript:window.XSSMDJSLINK=1) first.",
    "XSSMDREFLINK": "See [the notes][n].\n\n[n]: jav&#x61;script:window.XSSMDREFLINK=1",
    "XSSMDAHREF": '<a href="javascript:window.XSSMDAHREF = 1">a link</a>',
    "XSSMDCOMMENT": "<!--> <img src=x onerror=window.XSSMDCOMMENT=1> -->",
    "XSSMDTOGGLE": "<details open ontoggle=window.XSSMDTOGGLE=1><summary>s</summary>d</details>",
    "XSSMDMERMAID": "```mermaid\n<img src=x onerror=window.XSSMDMERMAID=1>\n```",
    "XSSMDSTYLE": "<style>body { background: url(javascript:XSSMDSTYLE) }</style>",
    "XSSMDMATH": '<math><mtext><a href="javascript:XSSMDMATH">m</a></mtext></math>',
    "XSSMDRELATIVE": "My [notes](XSSMDRELATIVE.html), handed in beside the notebook.",
}
RAW_PAYLOADS = {  # marker: (raw_mimetype, source)
    "XSSRAWHTML": ("text/html", "<script>window.XSSRAWHTML = 1</script>"
                                "<img src=x onerror=window.XSSRAWHTML=1>"),
    "XSSRAWPLAIN": (None, '<iframe src="javascript:XSSRAWPLAIN"></iframe>'),
}
OUTPUT_PAYLOADS = {  # marker: (mimetype, data)
    "XSSOUTHTML": ("text/html", "<script>window.XSSOUTHTML = 1</script>"
                                "<img src=x onerror=window.XSSOUTHTML=1>"),
    "XSSOUTJS": ("application/javascript", "window.XSSOUTJS = 1"),
    "XSSOUTSVG": ("image/svg+xml", '<svg xmlns="http://www.w3.org/2000/svg" onload="XSSOUTSVG">'
                                   "<script>XSSOUTSVG</script></svg>"),
    "XSSOUTMD": ("text/markdown", "[x](javascript:window.XSSOUTMD=1)"),
    "XSSOUTWIDGET": ("application/vnd.jupyter.widget-view+json",
                     {"model_id": "XSSOUTWIDGET", "version_major": 2, "version_minor": 0}),
}
SVG = ('<svg xmlns="http://www.w3.org/2000/svg" onload="XSSATTACHSVG">'
       "<script>window.XSSATTACHSVG = 1</script></svg>")
ATTACHMENTS = {
    "evil.svg": {"image/svg+xml": base64.b64encode(SVG.encode()).decode()},
    "evil.html": {"text/html": base64.b64encode(b"<script>XSSATTACHHTML</script>").decode()},
}
WIDGETS = {"application/vnd.jupyter.widget-state+json": {
    "version_major": 2, "version_minor": 0,
    "state": {"XSSWIDGETSTATE": {"model_module": "@jupyter-widgets/controls",
                                 "model_name": "HTMLModel", "model_module_version": "2.0.0",
                                 "state": {"value": "<img src=x onerror=XSSWIDGETSTATE>"}}}}}
MARKERS = (*MARKDOWN_PAYLOADS, *RAW_PAYLOADS, *OUTPUT_PAYLOADS, "XSSATTACHSVG",
           "XSSATTACHHTML", "XSSWIDGETSTATE")

# Elements that run script, hold a document or change how the page loads; and attributes
# that hold a URL. Lowercase local names (SVG and MathML elements come namespaced).
ACTIVE_ELEMENTS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "base",
                   "form", "meta", "link", "svg", "math", "template", "noscript", "style",
                   "portal", "xmp", "noembed", "noframes", "animate", "set", "foreignobject"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "poster", "background",
                  "srcdoc", "srcset", "ping", "codebase", "cite", "longdesc", "lowsrc", "dynsrc"}
STUDENTS = ("honest", "attacker", "twin")

# What formgrader's SubmissionHandler does for /formgrader/submissions/<id>/: the HTMLExporter
# built from formgrader's configuration (the course's nbgrader_config.py, then formgrader's
# template settings), run on the autograded notebook. Resources are fixed, so that two
# students' pages differ only by their notebooks.
FORMGRADER = """
import sys
from pathlib import Path
from nbconvert.exporters import HTMLExporter
from nbgrader.server_extensions.formgrader.formgrader import FormgradeExtension

formgrader = FormgradeExtension()
formgrader.root_dir = str(Path.cwd().parent)
formgrader.initialize([])
exporter = HTMLExporter(config=formgrader.config)
for notebook, page in zip(sys.argv[1::2], sys.argv[2::2]):
    resources = {"assignment_id": "a", "notebook_id": "nb", "submission_id": "s", "index": 0,
                 "total": 1, "base_url": "", "student": "student", "last_name": None,
                 "first_name": None, "notebook_path": "/autograded/nb.ipynb"}
    html, _ = exporter.from_filename(notebook, resources=resources)
    Path(page).write_text(html, encoding="utf-8")
"""


def attacker_notebook(path: Path) -> None:
    """The twin's notebook, plus every payload: cells, outputs, attachments, metadata."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = [nbformat.v4.new_markdown_cell(source) for source in MARKDOWN_PAYLOADS.values()]
    cells.append(nbformat.v4.new_markdown_cell(
        "![a](attachment:evil.svg) ![b](attachment:evil.html)", attachments=ATTACHMENTS))
    for mimetype, source in RAW_PAYLOADS.values():
        cells.append(nbformat.v4.new_raw_cell(
            source, metadata={"raw_mimetype": mimetype} if mimetype else {}))
    outputs = [nbformat.v4.new_output("display_data", data={mimetype: data})
               for mimetype, data in OUTPUT_PAYLOADS.values()]
    outputs.append(nbformat.v4.new_output(
        "execute_result", data={"text/html": "<b>XSSOUTHTML isolated</b>"}, execution_count=1,
        metadata={"text/html": {"isolated": True}}))
    cells.append(nbformat.v4.new_code_cell("print('hello')", outputs=outputs))
    nb["cells"][1:1] = cells[:5]
    nb["cells"].extend(cells[5:])
    nb["metadata"]["widgets"] = WIDGETS
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("nbgrader-html") / "course"
    result = run_grader("nbgrader-course", directory)
    assert result.returncode == 0, result.stderr
    nbgrader(directory, "generate_assignment", NB01)
    for student in STUDENTS:
        folder = directory / "submitted" / student / NB01
        folder.mkdir(parents=True)
        path = write_submission(folder, NB01, {} if student == "honest" else {"conv2d": FLIPPED})
        if student == "attacker":
            attacker_notebook(path)
    nbgrader(directory, "autograde", NB01, f"--GradeInSandbox.seed={SEED}")
    nbgrader(directory, "generate_feedback", NB01)
    nbgrader(directory, "export", "--to", "grades.csv")
    pages = []
    for student in STUDENTS:
        pages += [directory / "autograded" / student / NB01 / f"{NB01}.ipynb",
                  directory / "formgrader" / f"{student}.html"]
    (directory / "formgrader").mkdir()
    result = subprocess.run([sys.executable, "-c", FORMGRADER, *map(str, pages)], cwd=directory,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return directory


def autograded(course: Path, student: str) -> nbformat.NotebookNode:
    path = course / "autograded" / student / NB01 / f"{NB01}.ipynb"
    return nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)


def formgrader_page(course: Path, student: str) -> str:
    return (course / "formgrader" / f"{student}.html").read_text(encoding="utf-8")


def feedback_page(course: Path, student: str) -> str:
    return (course / "feedback" / student / NB01 / f"{NB01}.html").read_text(encoding="utf-8")


def _scheme(url: str) -> str | None:
    """The scheme a browser could read in ``url`` (decoded, controls and spaces dropped)."""
    text = "".join(c for c in unquote(unquote(url)) if c > " " and c != "\x7f").lower()
    head = text.split(":", 1)[0] if ":" in text else None
    return head if head and head[0].isalpha() and "/" not in head and "#" not in head else None


def active_content(html: str) -> list[str]:
    """Everything in a page that can run script or load a document, as strings: active
    elements with their content, event handlers, URLs that are not http(s) or mailto."""
    found = []
    for element in html5lib.parse(html, treebuilder="etree", namespaceHTMLElements=False).iter():
        if not isinstance(element.tag, str):  # a comment
            continue
        name = element.tag.rsplit("}", 1)[-1].lower()
        if name in ACTIVE_ELEMENTS:
            found.append(f"<{name} {sorted(element.attrib.items())}>{''.join(element.itertext())}")
        for attribute, value in element.attrib.items():
            attribute = attribute.rsplit("}", 1)[-1].lower()
            if attribute.startswith("on"):
                found.append(f"{name} {attribute}={value}")
            elif attribute in URL_ATTRIBUTES and _scheme(value) not in (None, "http", "https",
                                                                         "mailto"):
                found.append(f"{name} {attribute}={value}")
    return found


def markers_where_a_browser_acts(html: str) -> list[str]:
    """Markers inside active content or in any attribute, where escaped text never is."""
    places = active_content(html)
    for element in html5lib.parse(html, treebuilder="etree", namespaceHTMLElements=False).iter():
        if isinstance(element.tag, str):
            places += [f"{element.tag}: {key}={value}" for key, value in element.attrib.items()]
    return sorted({marker for marker in MARKERS for place in places if marker in place})


def markdown_html(cell: nbformat.NotebookNode) -> str:
    """A Markdown cell as nbgrader's templates render it: ``markdown2html | strip_files_prefix``."""
    renderer = IPythonRenderer(escape=False, attachments=cell.get("attachments", {}))
    return strip_files_prefix(MarkdownWithMath(renderer=renderer).render(cell.source))


# --- the autograded notebook -------------------------------------------------------------

def test_the_autograded_notebook_holds_nothing_active_from_the_attacker(course):
    notebook = autograded(course, "attacker")
    assert "widgets" not in notebook.metadata
    fragments = []
    for cell in notebook.cells:
        for bundle in cell.get("attachments", {}).values():
            assert set(bundle) <= {"image/png", "image/jpeg", "image/gif"}, cell.attachments
        if cell.cell_type == "markdown":
            fragments.append(markdown_html(cell))
        elif cell.cell_type == "raw":
            fragments.append(cell.source)
        else:
            for output in cell.outputs:
                data = output.get("data", {})
                assert set(data) <= {"text/plain", "text/html", "image/png", "image/jpeg"}, data
                fragments.append(data.get("text/html", ""))
    page = "<!DOCTYPE html><html><body>" + "\n".join(fragments) + "</body></html>"
    assert not active_content(page)
    assert not markers_where_a_browser_acts(page)
    shown = json.dumps(notebook)
    for marker in MARKDOWN_PAYLOADS:  # the attacker's Markdown is still there, as text
        assert marker in shown, marker


def test_the_honest_notebook_is_unchanged_but_for_its_graded_outputs(course):
    submitted = nbformat.read(course / "submitted" / "honest" / NB01 / f"{NB01}.ipynb",
                              as_version=4)
    notebook = autograded(course, "honest")
    assert [c.source for c in notebook.cells] == [c.source for c in submitted.cells]
    assert [c.cell_type for c in notebook.cells] == [c.cell_type for c in submitted.cells]


# --- the pages the instructor's browser gets ---------------------------------------------

@pytest.mark.parametrize("page", [formgrader_page, feedback_page], ids=["formgrader", "feedback"])
def test_the_pages_run_nothing_of_the_attackers(course, page):
    attacker = page(course, "attacker")
    assert not markers_where_a_browser_acts(attacker)
    assert sorted(active_content(attacker)) == sorted(active_content(page(course, "honest")))
    assert "XSSMDSCRIPT" in attacker  # the attacker's cells are shown, as text


# --- the step on its own: what nbgrader's ClearOutput empties before it runs ---------------

def test_the_step_cleans_outputs_and_attachments_and_keeps_markdown_and_grades():
    from grader.nbgrader_sanitize import SanitizeSubmission

    png = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()
    plain = ("Maths $a_{ij} < b$ and $$\\begin{bmatrix}1 & 2\\end{bmatrix}$$, code `k < 1`,\n\n"
             "> a quote\n\n<details><summary>Answer</summary><code>(3, 4)</code></details>\n\n"
             "[a link](https://example.org), [a place](#top), ![a figure](assets/f.gif), "
             "![an image](attachment:f.png)")
    outputs = [nbformat.v4.new_output("display_data", data={mimetype: data})
               for mimetype, data in OUTPUT_PAYLOADS.values()]
    graded = [nbformat.v4.new_output("stream", name="stdout", text="conv2d: 10 of 15 points\n"),
              nbformat.v4.new_output("execute_result", data={"text/plain": "10"},
                                     execution_count=None)]
    notebook = nbformat.v4.new_notebook(metadata={"widgets": WIDGETS}, cells=[
        nbformat.v4.new_markdown_cell(plain,
                                      attachments={"f.png": {"image/png": png}, **ATTACHMENTS}),
        nbformat.v4.new_code_cell("x = 1", outputs=outputs),
        nbformat.v4.new_code_cell("check()", outputs=graded),
    ])
    cleaned, _ = SanitizeSubmission().preprocess(notebook, {})
    copy = nbformat.from_dict(json.loads(json.dumps(cleaned)))
    again, _ = SanitizeSubmission().preprocess(copy, {})
    assert again == cleaned
    markdown, outputs, check = cleaned.cells
    assert "widgets" not in cleaned.metadata
    assert markdown.source == plain and markdown.attachments == {"f.png": {"image/png": png}}
    assert [sorted(o.data) for o in outputs.outputs] == [["text/html"], [], [], [], []]
    assert not markers_where_a_browser_acts(outputs.outputs[0].data["text/html"])
    assert check.outputs == graded


# --- grades --------------------------------------------------------------------------------

def test_the_payloads_change_no_points(course):
    with open(course / "grades.csv", newline="") as file:
        scores = {row["student_id"]: float(row["score"]) for row in csv.DictReader(file)}
    assert scores["honest"] == 15
    assert 0 < scores["twin"] < 15
    assert scores["attacker"] == scores["twin"]

    def check_cells(student: str) -> list[tuple[str, str]]:
        """Each check cell's GradeInSandbox outputs: its feedback's first line, its points."""
        checks = [cell.outputs for cell in autograded(course, student).cells
                  if cell.metadata.get("nbgrader", {}).get("grade")]
        assert checks and all([o.output_type for o in outputs] == ["stream", "execute_result"]
                              for outputs in checks)
        return [(text.text.splitlines()[0], points.data["text/plain"]) for text, points in checks]

    assert check_cells("attacker") == check_cells("twin")
