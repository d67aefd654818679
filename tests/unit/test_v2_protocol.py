"""The Open Inference Protocol codec, JSON and Triton's binary tensor extension, as tritonclient speaks it."""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
import pytest
import tritonclient.http as triton

from specscan.scoring.v2 import HEADER_LENGTH, InferRequest, InvalidInferRequest, infer_response, parse_infer

TEXTS = ["Cable sheathing, PVC with lead stabiliser", "Tyre 205/55 R16 — ünïcödé ✓", ""]
MAX_ITEMS = 16


def _json_body(data: list[Any], shape: list[int], *, name: str = "text", datatype: str = "BYTES",
               **extra: Any) -> bytes:
    return json.dumps({"inputs": [{"name": name, "shape": shape, "datatype": datatype, "data": data}],
                       **extra}).encode()


def _pack(items: list[bytes]) -> bytes:
    """BYTES elements as tritonclient serialises them: a 4-byte little-endian length, then the bytes."""
    return b"".join(struct.pack("<I", len(item)) + item for item in items)


def _binary_body(raw: bytes, shape: list[int], *, declared_size: int | None = None,
                 **extra: Any) -> tuple[bytes, str]:
    header = json.dumps({"inputs": [{"name": "text", "shape": shape, "datatype": "BYTES", "parameters": {
        "binary_data_size": len(raw) if declared_size is None else declared_size}}], **extra}).encode()
    return header + raw, str(len(header))


def _parse(body: bytes, header_length: str | None = None, max_items: int = MAX_ITEMS) -> list[Any]:
    return parse_infer(body, header_length, max_items=max_items)[1]


# --- requests that are accepted -------------------------------------------------------------------------------


def test_json_tensor_of_shape_n() -> None:
    assert _parse(_json_body(TEXTS, [3])) == TEXTS


def test_json_tensor_of_shape_n_by_1_nested_or_flat() -> None:
    assert _parse(_json_body([[t] for t in TEXTS], [3, 1])) == TEXTS
    assert _parse(_json_body(TEXTS, [3, 1])) == TEXTS


def test_binary_bytes_tensor_built_by_hand() -> None:
    body, header_length = _binary_body(_pack([t.encode() for t in TEXTS]), [3])

    assert _parse(body, header_length) == TEXTS


@pytest.mark.parametrize("shape", [[2], [2, 1]])
def test_binary_request_from_tritonclient(shape: list[int]) -> None:
    tensor = triton.InferInput("text", shape, "BYTES")
    tensor.set_data_from_numpy(np.array(TEXTS[:2], dtype=object).reshape(shape), binary_data=True)
    body, header_length = triton.InferenceServerClient.generate_request_body([tensor], request_id="req-7")

    request, texts = parse_infer(body, str(header_length), max_items=MAX_ITEMS)

    assert texts == TEXTS[:2]
    assert request.id == "req-7"


def test_json_request_from_tritonclient_without_header_length() -> None:
    tensor = triton.InferInput("text", [2], "BYTES")
    tensor.set_data_from_numpy(np.array(TEXTS[:2], dtype=object), binary_data=False)
    body, header_length = triton.InferenceServerClient.generate_request_body([tensor])

    assert header_length is None
    assert _parse(body) == TEXTS[:2]


def test_items_are_returned_unchecked_for_the_caller_to_validate() -> None:
    assert _parse(_json_body([1, None], [2])) == [1, None]


# --- requests that are refused, each with a message saying where ---------------------------------------------


