"""Specifications for specscan.pipeline.cache: content-addressed, atomically published step outputs."""

import hashlib
from pathlib import Path

import pytest

from specscan.pipeline.cache import DONE_MARKER, digest_path, run_cached, step_key

INPUTS = {"data": "a" * 64, "tokenizer": "b" * 64}
PARAMS = {"lr": 0.002, "arch": "cnn"}


def key(step: str = "train", *, inputs: dict = INPUTS, params: dict = PARAMS, code: str = "v1") -> str:
    return step_key(step, inputs=inputs, params=params, code=code)


class Producer:
    """A `produce` callable that counts its calls and writes one file."""

    def __init__(self, content: str = "weights") -> None:
        self.calls = 0
        self.content = content

    def __call__(self, out_dir: Path) -> None:
        self.calls += 1
        (out_dir / "model.pt").write_text(self.content)


def tree(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    return root


# step_key


def test_step_key_is_stable_for_equal_arguments() -> None:
    reordered_inputs = dict(reversed(INPUTS.items()))
    reordered_params = dict(reversed(PARAMS.items()))
    assert key() == key() == key(inputs=reordered_inputs, params=reordered_params)


@pytest.mark.parametrize(
    "change",
    [
        {"step": "evaluate"},
        {"inputs": INPUTS | {"data": "c" * 64}},
        {"inputs": INPUTS | {"extra": "d" * 64}},
        {"params": PARAMS | {"lr": 0.001}},
        {"code": "v2"},
    ],
    ids=["step", "input digest", "added input", "params", "code"],
)
def test_step_key_changes_when_step_inputs_params_or_code_change(change: dict) -> None:
    assert key(**change) != key()


# run_cached


def test_run_cached_runs_produce_once_then_serves_the_cached_output(tmp_path: Path) -> None:
    produce = Producer()

    first = run_cached(tmp_path, "train", "k1", produce)
    second = run_cached(tmp_path, "train", "k1", produce)

    assert (first.cached, second.cached) == (False, True)
    assert produce.calls == 1
    assert first.output == second.output == tmp_path / "train" / "k1"
    assert (second.output / "model.pt").read_text() == "weights"
    assert (second.output / DONE_MARKER).is_file()


def test_run_cached_runs_again_for_another_key(tmp_path: Path) -> None:
    produce = Producer()
    run_cached(tmp_path, "train", "k1", produce)
    result = run_cached(tmp_path, "train", "k2", produce)
    assert not result.cached
    assert produce.calls == 2


def test_a_failing_produce_leaves_nothing_behind_and_a_later_call_runs_again(tmp_path: Path) -> None:
    def explode(out_dir: Path) -> None:
        (out_dir / "half-written.pt").write_text("partial")
        raise RuntimeError("killed half-way")

    with pytest.raises(RuntimeError, match="killed half-way"):
        run_cached(tmp_path, "train", "k1", explode)

    assert list((tmp_path / "train").iterdir()) == []  # no output, no temporary directory

    produce = Producer()
    result = run_cached(tmp_path, "train", "k1", produce)
    assert not result.cached
    assert produce.calls == 1
    assert sorted(p.name for p in result.output.iterdir()) == [DONE_MARKER, "model.pt"]


def test_an_output_without_the_done_marker_is_replaced_not_reused(tmp_path: Path) -> None:
    tree(tmp_path / "train" / "k1", {"stale.pt": "from a killed run"})
    produce = Producer()

    result = run_cached(tmp_path, "train", "k1", produce)

    assert not result.cached
    assert produce.calls == 1
    assert sorted(p.name for p in result.output.iterdir()) == [DONE_MARKER, "model.pt"]
    assert [p.name for p in (tmp_path / "train").iterdir()] == ["k1"]


# digest_path


def test_digest_of_a_file_is_the_sha256_of_its_content(tmp_path: Path) -> None:
    file = tmp_path / "data.csv"
    file.write_bytes(b"text,label\n")
    assert digest_path(file) == hashlib.sha256(b"text,label\n").hexdigest()


def test_digest_of_a_directory_depends_on_content_not_on_location(tmp_path: Path) -> None:
    files = {"a.txt": "alpha", "sub/b.txt": "beta"}
    assert digest_path(tree(tmp_path / "one", files)) == digest_path(tree(tmp_path / "two", files))


def test_digest_of_a_directory_changes_when_a_file_content_changes(tmp_path: Path) -> None:
    directory = tree(tmp_path / "d", {"a.txt": "alpha", "sub/b.txt": "beta"})
    before = digest_path(directory)
    (directory / "sub" / "b.txt").write_text("betA")
    assert digest_path(directory) != before


def test_digest_of_a_directory_changes_when_a_file_is_renamed(tmp_path: Path) -> None:
    directory = tree(tmp_path / "d", {"a.txt": "alpha", "sub/b.txt": "beta"})
    before = digest_path(directory)
    (directory / "sub" / "b.txt").rename(directory / "sub" / "c.txt")
    assert digest_path(directory) != before


def test_digest_of_a_directory_ignores_the_done_marker(tmp_path: Path) -> None:
    directory = tree(tmp_path / "d", {"a.txt": "alpha"})
    before = digest_path(directory)
    (directory / DONE_MARKER).write_text("some key")
    assert digest_path(directory) == before


def test_digest_of_a_directory_separates_names_from_contents(tmp_path: Path) -> None:
    one, two = tree(tmp_path / "one", {"a": "bc"}), tree(tmp_path / "two", {"ab": "c"})
    assert digest_path(one) != digest_path(two)
