"""Korean and English without lrelease: a QTranslator that answers from a built-in table.

Widgets write English with `self.tr(...)`; installing the translator turns it into Korean.
A missing entry shows the English text, never an empty label (tests check the table is
complete for every literal passed to tr() in ui/).
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QLocale, QTranslator

from .strings_core_ko import CORE_KO
from .strings_ko import KO

LANGUAGES = {"en": "English", "ko": "한국어"}


class TableTranslator(QTranslator):
    def __init__(self, table: dict[str, str]) -> None:
        super().__init__()
        self._table = table

    def translate(
        self,
        context: str,
        source_text: str,
        disambiguation: str | None = None,
        n: int = -1,
    ) -> str:
        # Qt treats an empty string as "not translated here" and falls back to the source.
        return self._table.get(source_text, "")

    def isEmpty(self) -> bool:
        return not self._table


def pick_language(setting: str | None) -> str:
    """The saved choice, else the system's language if we have it, else English."""
    if setting in LANGUAGES:
        return setting
    return "ko" if QLocale.system().language() == QLocale.Language.Korean else "en"


def install(app: QCoreApplication, language: str) -> QTranslator | None:
    """Install the table for `language`; keep the returned object alive with the app."""
    if language != "ko":
        return None
    translator = TableTranslator(KO | CORE_KO)  # the window's words and the core's
    app.installTranslator(translator)
    return translator
