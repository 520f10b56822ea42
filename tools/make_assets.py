"""Draw the figures and animations in ``assets/`` from code.

    python3 course.py build       # runs this too
    python -m tools.make_assets   # just the assets

Each notebook's assets are drawn by ``tools/assets/nbNN.py``, whose ``ASSETS`` dict maps a
file name to a function returning the file's bytes; notebooks show them with Markdown
images that carry alt text.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Callable
from pathlib import Path

from tools import assets as asset_package

ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = ROOT / "assets"


def all_assets() -> dict[str, Callable[[], bytes]]:
    """Every registered asset: file name → drawing function."""
    found: dict[str, Callable[[], bytes]] = {}
    for module_info in sorted(pkgutil.iter_modules(asset_package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{asset_package.__name__}.{module_info.name}")
        for name, draw in getattr(module, "ASSETS", {}).items():
            if name in found:
                raise ValueError(f"asset {name} is registered twice")
            found[name] = draw
    return found


def main(argv: list[str] | None = None) -> int:
    """Write every asset whose bytes changed; print what was written."""
    ASSETS_DIR.mkdir(exist_ok=True)
    for name, draw in all_assets().items():
        data = draw()
        path = ASSETS_DIR / name
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
            print(f"wrote assets/{name} ({len(data) // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
