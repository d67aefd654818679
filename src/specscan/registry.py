"""The one place that talks to MLflow: tracking, logging the model, versions, aliases, downloads."""

from __future__ import annotations

import getpass
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from specscan.artifact.bundle import MANIFEST_FILE, ONNX_FILE, TOKENIZER_FILE, read_manifest
from specscan.errors import ModelLoadError, RegistryError
from specscan.private import private_directory, private_sqlite
from specscan.settings import Settings

log = logging.getLogger(__name__)
MODEL_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[\w-]+)|/(?P<version>\d+))$")
HISTORY_TAG = "alias_history.{alias}"
HISTORY_KEEP = 50
DESCRIPTION_MAX = 5000
SHA_TAGS = {ONNX_FILE: "sha256.onnx", TOKENIZER_FILE: "sha256.tokenizer"}


class VersionInfo(BaseModel):
    """A registered model version as users see it."""

    name: str
    version: int
    aliases: list[str]
    created: str
    run_id: str | None
    tags: dict[str, str]


class AliasEvent(BaseModel):
    """One move of an alias: who moved it to which version, when and why."""

    version: int
    by: str
    at: str
    reason: str


def actor() -> str:
    """Who is acting: SPECSCAN_ACTOR if set (CI passes the approver), else the OS user."""
    return os.environ.get("SPECSCAN_ACTOR") or getpass.getuser()