@pytest.mark.parametrize(("body", "header_length", "message"), [
    (_json_body(["a"], [1], name="texts"), None, "input 'texts' (BYTES) is not what this model takes"),
    (_json_body(["a"], [1], datatype="FP32"), None, "input 'text' (FP32) is not what this model takes"),
    (_json_body(["a", "b"], [3]), None, "input shape [3] says 3 texts but 2 were sent"),
    (_json_body(["a", "b"], [1]), None, "input shape [1] says 1 texts but 2 were sent"),
    (_json_body(["a", "b"], [1, 2]), None, "input shape [1, 2] must be [N] or [N, 1]"),
    (_json_body(["a"], [-1]), None, "input shape [-1] must be [N] or [N, 1]"),
    (_json_body(["a"], [1, 1, 1]), None, "invalid inference request at inputs.0.shape"),
    (_json_body(["a"] * 17, [17]), None, "17 texts in one request; the most is 16"),
    (_json_body(["a"], [1], outputs=[{"name": "logits"}]), None, "unknown output 'logits'; outputs are label"),
    (b'{"inputs": []}', None, "invalid inference request at inputs"),
    (b'{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES"}]}', None, "neither data nor binary_data_size"),
    (b'{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["a"], "extra": 1}]}', None,
     "invalid inference request at inputs.0.extra"),
    (b"{not json", None, "invalid inference request at body"),
    (_json_body(["a"], [1]), "abc", f"{HEADER_LENGTH} must be an integer"),
    (_json_body(["a"], [1]), "100000", f"{HEADER_LENGTH}=100000 does not fit a body of"),
    (_json_body(["a"], [1]), "0", f"{HEADER_LENGTH}=0 does not fit"),
])
def test_invalid_requests_are_refused_with_a_message(body: bytes, header_length: str | None, message: str) -> None:
    with pytest.raises(InvalidInferRequest) as caught:
        _parse(body, header_length)

    assert message in str(caught.value)


def test_too_many_items_are_refused_before_the_binary_data_is_decoded() -> None:
    body, header_length = _binary_body(b"\xff" * 8, [1000])  # not even valid elements

    with pytest.raises(InvalidInferRequest, match="1000 texts in one request; the most is 16"):
        _parse(body, header_length)


@pytest.mark.parametrize(("raw", "shape", "message"), [
    (_pack([b"abc"])[:-1], [1], "binary input element 0 overruns the data sent"),
    (_pack([b"abc"]) + b"\x01\x00", [2], "binary input is truncated at byte 7"),
    (_pack([b"a", b"b", b"c"]), [2], "binary input element 2 overruns the data sent"),
    (_pack([b"a"]), [2], "input shape [2] says 2 texts but 1 were sent"),
    (_pack([b"ok", b"\xff\xfe bad"]), [2], "text 1 is not valid UTF-8"),
    (_pack([b"\xed\xa0\x80"]), [1], "text 0 is not valid UTF-8"),  # an encoded lone surrogate
])
def test_malformed_binary_data_is_refused(raw: bytes, shape: list[int], message: str) -> None:
    body, header_length = _binary_body(raw, shape)

    with pytest.raises(InvalidInferRequest) as caught:
        _parse(body, header_length)

    assert message in str(caught.value)


def test_binary_data_shorter_than_declared_is_refused() -> None:
    raw = _pack([b"abcdef"])
    body, header_length = _binary_body(raw, [1], declared_size=len(raw))

    with pytest.raises(InvalidInferRequest, match=f"binary_data_size {len(raw)} does not match the 7 bytes sent"):
        _parse(body[:-3], header_length)


def test_binary_data_without_a_declared_size_is_refused() -> None:
    header = _json_body(["a"], [1])

    with pytest.raises(InvalidInferRequest, match="binary data sent but no input declares binary_data_size"):
        _parse(header + _pack([b"b"]), str(len(header)))


def test_data_and_binary_data_size_together_are_refused() -> None:
    header = json.dumps({"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["a"],
                                     "parameters": {"binary_data_size": 5}}]}).encode()

    with pytest.raises(InvalidInferRequest, match="both data and binary_data_size"):
        _parse(header + _pack([b"b"]), str(len(header)))


# --- responses ------------------------------------------------------------------------------------------------

LABELS = ["compliant", "non_compliant", "compliant"]
PROBABILITIES = np.array([0.125, 0.875, 0.25], dtype=np.float32)


