"""Specifications for specscan.settings: defaults, SPECSCAN_* env vars, `.env` and *_FILE secrets."""

import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from specscan.settings import Settings

FAKE_TOKEN = "placeholder-test-value"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test starts in an empty directory with no SPECSCAN_* variables set."""
    for name in list(os.environ):
        if name.upper().startswith("SPECSCAN_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_keep_state_under_dot_specscan_with_a_sqlite_tracking_store(tmp_path: Path) -> None:
    settings = Settings()

    assert settings.home == Path(".specscan")
    assert settings.tracking_uri is None
    assert settings.tracking_token is None
    expected_db = (tmp_path / ".specscan" / "mlflow.db").resolve()
    assert expected_db.is_absolute()
    assert settings.resolved_tracking_uri == f"sqlite:///{expected_db}"


def test_specscan_home_env_var_overrides_home_and_the_default_tracking_uri(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "elsewhere"
    monkeypatch.setenv("SPECSCAN_HOME", str(home))

    settings = Settings()
    assert settings.home == home
    assert settings.resolved_tracking_uri == f"sqlite:///{home.resolve() / 'mlflow.db'}"


def test_specscan_tracking_uri_env_var_is_used_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPECSCAN_TRACKING_URI", "http://mlflow.internal:5000")

    assert Settings().resolved_tracking_uri == "http://mlflow.internal:5000"


def test_token_file_env_var_supplies_the_secret_without_its_trailing_newline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(FAKE_TOKEN + "\n", encoding="utf-8")
    monkeypatch.setenv("SPECSCAN_TRACKING_TOKEN_FILE", str(token_file))

    settings = Settings()
    assert isinstance(settings.tracking_token, SecretStr)
    assert settings.tracking_token.get_secret_value() == FAKE_TOKEN


def test_token_is_not_revealed_by_repr_or_str(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(FAKE_TOKEN + "\n", encoding="utf-8")
    monkeypatch.setenv("SPECSCAN_TRACKING_TOKEN_FILE", str(token_file))

    settings = Settings()
    assert settings.tracking_token is not None
    for shown in (repr(settings), str(settings), repr(settings.tracking_token), str(settings.tracking_token)):
        assert FAKE_TOKEN not in shown


@pytest.mark.parametrize("target", ["absent", "a-directory"])
def test_unreadable_token_file_is_a_clear_error_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    path = tmp_path / target
    if target == "a-directory":
        path.mkdir()
    monkeypatch.setenv("SPECSCAN_TRACKING_TOKEN_FILE", str(path))

    with pytest.raises(ValueError, match="SPECSCAN_TRACKING_TOKEN_FILE") as caught:
        Settings()
    assert str(path) in str(caught.value)


def test_dotenv_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "SPECSCAN_HOME=from-dotenv\nSPECSCAN_TRACKING_URI=http://dotenv:5000\nSPECSCAN_MAX_TEXT_CHARS=42\n",
        encoding="utf-8",
    )

    settings = Settings()
    assert settings.home == Path("from-dotenv")
    assert settings.tracking_uri == "http://dotenv:5000"
    assert settings.max_text_chars == 42


def test_env_vars_beat_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(
        "SPECSCAN_HOME=from-dotenv\nSPECSCAN_TRACKING_URI=http://dotenv:5000\n", encoding="utf-8"
    )
    monkeypatch.setenv("SPECSCAN_HOME", "from-env")

    settings = Settings()
    assert settings.home == Path("from-env")
    assert settings.tracking_uri == "http://dotenv:5000"  # variables not set in the env still come from .env


def test_token_file_beats_a_token_in_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("SPECSCAN_TRACKING_TOKEN=from-dotenv\n", encoding="utf-8")
    token_file = tmp_path / "token"
    token_file.write_text(FAKE_TOKEN, encoding="utf-8")
    monkeypatch.setenv("SPECSCAN_TRACKING_TOKEN_FILE", str(token_file))

    token = Settings().tracking_token
    assert token is not None
    assert token.get_secret_value() == FAKE_TOKEN


def test_max_text_chars_must_be_positive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPECSCAN_MAX_TEXT_CHARS", "0")

    with pytest.raises(ValueError, match="max_text_chars"):
        Settings()


def test_the_web_apps_database_defaults_to_sqlite_under_home_and_takes_a_url(tmp_path: Path) -> None:
    assert Settings(home=tmp_path).resolved_app_database_url == f"sqlite:///{(tmp_path / 'app.db').resolve()}"
    url = "postgresql+psycopg://app@db.example/inventory"
    assert Settings(home=tmp_path, app_database_url=url).resolved_app_database_url == url


def test_the_scoring_key_comes_from_a_secret_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "key").write_text("ssk_abc_def\n")
    monkeypatch.setenv("SPECSCAN_SCORING_API_KEY_FILE", str(tmp_path / "key"))
    assert Settings().scoring_api_key.get_secret_value() == "ssk_abc_def"


def test_a_review_band_upside_down_is_refused() -> None:
    with pytest.raises(ValueError, match="review_band_low"):
        Settings(review_band_low=0.9, review_band_high=0.1)
