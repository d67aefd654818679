"""specscan's exceptions. Every one carries a one-line message fit for a user.

Exit codes of the CLI: 1 any SpecscanError, 3 a candidate not promoted by the gate,
4 invalid data, 5 the tracking/registry store unusable.

SpecscanError
 ├── DataValidationError     a data file is unusable (names the file and rows)
 ├── ModelLoadError          a model URI or bundle cannot be resolved or loaded
 ├── RegistryError           the tracking/registry server cannot be reached or refused
 ├── ParityError             PyTorch and ONNX Runtime disagree beyond tolerance
 └── ConfigError             a configuration file is missing or invalid
"""


class SpecscanError(Exception):
    """Base of all errors that specscan reports to a user without a traceback."""

    exit_code = 1


class DataValidationError(SpecscanError):
    """A data file fails validation."""

    exit_code = 4


class ModelLoadError(SpecscanError):
    """A model cannot be resolved or loaded."""


class RegistryError(SpecscanError):
    """The MLflow tracking or registry store cannot be used."""

    exit_code = 5


class ParityError(SpecscanError):
    """Exported ONNX model disagrees with its PyTorch source."""


class ConfigError(SpecscanError):
    """A configuration file is invalid."""
