"""The one settings object: environment (`SPECSCAN_*`), a git-ignored `.env`, and `*_FILE` secrets."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from specscan.texts import MAX_CHARS

ENV_PREFIX = "SPECSCAN_"
Access = Literal["off", "public", "scorer", "admin"]  # nobody; anyone; an API key of (at least) this role


class FileSecretsSource(PydanticBaseSettingsSource):
    """Reads `SPECSCAN_<FIELD>_FILE=/path` as the value of `<field>` (Docker/Kubernetes secrets)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        path = os.environ.get(f"{ENV_PREFIX}{field_name.upper()}_FILE")
        if not path:
            return None, field_name, False
        try:
            return Path(path).read_text(encoding="utf-8").strip(), field_name, False
        except OSError as exc:
            raise ValueError(f"cannot read {ENV_PREFIX}{field_name.upper()}_FILE={path}: {exc}") from exc

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, name)
            if value is not None:
                values[key] = value
        return values


class Settings(BaseSettings):
    """Where specscan keeps its state and which services it talks to."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    home: Path = Field(default=Path(".specscan"), description="All local state lives here.")
    tracking_uri: str | None = Field(
        default=None,
        description="MLflow tracking URI; default: a SQLite store under `home`.",
    )
    registry_uri: str | None = Field(default=None, description="MLflow registry URI, if separate.")
    tracking_token: SecretStr | None = Field(
        default=None, description="Bearer token for a remote MLflow server (use *_FILE)."
    )
    experiment: str = "specscan"
    model_name: str = "compliance-classifier"
    max_text_chars: int = Field(default=MAX_CHARS, gt=0, description="Longest accepted description.")

    # --- scoring service -------------------------------------------------------------------
    api_keys_file: Path | None = Field(default=None, description="API key hashes; default: `home`/api-keys.json.")
    collect_url: str | None = Field(
        default=None, description="Database for collected predictions; default: SQLite (WAL) under `home`.")
    collect_text: Literal["raw", "hash", "drop"] = Field(
        default="raw", description="What collection keeps of each input text: itself, its SHA-256, or nothing.")
    max_batch_size: int = Field(default=64, gt=0, description="Most items one ONNX Runtime call scores.")
    max_wait_ms: float = Field(
        default=0.0, ge=0, description="Extra wait for a fuller batch; 0 batches only what is already queued.")
    max_items: int = Field(default=256, gt=0, description="Most texts in one request.")
    max_body_bytes: int = Field(default=1 << 20, gt=0, description="Largest request body, after decompression.")
    ort_threads: int = Field(default=1, gt=0, description="ONNX Runtime intra-op threads of the service.")
    explain_max_words: int = Field(
        default=64, gt=0, description="Words of a text /explain attributes (one model row each); later ones get none.")
    explain_concurrency: int = Field(
        default=2, gt=0, description="/explain requests one API key may have in flight; more are answered 429.")
    explain_threads: int = Field(default=1, gt=0, description="Threads computing explanations; others queue.")
    reload_interval: float = Field(
        default=30.0, ge=0, description="Seconds between registry polls for a moved alias; 0 disables polling.")
    docs_access: Access = Field(
        default="off", description="Who may read /openapi.json: off, public (also the /docs page), or callers "
                                   "with a scorer or admin API key.")
    metrics_access: Access = Field(
        default="public", description="Who may read /metrics: public (Prometheus scrapes without a key), a scorer "
                                      "or admin API key, or off.")
    log_format: Literal["json", "text"] = Field(default="json", description="Service log lines.")
    otel_exporter: Literal["none", "console", "otlp"] = Field(
        default="none", description="OpenTelemetry traces: off, to stderr, or OTLP/HTTP (OTEL_EXPORTER_OTLP_*).")

    # --- both HTTP servers (a proxy in front should be as strict: deploy/nginx/specscan.conf) ---
    header_timeout: float = Field(
        default=10.0, gt=0, description="Seconds to send a request's head, from connecting or the last answer.")
    body_timeout: float = Field(
        default=60.0, gt=0, description="Seconds to send a request's whole body once its head is in (else 408).")
    max_header_bytes: int = Field(
        default=16 << 10, ge=1024, description="Largest request head: request line and headers (else 431).")
    keep_alive_timeout: int = Field(default=5, gt=0, description="Seconds an idle kept-alive connection stays open.")
    max_connections: int = Field(
        default=1000, gt=0, description="Open connections, or requests in progress, beyond which requests get 503.")
    max_drain_bytes: int = Field(
        default=32 << 20, ge=0, description="A body answered unread is first read and discarded up to this size, "
                                            "so its client can read the answer; a longer one closes the connection.")

    # --- technician web application --------------------------------------------------------
    app_database_url: str | None = Field(
        default=None, description="The web app's database (SQLAlchemy URL); default: SQLite under `home`.")
    scoring_url: str = Field(default="http://127.0.0.1:8000", description="The scoring service the web app calls.")
    scoring_api_key: SecretStr | None = Field(
        default=None, description="The web app's scoring-service API key, role scorer (use *_FILE).")
    scoring_timeout: float = Field(
        default=3.0, gt=0, description="Seconds the web app waits for the scoring service before saving as pending.")
    retry_interval: float = Field(
        default=10.0, gt=0, description="Seconds between the web app's retries of pending classifications.")
    review_band_low: float = Field(
        default=0.2, ge=0, le=1, description="Predictions with probability of non_compliant in [low, high] ...")
    review_band_high: float = Field(default=0.8, ge=0, le=1, description="... go to the review queue.")
    session_idle_minutes: int = Field(default=30, gt=0, description="A web session ends after this long unused.")
    session_max_hours: int = Field(default=12, gt=0, description="... and at the latest after this long.")
    cookie_secure: bool = Field(
        default=True, description="Send the session cookie over HTTPS only (`__Host-` prefixed); false only for "
                                  "plain-HTTP development (`specscan app --dev`).")
    login_max_failures: int = Field(default=5, gt=0, description="Failed log-ins in a row that lock an account ...")
    login_lockout_minutes: int = Field(default=15, gt=0, description="... for this long.")
    login_throttle_per_minute: int = Field(
        default=20, ge=0, description="Log-in attempts a minute from one client address (in bursts of as many); "
                                      "0 turns the throttle off, for a proxy in front that throttles instead.")
    admin_username: str | None = Field(
        default=None, description="First-admin bootstrap: created at start-up when the app has no users yet.")
    admin_password: SecretStr | None = Field(default=None, description="Its password (use *_FILE).")

    @model_validator(mode="after")
    def _review_band_in_order(self) -> Settings:
        if self.review_band_low > self.review_band_high:
            raise ValueError(f"review_band_low ({self.review_band_low}) is above review_band_high "
                             f"({self.review_band_high})")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, FileSecretsSource(settings_cls), dotenv_settings)

    @property
    def resolved_tracking_uri(self) -> str:
        """The tracking URI in force: the configured one, or SQLite under `home`."""
        if self.tracking_uri:
            return self.tracking_uri
        return f"sqlite:///{(self.home / 'mlflow.db').resolve()}"

    @property
    def artifact_root(self) -> Path:
        """Artifact store for the embedded default tracking store."""
        return (self.home / "mlartifacts").resolve()

    @property
    def step_cache(self) -> Path:
        """Content-addressed outputs of pipeline steps."""
        return (self.home / "steps").resolve()

    @property
    def resolved_api_keys_file(self) -> Path:
        """Where API key hashes are kept."""
        return (self.api_keys_file or self.home / "api-keys.json").resolve()

    @property
    def resolved_collect_url(self) -> str:
        """The collection database in force: the configured one, or SQLite under `home`."""
        if self.collect_url:
            return self.collect_url
        return f"sqlite:///{(self.home / 'collected.db').resolve()}"

    @property
    def resolved_app_database_url(self) -> str:
        """The web app's database in force: the configured one, or SQLite under `home`."""
        if self.app_database_url:
            return self.app_database_url
        return f"sqlite:///{(self.home / 'app.db').resolve()}"

    @property
    def model_cache(self) -> Path:
        """Downloaded registry artifacts, by model version."""
        return (self.home / "models").resolve()
