"""The class report's figures: PNG images drawn with matplotlib (Agg), Okabe–Ito colours."""

from __future__ import annotations

import io
import statistics
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from grader._text import clean
from grader.class_report.summary import (DPI, OKABE_ITO, TOP_MISTAKES, TOP_TESTS, ClassReport,
                                          _fmt, _pct)

__all__ = ["Chart", "charts"]

# --- Figures -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Chart:
    """A figure of the page: a PNG, and the words a screen reader says instead."""

    png: bytes
    """Empty when the figure could not be drawn; ``alt`` then says why."""
    alt: str
    caption: str


def _label(text: str, limit: int = 60) -> str:
    """Text for matplotlib: one line, short, and never mathtext (a ``$`` is a dollar)."""
    return clean(text, limit, single_line=True).replace("$", r"\$")


def _png(figure: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _figure(width: float, height: float, left: float = 0.7, top: float = 0.55,
            bottom: float = 0.6, right: float = 0.3) -> Any:
    """A figure ``width`` × ``height`` inches with margins given in inches: laid out once,
    by hand (a layout engine draws every figure twice)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    figure.subplots_adjust(left=left / width, right=1 - right / width, top=1 - top / height,
                           bottom=bottom / height)
    return figure


def _label_room(labels: Sequence[str], fontsize: float) -> float:
    """Inches a column of tick labels needs (about half an em per character, plus padding)."""
    return 0.3 + max((len(label) for label in labels), default=1) * fontsize * 0.5 / 72


def _notebook_chart(report: ClassReport) -> Chart:
    notebooks = [s for s in report.notebooks if s.max_score > 0]
    labels = [_label(f"{s.name} ({_fmt(s.max_score)} points)", 50) for s in notebooks]
    figure = _figure(8.5, 0.55 * len(notebooks) + 1.7, left=_label_room(labels, 8) + 0.3,
                     top=0.9)
    axes = figure.add_subplot()
    shares = [[100 * score / s.max_score for score in s.scores] for s in notebooks]
    positions = list(range(len(notebooks)))
    axes.boxplot(shares, positions=positions, orientation="horizontal", widths=0.6,
                 showfliers=False,
                 medianprops={"color": OKABE_ITO["black"], "linewidth": 2},
                 boxprops={"color": OKABE_ITO["black"]})
    # Every student as a dot, spread over the box's height by a fixed (not random) offset.
    dots = [(value, row + 0.25 * ((index * 0.618034) % 1 - 0.5))
            for row, values in enumerate(shares) for index, value in enumerate(values)]
    axes.scatter([x for x, _ in dots], [y for _, y in dots], s=10, alpha=0.55,
                 color=OKABE_ITO["blue"], linewidths=0, label="a student")
    axes.scatter([s.percent for s in notebooks], positions, marker="D", s=30,
                 color=OKABE_ITO["orange"], edgecolors=OKABE_ITO["black"], zorder=3,
                 label="mean")
    axes.set_yticks(positions, labels=labels, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(-3, 103)
    axes.set_xlabel("score (% of the notebook's points)")
    axes.set_ylabel("notebook")
    _title_and_legend(figure, axes, "Score distribution per notebook", columns=2)
    alt = ("Box plots of the students' scores, one per notebook, as a share of its points, "
           "each student a dot. " + "; ".join(
               f"{s.name}: mean {_pct(s.percent)} of {_fmt(s.max_score)} points, median "
               f"{_fmt(s.median)}, {s.full_marks} of {s.students} with full marks"
               for s in notebooks) + ". The table below gives the numbers.")
    return Chart(_png(figure), alt, "How the class scored in each notebook: the box spans the "
                 "middle half of the class, the thick line is the median, the diamond the "
                 "mean, each dot a student.")


def _title_and_legend(figure: Any, axes: Any, title: str, columns: int) -> None:
    """The figure's title at the top, its legend in one row between title and plot."""
    figure.suptitle(title, y=1 - 0.12 / figure.get_figheight())
    axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.02), ncols=columns, fontsize=8,
                frameon=False)


