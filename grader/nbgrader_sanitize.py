"""nbgrader integration: make a student's notebook inert before it becomes the autograded notebook.

formgrader shows the autograded notebook to the instructor as an HTML page from the
instructor's own Jupyter server, and ``nbgrader generate_feedback`` writes HTML pages from it.
Both use nbgrader's templates, which put a Markdown cell's HTML into the page as it is (their
Markdown block ignores nbconvert's ``sanitize_html``), keep ``javascript:`` links (nbconvert's
Markdown renderer allows every URL scheme) and leave a Mermaid block's text unescaped. A
``<script>``, an ``onerror=`` or a ``javascript:`` link in a student's cell would run as the
instructor, on the server's origin, where it can start kernels. :class:`SanitizeSubmission`
is the autograde step that prevents it; ``nbgrader_config.py`` lists it.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import unquote

import nbformat
from nbconvert.filters.markdown_mistune import MISTUNE_V3, IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors.sanitize import SanitizeHTML
from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Set

__all__ = ["SanitizeSubmission"]

NOTICE = ("*The autograder shows this cell's source as text: it held HTML, a link or an "
          "attachment that could run code in the grader's browser.*")
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif"})
"""Attachments kept: images a browser only ever draws. SVG (which can hold scripts), HTML and
anything else is dropped."""

# Raw HTML a Markdown cell may keep: these tags, without attributes. Every "<" in the cell's
# raw HTML must open one of them, so no attribute, script, style, comment or unclosed tag
# reaches the page; the course's own notebooks use <details>, <summary> and <code>.
_PLAIN_TAG = re.compile(r"</?(?:b|i|em|strong|code|kbd|samp|var|sub|sup|u|s|del|ins|mark|small"
                        r"|br|hr|p|details|summary)\s*/?>", re.IGNORECASE)
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")
_IMAGE_DATA = re.compile(r"data:image/(?:png|jpeg|gif);base64,[A-Za-z0-9+/=\s]*")


def _scheme(url: str) -> str | None:
    """The URL scheme a browser could read in ``url``; ``None`` for a relative URL.

    Stricter than a browser: it decodes entities and percent-escapes (three rounds) and drops
    every control character and space anywhere, so ``java&#9;script:`` counts as ``javascript``.
    """
    text = url
    for _ in range(3):
        text = html.unescape(unquote(text))
    match = _SCHEME.match(re.sub(r"[\x00-\x20\x7f]", "", text).lower())
    return match.group(1) if match else None


def _safe_link(url: str) -> bool:
    """A link may go to the web, to an e-mail address or to a place in the same page. Not to a
    relative path: formgrader serves the files a student handed in beside the notebook."""
    scheme = _scheme(url)
    return scheme in ("http", "https", "mailto") or (scheme is None and url.startswith("#"))


def _safe_image(url: str) -> bool:
    """An ``<img>`` never runs script, but data URLs are held to the attachment image types."""
    scheme = _scheme(url)
    if scheme == "data":
        return bool(_IMAGE_DATA.fullmatch(url))
    return scheme in (None, "http", "https")


class _Inspector(IPythonRenderer):
    """nbconvert's Markdown renderer as nbgrader's templates use it, noting what in its output
    did not come from Markdown syntax (raw HTML, Mermaid text) and every unsafe URL."""

    def __init__(self, attachments: dict[str, Any]) -> None:
        super().__init__(escape=False, attachments=attachments)  # as HTMLExporter.markdown2html
        self.problems: list[str] = []

    def _html(self, text: str) -> None:
        if "<" in _PLAIN_TAG.sub("", text):
            self.problems.append("raw HTML")

    def inline_html(self, raw: str) -> str:
        self._html(raw)
        return super().inline_html(raw)

    def block_html(self, raw: str) -> str:
        self._html(raw)
        return super().block_html(raw)

    def block_mermaidjs(self, code: str) -> str:
        if "<" in code or "&" in code:  # nbconvert writes a Mermaid block's text unescaped
            self.problems.append("HTML in a Mermaid block")
        return super().block_mermaidjs(code)

    def link(self, text: str, url: str, title: str | None = None) -> str:
        if not _safe_link(url):
            self.problems.append("link that is not http(s), mailto or #")
        return super().link(text, url, title)

    def image(self, text: str, url: str, title: str | None = None) -> str:
        if not _safe_image(self._embed_image_or_attachment(url)):
            self.problems.append("image URL")
        return super().image(text, url, title)


def _markdown_problems(source: Any, attachments: dict[str, Any]) -> list[str]:
    if not MISTUNE_V3:  # mistune 2 swaps link() and image() arguments: trust nothing
        return ["mistune 2"]
    inspector = _Inspector(attachments)
    try:
        MarkdownWithMath(renderer=inspector).render(source)
    except Exception as error:  # noqa: BLE001 (formgrader would fail on this cell too)
        return [f"cannot be rendered ({type(error).__name__})"]
    return inspector.problems


def _as_text(source: str) -> str:
    """``source`` in a fenced code block, which nbconvert escapes, under :data:`NOTICE`."""
    longest = max((len(run) for run in re.findall(r"`+", source)), default=0)
    fence = "`" * max(3, longest + 1)
    text = f"{NOTICE}\n\n{fence}text\n{source}\n{fence}\n"
    return NOTICE if _markdown_problems(text, {}) else text


def _image_attachments(attachments: Any) -> dict[str, dict[str, str]]:
    kept = {}
    for name, bundle in (attachments.items() if isinstance(attachments, dict) else ()):
        if isinstance(bundle, dict):
            images = {kind: data for kind, data in bundle.items()
                      if kind in IMAGE_TYPES and isinstance(data, str)}
            if images:
                kept[name] = images
    return kept


class SanitizeSubmission(NbGraderPreprocessor, SanitizeHTML):
    """Make every student-written part of the notebook inert in formgrader and feedback pages.

    - notebook metadata: ``widgets`` (widget state, which pages turn into live widgets) removed;
    - attachments: only PNG, JPEG and GIF images kept;
    - Markdown cells: kept as they are when the HTML nbconvert makes of them comes from Markdown
      syntax only, with links to http(s), mailto or ``#`` and images that are URLs or kept
      attachments (raw HTML allowed: a few tags, without attributes); otherwise the cell
      becomes its own source in a code block, escaped, under a notice;
    - raw cells: cleaned by nbconvert's ``SanitizeHTML`` (bleach);
    - code cell outputs: ``SanitizeHTML`` keeps text, LaTeX, JSON, PNG and JPEG, cleans HTML
      and drops the rest (JavaScript, SVG, widgets, Markdown). The check cells' text and
      points, written by ``GradeInSandbox``, stay.

    Code cells' source is left alone: the templates escape it. nbconvert's own
    ``SanitizeHTML`` is not used on Markdown cells because it runs bleach over the Markdown
    source, which leaves ``javascript:`` links in place and breaks ``&`` and ``<`` in code and
    in maths. Listing it in the autograde steps takes no configuration; its ``tags``,
    ``attributes`` and output settings apply to raw cells and outputs.
    """

    sanitized_output_types = Set(
        {"text/html"}, config=True,
        help="Output types shown after cleaning with bleach; other types that are not in "
             "safe_output_keys are dropped (text/markdown too: its links would go unchecked).")

    def preprocess(self, nb: NotebookNode,
                   resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        nb.metadata.pop("widgets", None)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell: NotebookNode, resources: dict[str, Any],
                        index: int) -> tuple[NotebookNode, dict[str, Any]]:
        if "attachments" in cell:
            attachments = _image_attachments(cell.attachments)
            if attachments:
                cell.attachments = nbformat.from_dict(attachments)
            else:
                del cell["attachments"]
        if cell.cell_type == "markdown":
            problems = _markdown_problems(cell.source, cell.get("attachments", {}))
            if problems:
                self.log.warning("markdown cell %d shown as text: %s", index,
                                 ", ".join(sorted(set(problems))))
                cell.source = _as_text(str(cell.source))
        elif cell.cell_type == "raw":
            cell.source = self.sanitize_html_tags(str(cell.source))
        elif cell.cell_type == "code":
            try:
                cell.outputs = self.sanitize_code_outputs(cell.get("outputs", []))
            except Exception:  # noqa: BLE001 (a malformed output: show none of them)
                self.log.warning("code cell %d: outputs removed, they are malformed", index)
                cell.outputs = []
        return cell, resources
