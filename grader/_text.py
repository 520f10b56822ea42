"""Make untrusted text safe for the medium it lands in: Markdown, CSV, the terminal.

Student-controlled text — exception types and messages sent back by the worker, the type
names of returned values, student ids taken from folder and file names, notebook file
names — ends up in ``feedback.md``, ``results.json``, ``gradebook.csv`` and on the console.
Every writer passes it through the function for its medium:

- :func:`clean` — any object to valid, visible Unicode; the base of all the others;
- :func:`terminal` — one console line;
- :func:`markdown_text`, :func:`markdown_code_span`, :func:`markdown_code_block` — Markdown;
- :func:`csv_cell` — a text cell of a CSV file that a spreadsheet will open.

None of them raises, whatever it is given. Characters that could act rather than show —
control characters (ANSI escape sequences start with one), bidirectional overrides, line
separators, invisible tag characters, lone surrogates (which cannot be encoded as UTF-8) —
become visible escapes such as ``\\x1b`` or ``\\u202e``, so the reader sees that they were
there.

>>> terminal("\\x1b[2K\\r✓ passed")
'\\\\x1b[2K\\\\r✓ passed'
"""

from __future__ import annotations

import re

__all__ = ["clean", "csv_cell", "markdown_code_block", "markdown_code_span", "markdown_text",
           "terminal"]

ELLIPSIS = "…"

_INVISIBLE = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 controls but tab and newline; DEL; C1 controls
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidirectional marks, overrides, isolates
    "\u200b\u2060\ufeff"  # zero-width space, word joiner, byte-order mark
    "\u2028\u2029"  # line and paragraph separators
    "\ud800-\udfff"  # lone surrogates: no UTF-8 encoding exists
    "\U000e0000-\U000e007f"  # tag characters: invisible ASCII look-alikes
)
_UNSAFE = re.compile(f"([{_INVISIBLE}])")
_UNSAFE_ON_ONE_LINE = re.compile(f"([{_INVISIBLE}\t\n])")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": " "}

_MARKDOWN = re.compile(
    r"[\\`*\[\]~^|$#@<>&]"  # escapes, code, emphasis, links, tables, math, headings, HTML
    r"|(?<![^\W_])_|_(?![^\W_])"  # an underscore not inside a word can start emphasis
    r"|=(?==)|(?<==)="  # "==highlight==" in some Markdown dialects
    r"|://|(?i:www)\."  # bare URLs, which GitHub's Markdown turns into links
)
_MARKDOWN_LINE_START = re.compile(r"[-+=]|\d{1,9}[.)]")  # lists, setext headings

_FORMULA_START = tuple("=+-@\t\r＝＋－＠")


def _as_str(text: object) -> str:
    """``text`` as an exact ``str``, bypassing any ``str`` subclass; never raises."""
    try:
        string = text if isinstance(text, str) else str(text)
        return str.__str__(string)  # a plain str even from a subclass, whatever it overrides
    except Exception:  # noqa: BLE001 - a value's __str__ may do anything
        try:
            name = str.__str__(type(text).__name__)
        except Exception:  # noqa: BLE001
            name = "object"
        return f"<unprintable {name}>"


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def clean(text: object, limit: int | None = None, single_line: bool = False) -> str:
    """``text`` as valid Unicode that shows what it contains and does nothing else.

    Parameters
    ----------
    text
        Anything; objects are converted with ``str``, and one whose ``__str__`` fails
        becomes ``"<unprintable TYPE>"``.
    limit
        At most this many characters are returned; longer text is cut, never inside an
        escape, and ends with "…".
    single_line
        Also replace tabs by spaces and newlines by ``\\n``, for text that must stay on one
        line.

    Returns
    -------
    str
        The text with control characters, bidirectional controls, line separators,
        invisible characters and lone surrogates written as escapes (``\\x1b``,
        ``\\u202e``, ``\\ud800``); it always encodes as UTF-8. Windows line ends become
        ``\\n``.

    Examples
    --------
    >>> clean("red \\x1b[31malert\\x1b[0m")
    'red \\\\x1b[31malert\\\\x1b[0m'
    >>> clean("two\\nlines\\tand a tab", single_line=True)
    'two\\\\nlines and a tab'
    >>> clean("\\ud800 is a lone surrogate")
    '\\\\ud800 is a lone surrogate'
    >>> clean("x" * 100, limit=8)
    'xxxxxxx…'
    """
    string = _as_str(text)
    if limit is not None:
        if limit < 1:
            return ""
        string = string[:2 * limit + 2]  # every character shows as at least one, "\r\n" as one
    string = string.replace("\r\n", "\n")
    pattern = _UNSAFE_ON_ONE_LINE if single_line else _UNSAFE
    cleaned = pattern.sub(_escape, string)
    if limit is None or len(cleaned) <= limit:
        return cleaned
    room = limit - len(ELLIPSIS)
    kept = []
    for index, part in enumerate(pattern.split(string)):  # odd indices: one unsafe character
        piece = pattern.sub(_escape, part) if index % 2 else part
        if len(piece) > room:
            kept.append("" if index % 2 else piece[:room])
            break
        kept.append(piece)
        room -= len(piece)
    return "".join(kept) + ELLIPSIS


