"""`specscan data generate | validate` from the command line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from specscan.cli.main import app

runner = CliRunner()


def test_generate_writes_the_requested_rows_and_validate_accepts_them(tmp_path: Path) -> None:
    out = tmp_path / "r2.csv"

    made = runner.invoke(app, ["data", "generate", "--revision", "R2", "--rows", "300", "--seed", "3",
                               "--out", str(out)])
    checked = runner.invoke(app, ["data", "validate", str(out)])

    assert made.exit_code == 0, made.output
    frame = pd.read_csv(out)
    assert len(frame) == 300 and set(frame["revision"]) == {"R2"}
    assert checked.exit_code == 0, checked.output
    assert "300 rows valid" in checked.output


def test_unknown_revision_is_a_one_line_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["data", "generate", "--revision", "R9", "--rows", "5",
                                 "--out", str(tmp_path / "x.csv")])

    assert result.exit_code == 4
    assert "unknown rules revision 'R9'" in result.output
    assert "Traceback" not in result.output


def test_validate_lists_each_offending_row_and_exits_4(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nok text,compliant\n,non_compliant\nthird,maybe\n")

    result = runner.invoke(app, ["data", "validate", str(bad)])

    assert result.exit_code == 4
    assert "row 2 [text]: text is empty" in result.output
    assert "row 3 [label]: unknown label 'maybe'" in result.output
