"""specscan: component compliance classification, from data to registered ONNX model."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("specscan")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

LABELS: tuple[str, str] = ("compliant", "non_compliant")
"""Class names by index; index 1 (non_compliant) is the positive class."""
