"""The import-direction contracts hold, and a wrong import really fails them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("app", "ui", "media", "tally", "cloud")


def _lint(where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _copy_tree(tmp_path: Path) -> Path:
    for pkg in PACKAGES:
        shutil.copytree(
            ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__", "web")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_contracts_kept() -> None:
    out = _lint(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_wrong_import_breaks_a_contract(tmp_path: Path) -> None:
    tree = _copy_tree(tmp_path)
    with (tree / "tally" / "__init__.py").open("a") as fh:
        fh.write("\nimport cloud.config  # noqa: E402,F401\n")
    with (tree / "media" / "__init__.py").open("a") as fh:
        fh.write("\nimport app  # noqa: E402,F401\n")
    out = _lint(tree)
    assert out.returncode != 0
    assert "tally is not allowed to import cloud" in out.stdout
    assert "media is not allowed to import app" in out.stdout
