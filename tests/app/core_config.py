"""A light core for tests: a few small test patterns at 30 fps, control API on a free port."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Any

from app.engine.media import MediaConfig
from app.engine.sources import default_specs
from app.runtime import RuntimeConfig
from media.frames import Size

# Small pictures at 30 fps: the tests run beside other work on two shared cores.
LIGHT_MEDIA = MediaConfig(size=Size(320, 180), fps=Fraction(30))


def light_config(sources: int = 4, **overrides: Any) -> RuntimeConfig:
    config = RuntimeConfig(
        sources=default_specs(sources), media=LIGHT_MEDIA, control_port=0, control_token="test"
    )
    return replace(config, **overrides)