def _exercise_chart(report: ClassReport) -> Chart:
    stats = list(report.exercises)
    names = [_label(s.name, 40) for s in stats]
    figure = _figure(8.5, 0.32 * len(stats) + 1.6, left=_label_room(names, 8) + 0.3, top=0.9)
    axes = figure.add_subplot()
    positions = range(len(stats))
    graded_zero = [max(0, s.no_points - s.not_graded) for s in stats]
    left = [0.0] * len(stats)
    parts = (("full marks", [s.full_marks for s in stats], OKABE_ITO["bluish green"], ""),
             ("partial credit", [s.partial for s in stats], OKABE_ITO["orange"], ""),
             ("no points", graded_zero, OKABE_ITO["vermillion"], ""),
             ("not graded", [min(s.not_graded, s.no_points) for s in stats],
              OKABE_ITO["grey"], "//"))
    for label, counts, colour, hatch in parts:
        axes.barh(positions, counts, left=left, color=colour, hatch=hatch, label=label,
                  edgecolor="white")
        left = [a + b for a, b in zip(left, counts)]
    axes.set_yticks(list(positions), labels=names, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("students")
    axes.set_ylabel("exercise")
    _title_and_legend(figure, axes, "Score distribution per exercise", columns=4)
    alt = ("Stacked bars, one per exercise, splitting the class into full marks, partial "
           "credit, no points and not graded. " + "; ".join(
               f"{s.name}: {s.full_marks} full, {s.partial} partial, {s.no_points} no points "
               f"({s.not_graded} not graded)" for s in stats) + ".")
    return Chart(_png(figure), alt, "Who earned full marks, part of the points or none, per "
                 "exercise; grey hatched bars are students whose exercise was not run at all.")


def _test_chart(report: ClassReport) -> Chart:
    hardest = sorted(report.tests, key=lambda t: (t.rate, t.name))[:TOP_TESTS]
    labels = [f"{_label(t.name, 55)}  {t.passed}/{t.students}" for t in hardest]
    figure = _figure(9.0, 0.26 * len(hardest) + 1.4, left=_label_room(labels, 7) + 0.3,
                     top=0.7)
    axes = figure.add_subplot()
    positions = list(range(len(hardest)))
    colours = [OKABE_ITO["blue"] if t.hidden else OKABE_ITO["sky blue"] for t in hardest]
    axes.barh(positions, [t.rate for t in hardest], color=colours)
    axes.set_yticks(positions, labels=labels, fontsize=7)
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    axes.set_xlabel("students who passed (%)")
    axes.set_ylabel("test")
    figure.suptitle(f"The {len(hardest)} tests the fewest students passed (passed/students)",
                    y=1 - 0.1 / figure.get_figheight())
    from matplotlib.patches import Patch

    axes.legend(handles=[Patch(color=OKABE_ITO["sky blue"], label="public test"),
                         Patch(color=OKABE_ITO["blue"], label="hidden test")],
                loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2, fontsize=8,
                frameon=False)
    alt = (f"Bar chart of the pass rate of the {len(hardest)} hardest tests. " + "; ".join(
        f"{t.name}: {t.passed} of {t.students}" for t in hardest[:5]) + ". The table below "
        "lists every test.")
    return Chart(_png(figure), alt, "Share of the class passing each of the hardest tests "
                 "(hidden tests in dark blue).")


def _mistake_chart(report: ClassReport) -> Chart:
    top = report.mistakes[:TOP_MISTAKES]
    labels = [_label(m.name, 50) for m in top]
    figure = _figure(8.5, 0.32 * len(top) + 1.3, left=_label_room(labels, 8) + 0.3)
    axes = figure.add_subplot()
    positions = list(range(len(top)))
    axes.barh(positions, [m.students for m in top], color=OKABE_ITO["vermillion"])
    axes.set_yticks(positions, labels=labels, fontsize=8)
    axes.invert_yaxis()
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set_xlabel("students who made it")
    axes.set_ylabel("mistake")
    axes.set_title("Named mistakes, most common first")
    alt = ("Bar chart of the named mistakes by the number of students who made them: "
           + "; ".join(f"{m.name}: {m.students}" for m in top) + ".")
    return Chart(_png(figure), alt, "How many students made each named mistake (each student "
                 "counted once per mistake).")


def _time_chart(report: ClassReport) -> Chart:
    seconds = report.seconds
    figure = _figure(7.5, 3.0, left=0.7)
    axes = figure.add_subplot()
    axes.hist(seconds, bins=max(5, min(30, len(seconds) // 5)), color=OKABE_ITO["reddish purple"],
              edgecolor="white")
    median = statistics.median(seconds)
    axes.axvline(median, color=OKABE_ITO["black"], linestyle="--",
                 label=f"median {median:.2f} s")
    axes.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.set_xlabel("grading time per submission (seconds)")
    axes.set_ylabel("submissions")
    axes.set_title("Grading time per submission", loc="left")
    alt = (f"Histogram of the grading time of {len(seconds)} submissions: median {median:.2f} s, "
           f"longest {max(seconds):.2f} s.")
    return Chart(_png(figure), alt, "How long grading each submission took (wall-clock).")


MIN_STUDENTS_FOR_FIGURES = 3
"""Smaller classes get the tables alone (and one student's run does not import matplotlib)."""


def charts(report: ClassReport) -> dict[str, Chart]:
    """The page's figures, by section; sections without data have none. A figure matplotlib
    cannot draw is replaced by a sentence saying so: it never costs the report (or the run)."""
    drawn = {"notebooks": (_notebook_chart, any(s.max_score > 0 for s in report.notebooks)),
             "exercises": (_exercise_chart, bool(report.exercises)),
             "tests": (_test_chart, bool(report.tests)),
             "mistakes": (_mistake_chart, bool(report.mistakes)),
             "time": (_time_chart, bool(report.seconds))}
    found: dict[str, Chart] = {}
    if len(report.records) < MIN_STUDENTS_FOR_FIGURES:
        return found  # a distribution of one or two is a table row: no figure, no matplotlib
    for key, (draw, has_data) in drawn.items():
        if not (report.records and has_data):
            continue
        try:
            with warnings.catch_warnings():  # e.g. a glyph the font lacks: the page is fine
                warnings.simplefilter("ignore")
                found[key] = draw(report)
        except Exception as error:  # noqa: BLE001 - a figure is never worth a failed run
            found[key] = Chart(b"", f"This figure could not be drawn ({type(error).__name__}: "
                               f"{error}); the table has its numbers.", "")
    return found


