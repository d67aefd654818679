"""The Open Inference Protocol (KServe V2) over REST, with Triton's binary tensor extension.

The model takes one BYTES input `text` of shape [N] (or [N, 1]) and answers two outputs:
`label` (BYTES [N]) and `probability` (FP32 [N], of non_compliant). Tensors travel as JSON
`data`, or as raw bytes after a JSON header whose length is in `Inference-Header-Content-Length`
(what `tritonclient` sends and asks for by default).
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

INPUT = "text"
OUTPUTS = ("label", "probability")
HEADER_LENGTH = "Inference-Header-Content-Length"


class InvalidInferRequest(ValueError):
    """The request does not follow the protocol; the message says where."""


class TensorMetadata(BaseModel):
    name: str
    datatype: str
    shape: list[int]


class ModelMetadata(BaseModel):
    """`GET /v2/models/{name}`."""

    name: str
    versions: list[str]
    platform: str = "onnxruntime_onnx"
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class ServerMetadata(BaseModel):
    """`GET /v2`."""

    name: str = "specscan"
    version: str
    extensions: list[str] = ["binary_tensor_data"]


class InferInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr
    shape: list[int] = Field(max_length=2)
    datatype: StrictStr
    parameters: dict[str, Any] | None = None
    data: list[Any] | None = None


class RequestedOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr
    parameters: dict[str, Any] | None = None


class InferRequest(BaseModel):
    """`POST /v2/models/{name}/infer`: one BYTES tensor of texts."""

    model_config = ConfigDict(extra="forbid")

    id: StrictStr | None = None
    parameters: dict[str, Any] | None = None
    inputs: list[InferInput] = Field(min_length=1, max_length=1)
    outputs: list[RequestedOutput] | None = None


class OutputTensor(BaseModel):
    name: str
    shape: list[int]
    datatype: Literal["BYTES", "FP32"]
    parameters: dict[str, Any] | None = None
    data: list[Any] | None = None


class InferResponse(BaseModel):
    model_name: str
    model_version: str
    id: str | None = None
    parameters: dict[str, Any] | None = None
    outputs: list[OutputTensor]


def model_metadata(name: str, version: int) -> ModelMetadata:
    return ModelMetadata(
        name=name, versions=[str(version)],
        inputs=[TensorMetadata(name=INPUT, datatype="BYTES", shape=[-1])],
        outputs=[TensorMetadata(name="label", datatype="BYTES", shape=[-1]),
                 TensorMetadata(name="probability", datatype="FP32", shape=[-1])],
    )


def parse_infer(body: bytes, header_length: str | None, *, max_items: int) -> tuple[InferRequest, list[Any]]:
    """The request and its texts (not yet checked as texts: the caller validates items)."""
    if header_length is None:
        header, binary = body, b""
    else:
        try:
            size = int(header_length)
        except ValueError:
            raise InvalidInferRequest(f"{HEADER_LENGTH} must be an integer, got {header_length[:40]!r}") from None
        if not 0 < size <= len(body):
            raise InvalidInferRequest(f"{HEADER_LENGTH}={size} does not fit a body of {len(body)} bytes")
        header, binary = body[:size], body[size:]
    try:
        request = InferRequest.model_validate_json(header)
    except ValidationError as exc:
        raise InvalidInferRequest(_describe(exc)) from None
    tensor = request.inputs[0]
    if tensor.name != INPUT or tensor.datatype != "BYTES":
        raise InvalidInferRequest(f"input {tensor.name!r} ({tensor.datatype}) is not what this model takes: "
                                  f"one BYTES input {INPUT!r}")
    count = math.prod(tensor.shape) if tensor.shape else 0
    if len(tensor.shape) == 2 and tensor.shape[1] != 1 or any(d < 0 for d in tensor.shape):
        raise InvalidInferRequest(f"input shape {tensor.shape} must be [N] or [N, 1]")
    if count > max_items:
        raise InvalidInferRequest(f"{count} texts in one request; the most is {max_items}")
    size = (tensor.parameters or {}).get("binary_data_size")
    if size is not None:
        if tensor.data is not None:
            raise InvalidInferRequest("input has both data and binary_data_size")
        if not isinstance(size, int) or size != len(binary):
            raise InvalidInferRequest(f"binary_data_size {size!r} does not match the {len(binary)} bytes sent")
        texts: list[Any] = _unpack_bytes(binary, count)
    else:
        if binary:
            raise InvalidInferRequest("binary data sent but no input declares binary_data_size")
        if tensor.data is None:
            raise InvalidInferRequest("input has neither data nor binary_data_size")
        texts = _flatten(tensor.data)
    if len(texts) != count:
        raise InvalidInferRequest(f"input shape {tensor.shape} says {count} texts but {len(texts)} were sent")
    for requested in request.outputs or []:
        if requested.name not in OUTPUTS:
            raise InvalidInferRequest(f"unknown output {requested.name!r}; outputs are {', '.join(OUTPUTS)}")
    return request, texts


def _flatten(data: list[Any]) -> list[Any]:
    if all(isinstance(row, list) for row in data) and data:
        return [item for row in data for item in row]
    return data


def _unpack_bytes(buffer: bytes, count: int) -> list[Any]:
    texts: list[Any] = []
    offset = 0
    while offset < len(buffer):
        if offset + 4 > len(buffer):
            raise InvalidInferRequest(f"binary input is truncated at byte {offset}")
        (length,) = struct.unpack_from("<I", buffer, offset)
        offset += 4
        if offset + length > len(buffer) or len(texts) >= count:
            raise InvalidInferRequest(f"binary input element {len(texts)} overruns the data sent")
        try:
            texts.append(buffer[offset:offset + length].decode("utf-8"))
        except UnicodeDecodeError:
            raise InvalidInferRequest(f"text {len(texts)} is not valid UTF-8") from None
        offset += length
    return texts


def infer_response(request: InferRequest, *, model_name: str, model_version: int, labels: list[str],
                   probabilities: np.ndarray) -> tuple[bytes, dict[str, str]]:
    """The response body and its extra headers, JSON or binary as the request asked."""
    wanted = {o.name: bool((o.parameters or {}).get("binary_data")) for o in request.outputs or []}
    if not wanted:
        binary_all = bool((request.parameters or {}).get("binary_data_output"))
        wanted = dict.fromkeys(OUTPUTS, binary_all)
    values = {"label": labels, "probability": probabilities.astype("<f4")}
    outputs: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    for name, binary in wanted.items():
        datatype = "BYTES" if name == "label" else "FP32"
        tensor: dict[str, Any] = {"name": name, "datatype": datatype, "shape": [len(labels)]}
        if binary:
            raw = _pack_bytes(labels) if name == "label" else values["probability"].tobytes()
            tensor["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        else:
            tensor["data"] = labels if name == "label" else [float(p) for p in values["probability"]]
        outputs.append(tensor)
    header = json.dumps({"model_name": model_name, "model_version": str(model_version),
                         **({"id": request.id} if request.id is not None else {}), "outputs": outputs},
                        separators=(",", ":")).encode()
    if not chunks:
        return header, {"content-type": "application/json"}
    return header + b"".join(chunks), {"content-type": "application/octet-stream", HEADER_LENGTH: str(len(header))}


def _pack_bytes(items: list[str]) -> bytes:
    parts = []
    for item in items:
        raw = item.encode()
        parts.append(struct.pack("<I", len(raw)) + raw)
    return b"".join(parts)


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return f"invalid inference request at {where}: {first['msg']}"
