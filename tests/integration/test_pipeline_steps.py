"""Each step runs alone with explicit inputs and outputs, as an orchestrator would call it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from specscan.cli.main import app
from specscan.registry import Registry
from specscan.settings import Settings

pytestmark = pytest.mark.slow


def test_steps_chained_by_their_output_directories_register_a_model(
        small_csv: Path, tiny_config: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"SPECSCAN_HOME": str(tmp_path / "home")}
    out = tmp_path / "out"
    commands = [
        ["validate", "--data", small_csv, "--output", out / "validate"],
        ["prepare", "--data", small_csv, "--output", out / "prepare", "--config", tiny_config],
        ["train", "--prepared", out / "prepare", "--output", out / "train", "--config", tiny_config],
        ["export", "--trained", out / "train", "--prepared", out / "prepare", "--output", out / "export",
         "--config", tiny_config],
        ["evaluate", "--bundle", out / "export" / "bundle", "--prepared", out / "prepare",
         "--trained", out / "train", "--output", out / "evaluate"],
        ["register", "--bundle", out / "export" / "bundle", "--evaluation", out / "evaluate",
         "--config", tiny_config],
    ]
    for command in commands:
        result = runner.invoke(app, ["pipeline", "step", *map(str, command)], env=env)
        assert result.exit_code == 0, f"{command[0]}: {result.output}"

    assert (out / "export" / "bundle" / "model.onnx").is_file()
    assert (out / "evaluate" / "plots" / "test" / "confusion_matrix.png").is_file()
    registry = Registry(Settings(home=tmp_path / "home"))
    assert registry.alias_version("challenger") == 1
