"""Finding resource files, in a checkout and in a PyInstaller bundle alike (Vorta's helper)."""

from __future__ import annotations

import sys
from pathlib import Path


def resource_dir() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)  # set by PyInstaller's bootloader
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource(*parts: str) -> Path:
    return resource_dir().joinpath(*parts)


def stylesheet(name: str = "dark.qss") -> str:
    path = resource("styles", name)
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""  # an unstyled window still works; the UI must not fail over a theme