def terminal(text: object, limit: int | None = None) -> str:
    """``text`` as part of one console line: no escape sequence, no line break.

    >>> terminal("\\x1b]8;;http://evil\\x07click\\x1b]8;;\\x07")
    '\\\\x1b]8;;http://evil\\\\x07click\\\\x1b]8;;\\\\x07'
    """
    return clean(text, limit, single_line=True)


def markdown_text(text: object, limit: int | None = None) -> str:
    """``text`` as inline Markdown that reads as itself: no heading, list, link, image,
    emphasis, code, table, math or HTML can form, wherever on a line it is put.

    Characters with a meaning (``\\ ` * _ [ ] ~ ^ | $ # @ < > &``, ``==``, ``://``, ``www.``,
    and ``-``, ``+``, ``=`` or ``1.`` at the start) are written as HTML character references
    (``&#42;`` for ``*``, ``&lt;`` for ``<``), which Markdown shows as the character; an
    underscore inside a word, a dot or a colon stay as they are, so names stay readable.
    Surrounding whitespace is dropped; ``limit`` counts characters before escaping.

    >>> markdown_text("<img src=x onerror=alert(1)>")
    '&lt;img src=x onerror=alert(1)&gt;'
    >>> markdown_text("# not_a *heading*")
    '&#35; not_a &#42;heading&#42;'
    >>> markdown_text("02_stride.ipynb was not submitted")
    '02_stride.ipynb was not submitted'
    """
    escaped = _MARKDOWN.sub(_markdown_entity, clean(text, limit, single_line=True).strip())
    start = _MARKDOWN_LINE_START.match(escaped)
    if start:
        last = start.end() - 1
        escaped = escaped[:last] + f"&#{ord(escaped[last])};" + escaped[start.end():]
    return escaped


def _markdown_entity(match: re.Match[str]) -> str:
    found = match.group()
    if found == "://":
        return "&#58;//"
    if len(found) == 4:  # www.
        return found[:3] + "&#46;"
    return {"<": "&lt;", ">": "&gt;", "&": "&amp;"}.get(found) or f"&#{ord(found)};"


def markdown_code_span(text: object, limit: int | None = None) -> str:
    """``text`` as inline code: shown verbatim, with delimiters no backtick inside can close.

    >>> markdown_code_span("conv2d")
    '`conv2d`'
    >>> markdown_code_span("a `b` c")
    '``a `b` c``'
    """
    body = clean(text, limit, single_line=True)
    fence = "`" * (_longest_backtick_run(body) + 1)
    if not body:
        body = " "
    elif body.strip(" ") and (body[0] == "`" or body[-1] == "`"
                              or (body[0] == " " and body[-1] == " ")):
        body = f" {body} "  # Markdown removes one space on each side
    return f"{fence}{body}{fence}"


def markdown_code_block(text: object, info: str = "text", indent: str = "") -> list[str]:
    """``text`` as the lines of a fenced code block that nothing inside it can close.

    The fence is longer than any run of backticks in the text; every line, the fences
    included, starts with ``indent`` (two spaces keep the block inside a list item).

    >>> markdown_code_block("x\\n```\\n# heading")
    ['````text', 'x', '```', '# heading', '````']
    >>> markdown_code_block("oops", indent="  ")
    ['  ```text', '  oops', '  ```']
    """
    body = clean(text)
    fence = "`" * max(3, _longest_backtick_run(body) + 1)
    info = clean(info, single_line=True).replace("`", "")
    lines = body.split("\n") if body else []
    return [f"{indent}{fence}{info}", *(f"{indent}{line}" for line in lines),
            f"{indent}{fence}"]


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall("`+", text)), default=0)


def csv_cell(text: object) -> str:
    """``text`` as a CSV text cell that a spreadsheet shows and never runs as a formula.

    A cell that starts (after any spaces) with ``=``, ``+``, ``-``, ``@``, a tab, a carriage
    return or a full-width ``＝＋－＠`` gets a leading ``'``, as OWASP's CSV-injection advice
    says. Only for text: numbers the grader writes itself stay numbers.

    >>> csv_cell('=HYPERLINK("http://evil","x")')
    '\\'=HYPERLINK("http://evil","x")'
    >>> csv_cell("alice")
    'alice'
    """
    cell = clean(text, single_line=True)
    return f"'{cell}" if cell.lstrip().startswith(_FORMULA_START) else cell
