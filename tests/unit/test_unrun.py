"""The rule for tests this machine cannot run (tests/unrun.py): they fail under CI, which `.ci/run` sets, and
skip loudly elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from unrun import cannot_run

CI_RUN = Path(__file__).resolve().parents[2] / ".ci" / "run"


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_under_ci_a_test_that_cannot_run_fails(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="SPARK ENGINE TESTS NOT RUN, and CI must run them: no java"):
        cannot_run("SPARK ENGINE TESTS", "no java")


@pytest.mark.parametrize("value", [None, "", "false", "0"])
def test_outside_ci_a_test_that_cannot_run_is_skipped_with_a_loud_reason(
        monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.skip.Exception, match=r"!!! BROWSER TESTS NOT RUN !!! no chromium"):
        cannot_run("BROWSER TESTS", "no chromium")


def test_ci_run_sets_ci_itself_before_the_tests_run() -> None:
    script = CI_RUN.read_text()
    assert 'export CI="${CI:-true}"' in script and script.index("export CI=") < script.index("make test")
