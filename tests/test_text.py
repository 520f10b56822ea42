"""Escaping student text for each medium: what hostile text becomes in Markdown, CSV and the
terminal, and that no input makes an escaping function raise."""

from __future__ import annotations

import csv
import doctest
import html
import io
import re
import time

import mistune
import pytest

import grader._text
from grader._text import (clean, csv_cell, markdown_code_block, markdown_code_span, markdown_text,
                          terminal)

ANSI_REWRITE = "\x1b[2K\r✓ passed"
ANSI_LINK = "\x1b]8;;http://evil\x07click me\x1b]8;;\x07"
FENCE_BREAK = "x\n```\n# heading\n<img src=x onerror=alert(1)>\n```text"
HOSTILE = {
    "ansi rewrite": ANSI_REWRITE,
    "ansi hyperlink": ANSI_LINK,
    "fence break": FENCE_BREAK,
    "lone surrogate": "bad \ud800 and \udcff",
    "hyperlink formula": '=HYPERLINK("http://evil","x")',
    "dde formula": "+1+cmd|' /C calc'!A0",
    "full-width formula": "＝1+1",
    "bidi override": "exercise \u202edaolnwod\u202c done",
    "c1 csi": "\x9b2K rewritten",
    "line separator": "one\u2028two\u2029three",
    "tag characters": "see \U000e0041\U000e0042",
    "markdown soup": "- [x](javascript:alert(1)) ![i](http://evil/x.png) *a* __b__ ~~c~~ "
                     "==d== $e$ <b>f</b> &lt;g&gt; | h | www.evil.com a@b.c 1. \\# ---",
    "crlf": "a\r\nb\rc",
}
# What must never survive into a terminal line: controls, bidi controls, separators.
ACTIVE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                    "\u2028\u2029\ud800-\udfff\U000e0000-\U000e007f]")
FUNCTIONS = [clean, terminal, markdown_text, markdown_code_span, csv_cell,
             lambda text: "\n".join(markdown_code_block(text))]


def render(markdown: str) -> str:
    """HTML as Jupyter's Markdown renderer (mistune) makes it, raw HTML and every plugin on."""
    plugins = ["strikethrough", "footnotes", "table", "url", "math", "task_lists", "def_list",
               "abbr", "mark", "insert", "superscript", "subscript", "spoiler"]
    return mistune.create_markdown(escape=False, plugins=plugins)(markdown)


def test_docstring_examples():
    assert doctest.testmod(grader._text).failed == 0


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_output_is_valid_utf8_without_active_characters(function, text):
    out = function(text)
    out.encode("utf-8")  # no lone surrogate left
    assert not ACTIVE.search(out.replace("\n", ""))


def test_an_ansi_sequence_is_shown_not_obeyed():
    assert terminal(ANSI_REWRITE) == "\\x1b[2K\\r✓ passed"
    assert terminal(ANSI_LINK) == "\\x1b]8;;http://evil\\x07click me\\x1b]8;;\\x07"
    assert terminal("\x9b2K") == "\\x9b2K"  # the one-byte CSI of C1


def test_lone_surrogates_and_bidi_controls_become_visible_escapes():
    assert clean("a\ud800b\udcff") == "a\\ud800b\\udcff"
    assert clean("\u202eevil\u2066") == "\\u202eevil\\u2066"
    assert clean("\U000e0041") == "\\U000e0041"


def test_lines_and_tabs_are_kept_unless_single_line():
    assert clean("a\n\tb\r\nc\rd") == "a\n\tb\nc\\rd"
    assert terminal("a\n\tb\r\nc") == "a\\n b\\nc"
    assert len(terminal("one\u2028two\u2029three\x85four\x0bfive").splitlines()) == 1


class Exploding:
    def __str__(self) -> str:
        raise RuntimeError("no")


class HostileStr(str):
    def __str__(self) -> str:
        raise RuntimeError("no")

    def __getitem__(self, index: object) -> str:
        raise RuntimeError("no")

    def replace(self, *args: object) -> str:  # type: ignore[override]
        raise RuntimeError("no")


class NastyName(type):
    pass


