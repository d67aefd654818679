"""One rule for tests that this machine cannot run (no Chromium, no Java): under CI they fail, elsewhere they skip.

CI is told by the `CI` variable, which `.ci/run` sets itself (as most CI services do), so a run of `.ci/run` can
never pass green with these tests silently skipped."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def cannot_run(what: str, reason: str) -> NoReturn:
    """Fails the test under CI (`CI` set and not "false"/"0"); elsewhere skips it with a loud reason."""
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false"):
        pytest.fail(f"{what} NOT RUN, and CI must run them: {reason}", pytrace=False)
    pytest.skip(f"!!! {what} NOT RUN !!! {reason}")
