"""CloudWatch as the current AWS SDKs call it: in the Smithy RPC v2 CBOR protocol, and checked
against IAM's ``cloudwatch`` prefix.

The AWS SDK for Rust (aws-sdk-cloudwatch 1.140) calls CloudWatch in ``rpc-v2-cbor``: ``POST
/service/GraniteServiceVersion20100801/operation/<Operation>`` with ``Smithy-Protocol:
rpc-v2-cbor`` and a CBOR body. moto speaks CloudWatch's query and JSON protocols only, and answers
that path 404. This module adds the protocol to moto's own machinery, so that every CloudWatch
operation moto implements is reached through moto's normal request handling, signature checks and
IAM enforcement included:

- the protocol's paths (short or absolute service name) route to moto's CloudWatch responses,
  the operation named by the path; the body stays bytes (moto would decode it as UTF-8), and a
  gzip body (the SDKs compress PutMetricData over 10 KiB) is inflated for parsing only, the
  signature being checked over the bytes sent;
- a request parser and a response serializer for ``smithy-rpc-v2-cbor`` join moto's tables of
  them. They use botocore's CBOR codec, the one botocore speaks the protocol with (no further
  dependency), and the service model's shapes, so each value is written as its shape's type;
- answers are the protocol's: ``Smithy-Protocol: rpc-v2-cbor``, ``Content-Type:
  application/cbor``, the output structure, or no body for an operation without output
  (PutMetricData: the protocol would send no Content-Type either, but moto's server then sends
  text/html, and the protocol's clients accept an empty body typed CBOR);
- timestamps as tag 1 over a double: the Rust SDK (aws-smithy-cbor) reads the tagged value as a
  float only, where botocore writes whole seconds as an integer;
- errors as ``{"__type": "com.amazonaws.cloudwatch#<Shape>", "message": ...}`` with the
  query-compatible code in ``x-amzn-query-error`` (``InvalidParameterValue;Sender``), where both
  SDKs take the error code from; authentication and authorization failures too, which moto
  raises as query-protocol XML.

And IAM: moto takes an action's prefix from the credential scope's service, where CloudWatch signs
as ``monitoring`` while IAM names its actions ``cloudwatch:*``; a role allowed
``cloudwatch:PutMetricData`` was denied it. Actions signed for ``monitoring`` are checked as
``cloudwatch:<Operation>``, whatever the protocol; other services keep their prefixes.
"""

import gzip
import re
from types import SimpleNamespace
from typing import Any

from botocore.model import OperationNotFoundError, Shape
from botocore.parsers import RpcV2CBORParser
from botocore.serialize import RpcV2CBORSerializer
from werkzeug.exceptions import HTTPException

from moto.cloudwatch import urls
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core import parse, serialize
from moto.core.errors import ErrorShape
from moto.core.model import OperationModel
from moto.core.utils import get_service_model
from moto.iam.access_control import IAMRequestBase

PROTOCOL = "smithy-rpc-v2-cbor"  # as botocore's models and moto's tables name it
SMITHY_PROTOCOL = "rpc-v2-cbor"  # the Smithy-Protocol header's value
CONTENT_TYPE = "application/cbor"
SERVICE = "GraniteServiceVersion20100801"
NAMESPACE = "com.amazonaws.cloudwatch"
OPERATION_PATH = re.compile(
    rf"/service/(?:{re.escape(NAMESPACE)}\.)?{SERVICE}/operation/(?P<operation>[A-Za-z0-9]+)$"
)
# IAM's prefix for services whose SigV4 signing name differs from it.
IAM_PREFIXES = {"monitoring": "cloudwatch"}
GZIP_MAGIC = b"\x1f\x8b"


def operation_called(headers: Any, path: str) -> str | None:
    """The CloudWatch operation an RPC v2 CBOR request calls; None for any other request."""
    if headers.get("Smithy-Protocol") != SMITHY_PROTOCOL:
        return None
    match = OPERATION_PATH.search(path)
    return match["operation"] if match else None