def _request(**fields: Any) -> InferRequest:
    return InferRequest.model_validate({"inputs": [{"name": "text", "shape": [3], "datatype": "BYTES",
                                                    "data": TEXTS}], **fields})


def _respond(request: InferRequest) -> tuple[bytes, dict[str, str]]:
    return infer_response(request, model_name="specscan", model_version=4, labels=LABELS,
                          probabilities=PROBABILITIES)


def _decode(body: bytes, headers: dict[str, str]) -> triton.InferResult:
    length = headers.get(HEADER_LENGTH)
    return triton.InferenceServerClient.parse_response_body(body, header_length=None if length is None
                                                            else int(length))


def _assert_outputs_equal(result: triton.InferResult) -> None:
    labels = [v.decode() if isinstance(v, bytes) else v for v in result.as_numpy("label").tolist()]
    assert labels == LABELS  # tritonclient gives bytes for binary BYTES outputs, str for JSON ones
    np.testing.assert_array_equal(result.as_numpy("probability"), PROBABILITIES)
    assert result.as_numpy("probability").dtype == np.float32


def test_json_response_by_default() -> None:
    body, headers = _respond(_request(id="req-1"))

    assert headers == {"content-type": "application/json"}
    decoded = json.loads(body)
    assert {k: decoded[k] for k in ("model_name", "model_version", "id")} == {
        "model_name": "specscan", "model_version": "4", "id": "req-1"}
    assert [(o["name"], o["datatype"], o["shape"]) for o in decoded["outputs"]] == [
        ("label", "BYTES", [3]), ("probability", "FP32", [3])]
    _assert_outputs_equal(_decode(body, headers))


def test_binary_data_output_returns_every_output_as_binary() -> None:
    body, headers = _respond(_request(parameters={"binary_data_output": True}))

    assert headers["content-type"] == "application/octet-stream"
    header = json.loads(body[:int(headers[HEADER_LENGTH])])
    assert all("data" not in o and o["parameters"]["binary_data_size"] > 0 for o in header["outputs"])
    _assert_outputs_equal(_decode(body, headers))


@pytest.mark.parametrize(("label_binary", "probability_binary"), [(True, False), (False, True), (True, True),
                                                                  (False, False)])
def test_per_output_binary_data_is_honoured(label_binary: bool, probability_binary: bool) -> None:
    request = _request(outputs=[{"name": "label", "parameters": {"binary_data": label_binary}},
                                {"name": "probability", "parameters": {"binary_data": probability_binary}}])

    body, headers = _respond(request)

    result = _decode(body, headers)
    outputs = {o["name"]: o for o in result.get_response()["outputs"]}
    assert ("data" not in outputs["label"]) == label_binary
    assert ("data" not in outputs["probability"]) == probability_binary
    assert (HEADER_LENGTH in headers) == (label_binary or probability_binary)
    _assert_outputs_equal(result)


def test_only_the_requested_outputs_are_returned() -> None:
    body, headers = _respond(_request(outputs=[{"name": "probability"}]))

    result = _decode(body, headers)
    assert [o["name"] for o in result.get_response()["outputs"]] == ["probability"]
    np.testing.assert_array_equal(result.as_numpy("probability"), PROBABILITIES)


def test_tritonclient_request_and_response_round_trip() -> None:
    tensor = triton.InferInput("text", [3], "BYTES")
    tensor.set_data_from_numpy(np.array(TEXTS, dtype=object), binary_data=True)
    outputs = [triton.InferRequestedOutput("label", binary_data=True),
               triton.InferRequestedOutput("probability", binary_data=False)]
    body, header_length = triton.InferenceServerClient.generate_request_body([tensor], outputs=outputs,
                                                                             request_id="rt")

    request, texts = parse_infer(body, str(header_length), max_items=MAX_ITEMS)
    response, headers = _respond(request)

    assert texts == TEXTS
    result = _decode(response, headers)
    assert result.get_response()["id"] == "rt"
    _assert_outputs_equal(result)
