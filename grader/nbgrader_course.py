"""Lay out an nbgrader course folder for this course: one assignment per notebook.

    python -m grader nbgrader-course DIR

writes ``DIR/nbgrader_config.py`` (which loads the repository's ``nbgrader_config.py``) and
``DIR/source/<notebook>/<notebook>.ipynb`` copied from ``solutions/``, with the images each
notebook shows copied beside it (``assets/``) and its links adjusted to them, because an
nbgrader assignment travels as one folder. From then on nbgrader's own commands work:
``nbgrader generate_assignment``, ``autograde`` and ``export``. Running it again refreshes
the source notebooks and leaves everything else (the gradebook, submissions) alone.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from grader.errors import OutputError

__all__ = ["create_course"]

ROOT = Path(__file__).resolve().parent.parent
ASSET_LINK = re.compile(r"\]\(\.\./assets/([^)\s]+)\)")

CONFIG = '''"""nbgrader settings for this course folder; the course's settings live in the repository."""

c = get_config()  # noqa: F821
load_subconfig({repo_config!r})  # noqa: F821
c.CourseDirectory.root = {root!r}
'''


def create_course(directory: Path) -> list[str]:
    """Create or refresh the course folder; return the assignment names."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "nbgrader_config.py").write_text(CONFIG.format(
            repo_config=str(ROOT / "nbgrader_config.py"), root=str(directory.resolve())))
        names = []
        for solution in sorted((ROOT / "solutions").glob("*.ipynb")):
            name = solution.stem
            target = directory / "source" / name
            target.mkdir(parents=True, exist_ok=True)
            text = solution.read_text(encoding="utf-8")
            for asset in sorted(set(ASSET_LINK.findall(text))):
                (target / "assets").mkdir(exist_ok=True)
                shutil.copy2(ROOT / "assets" / asset, target / "assets" / asset)
            (target / solution.name).write_text(ASSET_LINK.sub(r"](assets/\1)", text),
                                                encoding="utf-8")
            names.append(name)
    except OSError as error:
        raise OutputError(f"cannot write the course folder {directory}: {error}") from error
    return names