class CborDecoder(RpcV2CBORParser):
    """botocore's CBOR decoder, leaving tag-1 timestamps as epoch seconds for moto to convert."""

    def __init__(self) -> None:
        super().__init__(timestamp_parser=lambda seconds: seconds)

    def decode(self, data: bytes) -> Any:
        return self.parse_data_item(self.get_peekable_stream_from_bytes(data))


class CborEncoder(RpcV2CBORSerializer):
    """botocore's CBOR encoder, driven by the shapes of the service model.

    botocore writes a whole-second timestamp as an integer, which the protocol allows but the
    Rust SDK rejects (aws-smithy-cbor decodes the tagged value with ``f64()``, floats only), so
    every timestamp is written as a double here.
    """

    def _serialize_type_timestamp(self, serialized, value, shape, key):
        serialized.extend(self._get_initial_byte(self.TAG_MAJOR_TYPE, 1))
        seconds = float(self._convert_timestamp_to_str(value))
        self._serialize_type_double(serialized, seconds, shape, key)

    def encode(self, value: Any, shape: Any) -> bytes:
        encoded = bytearray()
        self._serialize_data_item(encoded, value, shape)
        return bytes(encoded)


DECODER = CborDecoder()
ENCODER = CborEncoder()
STRING = Shape("String", {"type": "string"})


class RpcV2CborParser(parse.JSONParser):
    """moto's JSON request parser reading a CBOR document instead: the same shapes, walked the
    same way, from the values CBOR types itself (byte strings, tagged timestamps)."""

    def _parse_body_as_json(self, body_contents):
        if not body_contents:
            return {}
        if body_contents[:2] == GZIP_MAGIC:
            body_contents = gzip.decompress(body_contents)
        return DECODER.decode(body_contents)

    def _parse_blob(self, shape, value):
        return value


class RpcV2CborSerializer(serialize.BaseJSONSerializer):
    """moto's JSON response serializer (it picks each member's value and types it by its
    shape), writing the document in CBOR."""

    CONTENT_TYPE = CONTENT_TYPE

    def _serialized_result_to_response(self, resp, result, shape, serialized_result):
        resp["headers"]["Smithy-Protocol"] = SMITHY_PROTOCOL
        # moto's server would answer without a Content-Type as text/html.
        resp["headers"]["Content-Type"] = CONTENT_TYPE
        # An operation without output (PutMetricData) has no body.
        resp["body"] = b"" if shape is None else ENCODER.encode(serialized_result, shape)
        return resp

    def _serialized_error_to_response(self, resp, error, shape, serialized_error):
        resp["status_code"] = shape.metadata.get("error", {}).get(
            "httpStatusCode", self.DEFAULT_ERROR_RESPONSE_CODE
        )
        resp["body"] = ENCODER.encode(serialized_error, _error_document_shape(shape))
        resp["headers"]["Smithy-Protocol"] = SMITHY_PROTOCOL
        resp["headers"]["Content-Type"] = CONTENT_TYPE
        # x-amzn-query-error: <query error code>;Sender|Receiver (CloudWatch is query-compatible)
        self._serialize_query_compatible_error_to_response(resp, shape)
        return resp

    def _serialize_error_metadata(self, serialized, error, shape):
        super()._serialize_error_metadata(serialized, error, shape)
        # moto writes the message as ``Message``; the protocol's field is ``message``, unless
        # the error shape names it otherwise (InternalServiceFault has ``Message``).
        message = serialized.pop("Message", None)
        key = "Message" if "Message" in shape.members else "message"
        if message and key not in serialized:
            serialized[key] = message

    def _get_protocol_specific_error_code(self, error):
        # The error's absolute shape ID.
        return f"{NAMESPACE}#{error.name}"

    def _serialize_type_blob(self, serialized, value, shape, key):
        # Bytes, as CBOR carries them, where JSON needs base64.
        self._default_serialize(serialized, value, shape, key)

    def serialize_failure(self, failure: Any) -> serialize.ResponseDict:
        """One of moto's authentication or authorization failures (``AccessDenied``,
        ``SignatureDoesNotMatch``, ...: query-protocol errors, with their HTTP status), as an
        error of this protocol."""
        shape = ErrorShape(
            shape_name=failure.error_type,
            shape_model={
                "type": "structure",
                "exception": True,
                "members": {},
                "error": {
                    "code": failure.error_type,
                    "httpStatusCode": failure.code,
                    "senderFault": True,
                },
            },
        )
        serialized = self.MAP_TYPE()
        self._serialize_error_metadata(serialized, failure, shape)
        return self._serialized_error_to_response(
            self._create_default_response(), failure, shape, serialized
        )


