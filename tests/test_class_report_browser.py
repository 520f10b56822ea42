"""The class report as an instructor opens it: report.html from disk in headless Chromium.

What the page shows — the number of students, each exercise's students, mean and full marks,
each test's pass count — is read from the rendered page and checked against gradebook.csv and
the results files; a hostile student id is shown as text, no script runs, nothing is fetched,
and every figure loads. The screenshot goes to test-artifacts/browser/report.png.
"""

from __future__ import annotations

import shutil
import statistics
from pathlib import Path
from typing import Any

import pytest

from grader.class_report import REPORT, write_class_report
from grader.report import write_gradebook
from tests.browser import ARTIFACTS
from tests.test_class_report import HOSTILE, build_class, grade_class, gradebook, results

pytestmark = pytest.mark.browser

READ_PAGE_JS = """() => {
  const table = id => [...document.querySelectorAll(`#${id} tbody tr`)].map(
    row => [...row.children].map(cell => cell.innerText.trim()));
  return {
    students: document.querySelector('#glance-students')?.innerText.trim(),
    exercises: table('exercise-scores'),
    tests: table('tests'),
    attention: table('attention').map(row => row[0]),
    images: [...document.images].map(img => ({alt: img.alt, loaded: img.complete
                                             && img.naturalWidth > 0, src: img.src.slice(0, 22)})),
    captions: [...document.querySelectorAll('table')].map(t => t.caption?.innerText ?? ''),
  };
}"""


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A graded class, plus a student whose folder name is markup (written as a merge would
    copy it) and whose grading timed out, in the gradebook and the report alike."""
    root = tmp_path_factory.mktemp("report-browser")
    out = grade_class(build_class(root / "class"), root / "out")
    (out / HOSTILE).mkdir()
    shutil.copy(out / "hang" / "results.json", out / HOSTILE / "results.json")
    columns, book = gradebook(out)
    write_gradebook(out, columns, [*book, HOSTILE])
    write_class_report(out, columns, [*book, HOSTILE])
    return out


def test_the_report_shows_the_gradebooks_numbers_offline(out: Path, browser: Any) -> None:
    page = browser.new_page()
    requests: list[str] = []
    dialogs: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    try:
        page.goto((out / REPORT).as_uri(), wait_until="load")
        page.wait_for_function("() => [...document.images].every(img => img.complete)")
        shown = page.evaluate(READ_PAGE_JS)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    finally:
        page.close()

    columns, book = gradebook(out)
    assert shown["students"] == str(len(book)) == "11"
    header = ["Exercise", "Points", "Students", "Mean", "Mean %", "Median", "Min", "Max",
              "Full marks", "Partial", "No points", "Not graded"]
    rows = {row[0]: dict(zip(header, row)) for row in shown["exercises"]}
    assert list(rows) == columns
    for exercise in columns:
        scores = [float(r[exercise]) for r in book.values()]
        assert int(rows[exercise]["Students"]) == len(scores)
        assert float(rows[exercise]["Mean"]) == pytest.approx(statistics.fmean(scores), abs=1e-3)
        assert int(rows[exercise]["Full marks"]) == sum(
            s == float(rows[exercise]["Points"]) for s in scores)
    passed: dict[str, int] = {}
    for student in book:
        for test in results(out, student)["tests"]:
            passed[test["name"]] = passed.get(test["name"], 0) + (test["status"] == "passed")
    assert {row[0]: int(row[3]) for row in shown["tests"]} == passed

    # The hostile id is shown literally (its row header's text is the id), and ran nothing.
    assert shown["attention"] == [HOSTILE, "broken", "crash", "empty", "flip_b", "hang"]
    assert len(shown["images"]) == 5
    assert all(i["loaded"] and len(i["alt"]) > 40 and i["src"] == "data:image/png;base64,"
               for i in shown["images"])
    assert all(caption for caption in shown["captions"])
    assert dialogs == [] and errors == []
    assert all(url.startswith(("file:", "data:")) for url in requests), requests

