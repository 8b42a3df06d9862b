"""UI tests run offscreen (set before Qt starts) with a real core of light test patterns."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator

import pytest

from app.runtime import Runtime
from app.session_link.vault import MemoryVault
from tests.app.core_config import light_config


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    rt = Runtime(light_config(), vault=MemoryVault())
    rt.start()
    yield rt
    rt.stop()
