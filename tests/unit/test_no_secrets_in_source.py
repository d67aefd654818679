"""No file under version control holds a specscan API key (security review F13): a key reads
`ssk_<8 hex>_<secret>` (scoring/apikeys.py), and benchmark results that print commands redact it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from specscan.scoring.apikeys import ApiKeyStore

ROOT = Path(__file__).resolve().parents[2]
KEY = re.compile(r"ssk_[0-9a-f]{8}_[A-Za-z0-9_-]{16,}")


def tracked_files() -> list[Path]:
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("SECRET SCAN NOT RUN: not a git checkout")
    return [ROOT / name for name in listed.decode().split("\0") if name]


def test_the_pattern_finds_a_real_key(tmp_path: Path) -> None:
    key, _ = ApiKeyStore(tmp_path / "keys.json").create("scorer")
    assert KEY.fullmatch(key)


def test_no_tracked_file_holds_an_api_key() -> None:
    found = []
    for path in tracked_files():
        if path.is_file() and path.stat().st_size < 5_000_000:
            text = path.read_bytes().decode("utf-8", errors="replace")
            found += [f"{path.relative_to(ROOT)}: {match[:13]}…" for match in KEY.findall(text)]
    assert found == []


def test_the_serving_benchmark_redacts_keys_in_the_commands_it_records(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from serve_bench import redact_keys

    key, _ = ApiKeyStore(tmp_path / "keys.json").create("scorer")  # never a literal key here: this file is scanned
    line = f"hey -H 'Authorization: Bearer {key}' http://x"
    assert redact_keys(line) == "hey -H 'Authorization: Bearer ssk_<redacted>' http://x"
