"""Reading a backend's `--log-format json` log in tests."""

from __future__ import annotations

import json
from typing import Any

REQUIRED = ("time", "level", "logger", "message")


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of a JSON-mode log, parsed; fails on the first line that is not an object
    with the required keys."""
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            parsed = json.loads(line)
        except ValueError:
            raise AssertionError(f"line {number} is not JSON: {line!r}") from None
        assert isinstance(parsed, dict), line
        missing = [key for key in REQUIRED if key not in parsed]
        assert not missing, f"line {number} lacks {missing}: {line}"
        lines.append(parsed)
    return lines
