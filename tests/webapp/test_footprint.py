"""What the web app loads: no model, so none of the model stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_the_web_app_runs_without_torch_mlflow_or_onnxruntime(tmp_path: Path) -> None:
    """The `app` extra holds what the app needs: it talks to the scoring service, it loads no model."""
    script = (
        "import sys\n"
        "from specscan.settings import Settings\n"
        "from specscan.webapp.app import build\n"
        "import specscan.cli.main\n"
        f"build(Settings(home={str(tmp_path)!r}), run_worker=False)\n"
        "print(sorted(m for m in ('torch', 'mlflow', 'onnxruntime') if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