def _error_document_shape(shape: ErrorShape) -> Any:
    """The error's structure, plus the ``__type`` and message fields every error carries, for
    the encoder (which reads a structure shape's ``members`` only)."""
    members = {"__type": STRING, "message": STRING, "Message": STRING}
    members.update(shape.members)
    return SimpleNamespace(type_name="structure", members=members)


class SerializedFailure(HTTPException):
    """An error already written in the request's protocol: moto's ``call_action`` answers an
    HTTPException from authorization with its description and code."""

    def __init__(self, status: int, body: bytes):
        super().__init__(description=body)  # type: ignore[arg-type]
        self.code = status


def _setup_class(self, request, full_url=None, headers=None, use_raw_body=None):
    if operation_called(request.headers, request.path):
        use_raw_body = True
    _moto_setup_class(self, request, full_url, headers, use_raw_body)


def _get_action(self) -> str:
    return operation_called(self.headers, self.path) or _moto_get_action(self)


def _authenticate_and_authorize_normal_action(self, resource: str = "*") -> None:
    try:
        _moto_authorize(self, resource)
    except HTTPException as failure:
        if not (operation_called(self.headers, self.path) and hasattr(failure, "error_type")):
            raise
        service_model = get_service_model(self.boto3_service_name)
        try:
            operation_model = service_model.operation_model(self._get_action())
        except OperationNotFoundError:
            operation_model = OperationModel({}, service_model)
        response = RpcV2CborSerializer(operation_model).serialize_failure(failure)
        # call_action answers with these headers, and the failure's body and status.
        self.response_headers.update(response["headers"])
        raise SerializedFailure(response["status_code"], response["body"]) from failure


def _iam_request_init(self, *args: Any, **kwargs: Any) -> None:
    _moto_iam_request_init(self, *args, **kwargs)
    # moto built the action as "<signing name>:<Operation>".
    prefix = IAM_PREFIXES.get(self._service)
    if prefix:
        self._action = prefix + self._action[len(self._service) :]


_moto_setup_class = CloudWatchResponse.setup_class
_moto_get_action = CloudWatchResponse._get_action
_moto_authorize = CloudWatchResponse._authenticate_and_authorize_normal_action
_moto_iam_request_init = IAMRequestBase.__init__

parse.PROTOCOL_PARSERS[PROTOCOL] = RpcV2CborParser
serialize.SERIALIZERS[PROTOCOL] = RpcV2CborSerializer
for _service_name in (SERVICE, f"{NAMESPACE}.{SERVICE}"):
    urls.url_paths[f"{{0}}/service/{_service_name}/operation/(?P<operation>[A-Za-z0-9]+)$"] = (
        CloudWatchResponse.dispatch
    )
CloudWatchResponse.setup_class = _setup_class
CloudWatchResponse._get_action = _get_action
CloudWatchResponse._authenticate_and_authorize_normal_action = (
    _authenticate_and_authorize_normal_action
)
IAMRequestBase.__init__ = _iam_request_init
