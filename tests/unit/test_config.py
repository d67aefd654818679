"""Specifications for specscan.pipeline.config: typed defaults, YAML/JSON files, errors naming the file."""

import json
from pathlib import Path

import pytest

from specscan.errors import ConfigError
from specscan.pipeline.config import PipelineConfig, load_config


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_gives_the_defaults() -> None:
    config = load_config(None)
    assert config == PipelineConfig()
    assert config.gate.min_macro_f1 == {"test": 0.95, "heldout_families": 0.90}
    assert (config.gate.max_regression, config.gate.max_slice_regression) == (0.01, 0.03)
    assert config.gate.min_slice_rows == 50
    assert (config.split.test_fraction, config.split.val_fraction, config.split.seed) == (0.1, 0.1, 7)
    assert config.train.arch == "bigru"
    assert (config.parity_texts, config.parity_tolerance) == (1000, 1e-4)


def test_a_yaml_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    path = write(tmp_path, "pipeline.yaml", """
split:
  seed: 11
train:
  arch: transformer
  max_epochs: 3
gate:
  min_macro_f1: {test: 0.5}
parity_tolerance: 0.001
""")
    config = load_config(path)
    assert config.split.seed == 11
    assert (config.train.arch, config.train.max_epochs) == ("transformer", 3)
    assert config.gate.min_macro_f1 == {"test": 0.5}
    assert config.parity_tolerance == 0.001
    assert config.gate.max_regression == PipelineConfig().gate.max_regression
    assert config.train.lr == PipelineConfig().train.lr


def test_a_json_file_is_read_as_json(tmp_path: Path) -> None:
    path = write(tmp_path, "pipeline.json",
                 json.dumps({"train": {"arch": "bigru"}, "gate": {"min_slice_rows": 20}}))
    config = load_config(path)
    assert config.train.arch == "bigru"
    assert config.gate.min_slice_rows == 20


def test_an_empty_yaml_file_gives_the_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "empty.yaml", "")) == PipelineConfig()


@pytest.mark.parametrize(
    ("name", "text", "key"),
    [
        ("top.yaml", "parity_txts: 10\n", "parity_txts"),
        ("top.json", '{"gates": {}}', "gates"),
        ("type.yaml", "parity_texts: many\n", "parity_texts"),
        ("nested.yaml", "gate:\n  max_regression: lots\n", "gate.max_regression"),
        ("bounds.yaml", "split:\n  test_fraction: 0.9\n", "split.test_fraction"),
        ("arch.json", '{"train": {"arch": "lstm"}}', "train.arch"),
    ],
    ids=["unknown key yaml", "unknown key json", "wrong type", "nested wrong type", "out of range",
         "unknown arch"],
)
def test_an_invalid_file_gives_a_config_error_naming_the_file_and_key(
    tmp_path: Path, name: str, text: str, key: str
) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message
    assert key in message


@pytest.mark.parametrize(
    ("section", "typo"),
    [("split", "sed"), ("train", "max_epoch"), ("gate", "max_regresion")],
)
def test_an_unknown_key_inside_a_section_gives_a_config_error(
    tmp_path: Path, section: str, typo: str
) -> None:
    path = write(tmp_path, "typo.yaml", f"{section}:\n  {typo}: 1\n")
    with pytest.raises(ConfigError, match=f"{section}.{typo}"):
        load_config(path)


def test_a_missing_file_gives_a_config_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError, match="absent.yaml"):
        load_config(path)


@pytest.mark.parametrize(("name", "text"), [("bad.yaml", "gate: [unclosed\n"), ("bad.json", "{nope")])
def test_a_file_that_does_not_parse_gives_a_config_error_naming_it(
    tmp_path: Path, name: str, text: str
) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(ConfigError, match=name):
        load_config(path)


def test_labelled_sets_are_found_relative_to_the_config_file(tmp_path: Path) -> None:

    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "p.yaml"
    path.write_text("evaluation:\n  labelled_sets:\n    mine: ../sets/mine.csv\n    absolute: /data/x.csv\n")
    sets = load_config(path).evaluation.labelled_sets
    assert sets == {"mine": tmp_path / "conf" / ".." / "sets" / "mine.csv", "absolute": Path("/data/x.csv")}


def test_the_shipped_configs_point_at_the_frozen_sets() -> None:

    root = Path(__file__).parents[2]
    for revision in ("r1", "r2"):
        config = load_config(root / "configs" / f"{revision}.yaml")
        assert all(path.is_file() for path in config.evaluation.labelled_sets.values())
        assert f"independent_{revision}" in config.gate.min_macro_f1
