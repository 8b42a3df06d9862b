"""tally/ is shared by the desktop app and the backend, so it may import only the stdlib."""

import ast
import sys
from pathlib import Path

TALLY = Path(__file__).parents[2] / "tally"


def imported_top_level_names(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_tally_imports_only_the_standard_library() -> None:
    files = sorted(TALLY.rglob("*.py"))
    assert files, f"no Python files under {TALLY}"
    outside = {
        f"{path.relative_to(TALLY)}: {name}"
        for path in files
        for name in imported_top_level_names(path.read_text(encoding="utf-8"))
        if name not in sys.stdlib_module_names and name != "tally"
    }
    assert not outside, f"tally/ imports outside the standard library: {sorted(outside)}"


def test_the_check_sees_third_party_and_absolute_imports() -> None:
    source = "import os.path\nfrom pydantic import BaseModel\nfrom . import errors\n"
    assert imported_top_level_names(source) == {"os", "pydantic"}
