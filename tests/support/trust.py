"""Chromium that trusts a given CA the way a user's machine would: the CA added to an NSS
database in the browser's own HOME (certutil, libnss3-tools), not by skipping checks."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.procs import require_binary


def nss_home(home: Path, ca_files: Sequence[Path]) -> Path:
    """A HOME whose ~/.pki/nssdb trusts each CA for websites."""
    certutil = require_binary("certutil", "libnss3-tools")
    db = home / ".pki" / "nssdb"
    db.mkdir(parents=True, exist_ok=True)
    subprocess.run([certutil, "-N", "-d", f"sql:{db}", "--empty-password"], check=True)
    for i, ca in enumerate(ca_files):
        subprocess.run(
            [certutil, "-A", "-d", f"sql:{db}", "-n", f"test-ca-{i}", "-t", "C,,", "-i", str(ca)],
            check=True,
        )
    return home


@contextmanager
def trusting_chromium(home: Path, extra_args: Sequence[str] = ()) -> Iterator[Browser]:
    """Debian's Chromium with `home` (see nss_home) as its HOME."""
    require_binary(CHROMIUM, "chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, *extra_args],
            env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
        )
        try:
            yield browser
        finally:
            browser.close()