@pytest.mark.parametrize("value", [
    Exploding(), HostileStr("\x1bsubclass"), 10**5000, b"\x1b[2K", None, 1.5,
    NastyName("\x1b[2K\u202e", (), {})(), float("nan"),
], ids=["__str__ raises", "str subclass", "huge int", "bytes", "None", "float", "odd type name",
        "nan"])
@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_value_makes_escaping_raise(function, value):
    out = function(value)
    assert isinstance(out, str) and type(out) is str
    out.encode("utf-8")
    assert "\x1b" not in out


def test_unprintable_values_say_so():
    assert clean(Exploding()) == "<unprintable Exploding>"
    assert clean(HostileStr("\x1bkept")) == "\\x1bkept"
    assert clean(10**5000) == "<unprintable int>"


def test_long_text_is_cut_to_the_limit_never_inside_an_escape():
    assert clean("x" * 100, limit=10) == "x" * 9 + "…"
    assert clean("ab\x1bcd", limit=4) == "ab…"
    assert clean("ab\x1bcd", limit=7) == "ab\\x1b…"
    assert clean("short", limit=5) == "short"
    assert clean("anything", limit=0) == ""
    started = time.monotonic()
    huge = "\x1b" * 5_000_000
    assert clean(huge, limit=80) == terminal(huge, limit=80) == "\\x1b" * 19 + "…"
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("prefix", ["", "> ", "# Feedback for ", "- ✓ ", "0 / 5 — "])
def test_markdown_text_renders_as_exactly_its_text(text, prefix):
    rendered = render(prefix + markdown_text(text))
    shown = clean(text, single_line=True).strip()
    assert shown in html.unescape(re.sub("<[^>]*>", "", rendered))
    tags = set(re.findall(r"</?([a-z0-9]+)", rendered))
    assert tags <= {"p", "blockquote", "h1", "ul", "li"}, rendered
    assert rendered.count("<h1") == prefix.startswith("#")


def test_markdown_text_keeps_ordinary_names_readable():
    assert markdown_text("02_stride.ipynb was not submitted") == "02_stride.ipynb was not submitted"
    assert markdown_text("not graded: x = 1") == "not graded: x = 1"


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("indent", ["", "  "])
def test_a_code_block_cannot_be_closed_from_inside(text, indent):
    lines = markdown_code_block(text + "\n````` ~~~", indent=indent)
    rendered = render("\n".join(["- item", "", *lines]) if indent else "\n".join(lines))
    assert rendered.count("<pre>") == 1 and "<h1" not in rendered and "<img" not in rendered
    code = re.search(r"<code[^>]*>(.*)</code>", rendered, re.DOTALL)
    assert code and html.unescape(code.group(1)).rstrip("\n") == clean(text + "\n````` ~~~")
    assert lines[0] == indent + "``````text" and lines[-1] == indent + "``````"


def test_a_code_span_shows_backticks_and_html_verbatim():
    for text in ["a `` b", "`edge`", "<img src=x onerror=alert(1)>", " spaced ", ""]:
        rendered = render(markdown_code_span(text))
        assert rendered.count("<code>") == 1 and "<img" not in rendered
        code = re.search("<code>(.*)</code>", rendered).group(1)
        assert html.unescape(code) == (text or " ")


@pytest.mark.parametrize("text", [
    '=HYPERLINK("http://evil","x")', "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "＝1+1", "＋1", "－1", "＠SUM(A1)",
    "  =1+1", "\n=1+1",
])
def test_a_csv_cell_never_starts_a_formula(text):
    cell = csv_cell(text)
    assert cell.startswith(("'", "\\n", "\\r"))
    buffer = io.StringIO()
    csv.writer(buffer).writerow([cell, "1.5"])
    (read,) = csv.reader(io.StringIO(buffer.getvalue()))
    assert read[0] == cell and read[1] == "1.5"
    assert not read[0].lstrip().startswith(("=", "+", "-", "@", "＝", "＋", "－", "＠"))


def test_ordinary_csv_cells_are_unchanged():
    assert [csv_cell(t) for t in ["alice", "o'brien", "conv2d", "1.5"]] == \
        ["alice", "o'brien", "conv2d", "1.5"]
