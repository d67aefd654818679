"""The process table from /proc, shared by the benchmark scripts (Linux only)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path


def processes() -> Iterator[tuple[int, list[str]]]:
    """(pid, the stat fields after the command: state, ppid, pgrp, ...) of every live /proc entry."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        yield int(entry.name), stat[stat.rindex(")") + 2 :].split()  # the command may hold spaces and parentheses
