"""The core's status and error text in the director's language, at the window's edge.

app/ and media/ write English for logs, the control API and the window alike, and never
import ui. Every message the window shows from them goes through `core_text`, which finds
it in the catalogue (ui/strings_core_ko.py): as it is, or as a template whose {0}, {1} ...
stand for values; each value is looked up in turn, so "stopped: wrong passphrase" reads
as two catalogue entries. Text not in the catalogue is shown as it came.
"""

from __future__ import annotations

import re
from functools import cache

from PySide6.QtCore import QCoreApplication

from .strings_core_ko import CORE_KO

CONTEXT = "core"
_FIELD = re.compile(r"\{(\d+)\}")
_DEPTH = 4  # values inside values: enough for "stream: refused: x (retry in 8 s)"


@cache
def _templates() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """The catalogue's templates as patterns, the most literal text first, so that the
    specific "{0} (retry in {1} s)" is tried before the general "{0} ({1})"."""
    found = []
    for template in CORE_KO:
        parts = _FIELD.split(template)
        if len(parts) == 1:
            continue
        regex = "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<f{part}>.+?)" for i, part in enumerate(parts)
        )
        literal = sum(len(part) for part in parts[::2])
        found.append((literal, template, re.compile(regex + r"\Z", re.DOTALL)))
    found.sort(key=lambda item: -item[0])
    return tuple((template, pattern) for _literal, template, pattern in found)


def _tr(template: str) -> str:
    return QCoreApplication.translate(CONTEXT, template)


def core_text(text: str, depth: int = _DEPTH) -> str:
    """`text` from the core, translated where the catalogue knows it."""
    text = text.strip()
    if not text or depth <= 0:
        return text
    if text in CORE_KO:
        return _tr(text)
    for template, pattern in _templates():
        match = pattern.match(text)
        if match is None:
            continue
        values = {int(name[1:]): core_text(v, depth - 1) for name, v in match.groupdict().items()}
        return _tr(template).format(*(values[i] for i in range(len(values))))
    return text
