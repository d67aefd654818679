"""Schemathesis against the service's own /openapi.json: whatever it is sent, never a 5xx."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from scoring_support import copy_home, create_keys, start_server

pytestmark = pytest.mark.slow


def test_no_generated_request_makes_the_service_fail(registered_home: Path, tmp_path: Path) -> None:
    home = copy_home(registered_home, tmp_path / "home")
    keys = create_keys(home)  # the admin key may call every endpoint, so every operation is reached
    server = start_server(home, env={"SPECSCAN_RELOAD_INTERVAL": "0", "SPECSCAN_MAX_ITEMS": "32",
                                          "SPECSCAN_DOCS_ACCESS": "public"})
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert cli, "schemathesis is not installed beside this Python"
    try:
        result = subprocess.run(
            [cli, "run", f"{server.url}/openapi.json", "--checks", "not_a_server_error",
             "--header", f"Authorization: Bearer {keys.admin}", "--max-examples", "40", "--seed", "1",
             "--request-timeout", "30", "--continue-on-failure"],
            capture_output=True, text=True, timeout=900, cwd=tmp_path)
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout[-6000:]
    assert "No issues found" in result.stdout or "passed" in result.stdout, result.stdout[-3000:]