class Registry:
    """MLflow tracking and model registry for one settings object."""

    def __init__(self, settings: Settings) -> None:
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # read when mlflow is imported
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        import mlflow
        from mlflow import MlflowClient

        self.settings = settings
        self.name = settings.model_name
        uri = settings.resolved_tracking_uri
        if uri.startswith("sqlite:"):
            private_directory(settings.home)
            private_sqlite(uri)
        # Fail fast on an unreachable server instead of MLflow's minutes of retries.
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
        if settings.tracking_token:
            os.environ.setdefault("MLFLOW_TRACKING_TOKEN", settings.tracking_token.get_secret_value())
        mlflow.set_tracking_uri(uri)
        if settings.registry_uri:
            mlflow.set_registry_uri(settings.registry_uri)
        self.mlflow = mlflow
        self.client = MlflowClient(tracking_uri=uri, registry_uri=settings.registry_uri)
        self.uri = uri

    @contextmanager
    def _talking(self, what: str) -> Iterator[None]:
        from mlflow.exceptions import MlflowException

        try:
            yield
        except MlflowException as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RegistryError(f"{what} failed at {self.uri}: {message[:300]}") from exc
        except OSError as exc:
            raise RegistryError(f"{what} failed at {self.uri}: {exc}") from exc

    def check(self) -> None:
        """Raise RegistryError unless the tracking store answers."""
        with self._talking("connecting to the tracking store"):
            self.client.search_experiments(max_results=1)

    def experiment_id(self) -> str:
        """The experiment's id, created on first use (artifacts under SPECSCAN_HOME by default)."""
        with self._talking("opening the experiment"):
            experiment = self.client.get_experiment_by_name(self.settings.experiment)
            if experiment is not None:
                return str(experiment.experiment_id)
            location = None
            if self.uri.startswith("sqlite:"):
                private_directory(self.settings.artifact_root)
                location = self.settings.artifact_root.as_uri()
            return str(self.client.create_experiment(self.settings.experiment,
                                                     artifact_location=location))

    # --- logging and registering -------------------------------------------------------------

    def log_bundle(self, bundle_dir: Path) -> str:
        """Log a bundle as an MLflow pyfunc model in the active run; return its model URI."""
        import pandas as pd
        from mlflow.models import infer_signature

        import specscan
        from specscan.pyfunc import BUNDLE_ARTIFACT

        example = pd.DataFrame({"text": ["Brake pad, asbestos-free, E-marked to UN ECE R90"]})
        output = pd.DataFrame({"label": ["compliant"], "probability": [0.01]})
        with tempfile.TemporaryDirectory() as staging, self._talking("logging the model"):
            # MLflow stores an artifact directory under its own name: make that name `bundle`
            staged = shutil.copytree(bundle_dir, Path(staging) / BUNDLE_ARTIFACT)
            info = self.mlflow.pyfunc.log_model(
                name="model",
                python_model=str(Path(specscan.__file__).parent / "pyfunc_model.py"),
                artifacts={BUNDLE_ARTIFACT: str(staged)},
                code_paths=[str(Path(specscan.__file__).parent)],
                pip_requirements=_runtime_requirements(),
                signature=infer_signature(example, output),
            )
        return str(info.model_uri)

    def find_version_by_tag(self, key: str, value: str) -> int | None:
        """The newest version whose tag `key` equals `value`, if any."""
        for version in self.versions():
            if version.tags.get(key) == value:
                return version.version
        return None

    def register(self, model_uri: str, *, tags: dict[str, str]) -> int:
        """Register `model_uri` as a new version of the model, with tags; return its number."""
        with self._talking("registering the model"):
            try:
                self.client.get_registered_model(self.name)
            except Exception:
                self.client.create_registered_model(
                    self.name, description="Labels component descriptions compliant / non_compliant.")
            version = self.mlflow.register_model(model_uri, self.name, tags=tags)
        return int(version.version)

    def describe(self, version: int, description: str) -> None:
        """Set a version's description (MLflow renders it as Markdown: the model card)."""
        if len(description) > DESCRIPTION_MAX:  # registry stores cap it (5,000 on SQL stores)
            note = "\n\n… (truncated: the full card is the run artifact model_card.md)"
            description = description[: DESCRIPTION_MAX - len(note)] + note
        with self._talking(f"describing version {version}"):
            self.client.update_model_version(self.name, str(version), description=description)

    # --- versions and aliases ----------------------------------------------------------------

    def versions(self) -> list[VersionInfo]:
        """All versions, newest first."""
        with self._talking("listing model versions"):
            found = self.client.search_model_versions(f"name='{self.name}'")
            aliases = self._aliases() if found else {}
        infos = [_info(v).model_copy(update={"aliases": sorted(aliases.get(int(v.version), []))})
                 for v in found]  # search results leave aliases out
        return sorted(infos, key=lambda v: v.version, reverse=True)

    def _aliases(self) -> dict[int, list[str]]:
        by_version: dict[int, list[str]] = {}
        for alias, version in self.client.get_registered_model(self.name).aliases.items():
            by_version.setdefault(int(version), []).append(alias)
        return by_version

    def version(self, version: int) -> VersionInfo:
        with self._talking(f"reading version {version}"):
            return _info(self.client.get_model_version(self.name, str(version)))

    def alias_version(self, alias: str) -> int | None:
        """The version an alias points at, or None when the alias is not set."""
        from mlflow.exceptions import MlflowException

        try:
            return int(self.client.get_model_version_by_alias(self.name, alias).version)
        except MlflowException as exc:
            if "not found" in str(exc).lower() or "RESOURCE_DOES_NOT_EXIST" in str(exc):
                return None
            raise RegistryError(f"reading alias {alias!r} failed at {self.uri}: {exc}") from exc

    def alias_history(self, alias: str) -> list[AliasEvent]:
        with self._talking("reading alias history"):
            try:
                tags = self.client.get_registered_model(self.name).tags
            except Exception:
                return []
        raw = tags.get(HISTORY_TAG.format(alias=alias), "[]")
        return [AliasEvent.model_validate(e) for e in json.loads(raw)]

    def set_alias(self, alias: str, version: int, *, reason: str, by: str | None = None) -> AliasEvent:
        """Point `alias` at `version` and record who, when and why (on the version and in history)."""
        self.version(version)  # raises if it does not exist
        event = AliasEvent(version=version, by=by or actor(), at=datetime.now(UTC).isoformat(
            timespec="seconds"), reason=reason)
        history = [*self.alias_history(alias), event][-HISTORY_KEEP:]
        with self._talking(f"setting alias {alias!r}"):
            self.client.set_registered_model_alias(self.name, alias, str(version))
            for key, value in (("by", event.by), ("at", event.at), ("reason", reason)):
                self.client.set_model_version_tag(self.name, str(version), f"{alias}.promoted_{key}", value)
            self.client.set_registered_model_tag(
                self.name, HISTORY_TAG.format(alias=alias),
                json.dumps([e.model_dump() for e in history]))
        return event

    def rollback(self, alias: str, *, reason: str, by: str | None = None) -> AliasEvent:
        """Point `alias` back at the version it held before the current one."""
        current = self.alias_version(alias)
        if current is None:
            raise RegistryError(f"alias {alias!r} is not set on {self.name}; nothing to roll back")
        previous = [e.version for e in self.alias_history(alias) if e.version != current]
        if not previous:
            raise RegistryError(f"alias {alias!r} has no earlier version to roll back to")
        return self.set_alias(alias, previous[-1], reason=f"rollback from {current}: {reason}", by=by)

    # --- loading -----------------------------------------------------------------------------

    def resolve(self, model: str) -> tuple[int, VersionInfo]:
        """A `models:/name@alias` or `models:/name/N` URI (of this registry's model) to its version."""
        match = _parse_model_uri(model)
        if match["name"] != self.name:
            raise ModelLoadError(f"{model!r} names model {match['name']!r}, not {self.name!r}")
        if match["alias"]:
            number = self.alias_version(match["alias"])
            if number is None:
                raise ModelLoadError(f"alias {match['alias']!r} is not set on model {self.name!r}")
        else:
            number = int(match["version"])
        try:
            info = self.version(number)
        except RegistryError as exc:
            raise ModelLoadError(f"model {self.name!r} has no version {number}") from exc
        return number, info

    def bundle_path(self, model: str) -> Path:
        """A local, verified bundle for a model URI or a bundle directory, downloaded once."""
        local = Path(model)
        if local.is_dir():
            read_manifest(local)
            return local
        name = _parse_model_uri(model)["name"]
        if name != self.name:  # another registered model in the same store
            return Registry(self.settings.model_copy(update={"model_name": name})).bundle_path(model)
        number, info = self.resolve(model)
        target = self.settings.model_cache / self.name / str(number)
        if not (target / MANIFEST_FILE).is_file():
            self._download(number, target)
        manifest = read_manifest(target)
        for file, tag in SHA_TAGS.items():
            recorded = info.tags.get(tag)
            if recorded is None:
                raise ModelLoadError(f"version {number} of {self.name} has no recorded SHA-256 ({tag}): not loaded")
            if recorded != manifest.sha256[file]:
                raise ModelLoadError(f"{target / file}: SHA-256 differs from the registry's record")
        return target

    def _download(self, number: int, target: Path) -> None:
        from specscan.pyfunc import BUNDLE_ARTIFACT

        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.settings.model_cache, 0o700)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp, self._talking("downloading"):
            root = Path(self.mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{self.name}/{number}", dst_path=tmp))
            bundle = root / "artifacts" / BUNDLE_ARTIFACT
            if not (bundle / MANIFEST_FILE).is_file():
                raise ModelLoadError(f"version {number} of {self.name} holds no specscan bundle")
            shutil.move(str(bundle), str(target))


def _parse_model_uri(model: str) -> re.Match[str]:
    match = MODEL_URI.match(model)
    if not match:
        raise ModelLoadError(f"{model!r} is not a model URI: use models:/NAME@ALIAS, models:/NAME/VERSION "
                             "or a bundle directory")
    return match


def _info(version: Any) -> VersionInfo:
    created = datetime.fromtimestamp(version.creation_timestamp / 1000, UTC).isoformat(timespec="seconds")
    return VersionInfo(name=version.name, version=int(version.version),
                       aliases=list(getattr(version, "aliases", []) or []), created=created,
                       run_id=version.run_id, tags=dict(version.tags or {}))


def _runtime_requirements() -> list[str]:
    from importlib.metadata import version

    packages = ("onnxruntime", "tokenizers", "numpy", "pandas", "pydantic", "pydantic-settings")
    return [f"{name}=={version(name)}" for name in packages]
