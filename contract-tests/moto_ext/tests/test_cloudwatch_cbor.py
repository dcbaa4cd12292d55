"""The ``cloudwatch_cbor`` extension: CloudWatch in the Smithy RPC v2 CBOR protocol, against
moto's server.

boto3 does not speak the protocol to CloudWatch here: botocore 1.44 prefers ``json`` to
``smithy-rpc-v2-cbor`` when a service offers both. So the requests are made as a botocore client
would make them in that protocol (botocore's rpc-v2-cbor serializer, SigV4 for ``monitoring``),
sent over HTTP, and their answers read with botocore's rpc-v2-cbor parser, after checks on the
wire form itself where the AWS SDK for Rust is stricter than botocore.
"""

import gzip
import math
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.parsers import RpcV2CBORParser, create_parser
from botocore.serialize import create_serializer
from conftest import CREDENTIALS, REGION, client, users_then_enforcement

MODEL = botocore.session.get_session().get_service_model("cloudwatch")
SERVICE_PATH = "/service/GraniteServiceVersion20100801/operation/"
NAMESPACE = "Contract/Tests"
DIMENSIONS = [{"Name": "Handler", "Value": "create"}, {"Name": "Stage", "Value": "test"}]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    parsed: dict


class CborCloudWatch:
    """CloudWatch calls in rpc-v2-cbor, signed with the given keys."""

    def __init__(self, url, credentials=None):
        self.url = url
        keys = credentials or CREDENTIALS
        self.credentials = Credentials(keys["aws_access_key_id"], keys["aws_secret_access_key"])
        self.serializer = create_serializer("smithy-rpc-v2-cbor", include_validation=True)
        self.parser = create_parser("smithy-rpc-v2-cbor")

    def send(self, operation, path=None, compress=False, tamper=None, **params) -> Answer:
        operation_model = MODEL.operation_model(operation)
        request = self.serializer.serialize_to_request(params, operation_model)
        assert request["url_path"] == SERVICE_PATH + operation
        body, headers = request["body"], dict(request["headers"])
        if compress:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        signed = AWSRequest(
            method="POST", url=self.url + (path or request["url_path"]), data=body, headers=headers
        )
        SigV4Auth(self.credentials, "monitoring", REGION).add_auth(signed)
        sent = urllib.request.Request(
            signed.url,
            data=tamper(body) if tamper else body,
            headers=dict(signed.headers),
            method="POST",
        )
        try:
            with urllib.request.urlopen(sent, timeout=30) as response:
                status, answer_headers, answer = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, answer_headers, answer = error.code, error.headers, error.read()
        lowered = {name.lower(): value for name, value in answer_headers.items()}
        shape = operation_model.output_shape if status == 200 else None
        parsed = self.parser.parse(
            {"status_code": status, "headers": lowered, "body": answer}, shape
        )
        return Answer(status, lowered, answer, parsed)

    def call(self, operation, **params) -> dict:
        answer = self.send(operation, **params)
        if answer.status != 200:
            raise ClientError(answer.parsed, operation)
        return answer.parsed


def decode(body):
    """A CBOR body, each tag-1 timestamp as ("epoch", the number on the wire)."""
    parser = RpcV2CBORParser(timestamp_parser=lambda value: ("epoch", value))
    return parser.parse_data_item(parser.get_peekable_stream_from_bytes(body))


def error_code(call, *args, **kwargs):
    with pytest.raises(ClientError) as raised:
        call(*args, **kwargs)
    return raised.value.response["Error"]["Code"]


def this_minute():
    return datetime.now(UTC).replace(second=0, microsecond=0)


def put_metric(cloudwatch, when, values=(3.0, 4.5), **kwargs):
    return cloudwatch.send(
        "PutMetricData",
        Namespace=NAMESPACE,
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": DIMENSIONS,
                "Unit": "Count",
                "Timestamp": when,
                "Values": list(values),
            }
        ],
        **kwargs,
    )


@pytest.fixture
def cloudwatch(url):
    return CborCloudWatch(url)


def test_metrics_put_and_read_back(cloudwatch):
    when = this_minute()
    assert put_metric(cloudwatch, when).status == 200

    listed = cloudwatch.call("ListMetrics", Namespace=NAMESPACE, Dimensions=[DIMENSIONS[0]])
    # moto lists the metric once per value put.
    assert listed["Metrics"]
    for metric in listed["Metrics"]:
        assert metric == {
            "Namespace": NAMESPACE,
            "MetricName": "Invocations",
            "Dimensions": DIMENSIONS,
        }
    assert cloudwatch.call("ListMetrics", Namespace="Other")["Metrics"] == []

    # Fractional seconds: botocore then sends the timestamps as doubles, as the Rust SDK always
    # does (whole seconds above, it sent integers).
    statistics = cloudwatch.call(
        "GetMetricStatistics",
        Namespace=NAMESPACE,
        MetricName="Invocations",
        Dimensions=DIMENSIONS,
        Period=60,
        Statistics=["Sum", "SampleCount", "Maximum"],
        StartTime=when - timedelta(minutes=5, milliseconds=250),
        EndTime=when + timedelta(minutes=5, milliseconds=250),
    )
    [datapoint] = statistics["Datapoints"]
    assert datapoint["Sum"] == 7.5
    assert datapoint["SampleCount"] == 2
    assert datapoint["Maximum"] == 4.5
    assert datapoint["Unit"] == "Count"
    assert datapoint["Timestamp"] == when

    data = cloudwatch.call(
        "GetMetricData",
        MetricDataQueries=[
            {
                "Id": "invocations",
                "MetricStat": {
                    "Metric": {
                        "Namespace": NAMESPACE,
                        "MetricName": "Invocations",
                        "Dimensions": DIMENSIONS,
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=when - timedelta(minutes=5),
        EndTime=when + timedelta(minutes=5),
    )
    [result] = data["MetricDataResults"]
    assert result["Id"] == "invocations"
    assert result["Values"] == [7.5]
    assert result["Timestamps"] == [when]


def test_other_operations(cloudwatch):
    # Alarms: booleans, integers, doubles, timestamps with milliseconds, lists.
    answer = cloudwatch.send(
        "PutMetricAlarm",
        AlarmName="errors",
        Namespace=NAMESPACE,
        MetricName="Errors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=2,
        Threshold=1.5,
        ComparisonOperator="GreaterThanThreshold",
        ActionsEnabled=False,
    )
    assert (answer.status, answer.body) == (200, b"")
    described = cloudwatch.send("DescribeAlarms", AlarmNames=["errors"])
    [alarm] = described.parsed["MetricAlarms"]
    assert alarm["ActionsEnabled"] is False
    assert (alarm["EvaluationPeriods"], alarm["Threshold"]) == (2, 1.5)
    assert alarm["AlarmActions"] == []
    assert abs(alarm["StateUpdatedTimestamp"] - datetime.now(UTC)) < timedelta(minutes=1)
    [alarm] = decode(described.body)["MetricAlarms"]
    assert isinstance(alarm["StateUpdatedTimestamp"][1], float)

    cloudwatch.call("DeleteAlarms", AlarmNames=["errors"])
    assert cloudwatch.call("DescribeAlarms")["MetricAlarms"] == []


def test_wire_form_of_answers(cloudwatch):
    when = this_minute()
    # No output (PutMetricData): 200, an empty body, which the protocol's clients accept with
    # the Content-Type set (moto's server always sets one).
    put = put_metric(cloudwatch, when)
    assert (put.status, put.body) == (200, b"")
    assert put.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert put.headers["content-type"] == "application/cbor"

    # Output: a CBOR map of the output shape; every timestamp tag 1 over a double, since the
    # Rust SDK reads the tagged value as a float only (botocore would write whole seconds as
    # an integer); doubles as doubles.
    statistics = cloudwatch.send("GetMetricStatistics", **sum_around(when))
    assert statistics.status == 200
    assert statistics.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert statistics.headers["content-type"] == "application/cbor"
    [datapoint] = decode(statistics.body)["Datapoints"]
    kind, seconds = datapoint["Timestamp"]
    assert kind == "epoch"
    assert isinstance(seconds, float)
    assert seconds == when.timestamp()
    assert isinstance(datapoint["Sum"], float)

    # An empty output structure is an empty map.
    cloudwatch.call("PutDashboard", DashboardName="board", DashboardBody='{"widgets": []}')
    deleted = cloudwatch.send("DeleteDashboards", DashboardNames=["board"])
    assert (deleted.status, deleted.body) == (200, b"\xa0")

    # The service may be named by its absolute shape ID, "#" written ".".
    path = "/service/com.amazonaws.cloudwatch.GraniteServiceVersion20100801/operation/ListMetrics"
    absolute = cloudwatch.send("ListMetrics", path=path, Namespace=NAMESPACE)
    assert absolute.status == 200
    assert {m["MetricName"] for m in absolute.parsed["Metrics"]} == {"Invocations"}


def test_errors_in_the_protocol_form(cloudwatch):
    invalid = cloudwatch.send(
        "PutMetricData",
        Namespace=NAMESPACE,
        MetricData=[{"MetricName": "Invocations", "Value": math.nan}],
    )
    assert invalid.status == 400
    assert invalid.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert invalid.headers["content-type"] == "application/cbor"
    # The Rust SDK and botocore take a query-compatible service's error code from this header.
    assert invalid.headers["x-amzn-query-error"] == "InvalidParameterValue;Sender"
    assert decode(invalid.body) == {
        "__type": "com.amazonaws.cloudwatch#InvalidParameterValueException",
        "message": "The value NaN for parameter MetricData.member.1.Value is invalid.",
    }
    assert invalid.parsed["Error"]["Code"] == "InvalidParameterValue"

    assert (
        error_code(
            cloudwatch.call,
            "GetMetricStatistics",
            Namespace=NAMESPACE,
            MetricName="Invocations",
            StartTime=this_minute(),
            EndTime=this_minute(),
            Period=60,
        )
        == "InvalidParameterCombination"
    )
    assert error_code(cloudwatch.call, "ListMetrics", NextToken="nope") == "InvalidParameterValue"


def sum_around(when):
    """GetMetricStatistics of the test metric's sum per minute, five minutes either side."""
    return {
        "Namespace": NAMESPACE,
        "MetricName": "Invocations",
        "Dimensions": DIMENSIONS,
        "StartTime": when - timedelta(minutes=5),
        "EndTime": when + timedelta(minutes=5),
        "Period": 60,
        "Statistics": ["Sum"],
    }


def test_compressed_body(cloudwatch):
    # The SDKs gzip PutMetricData bodies over 10 KiB.
    when = this_minute()
    values = [float(n) for n in range(1, 1001)]
    assert put_metric(cloudwatch, when, values=values, compress=True).status == 200
    statistics = cloudwatch.call("GetMetricStatistics", **sum_around(when))
    assert statistics["Datapoints"][0]["Sum"] == sum(values)


# IAM enforcement


@pytest.fixture(scope="module")
def enforced(own_server):
    keys = users_then_enforcement(
        own_server, {"publisher": ["cloudwatch:PutMetricData"], "nobody": ["s3:GetObject"]}
    )
    return own_server, keys


def test_iam_checks_cloudwatch_actions(enforced):
    url, keys = enforced
    publisher = CborCloudWatch(url, keys["publisher"])
    assert put_metric(publisher, this_minute()).status == 200
    # A gzip body is signed compressed, and checked so.
    assert put_metric(publisher, this_minute(), compress=True).status == 200

    denied = publisher.send("ListMetrics", Namespace=NAMESPACE)
    assert denied.status == 403
    assert denied.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert denied.headers["x-amzn-query-error"] == "AccessDenied;Sender"
    document = decode(denied.body)
    assert document["__type"] == "com.amazonaws.cloudwatch#AccessDenied"
    assert "is not authorized to perform: cloudwatch:ListMetrics" in document["message"]
    assert denied.parsed["Error"]["Code"] == "AccessDenied"

    nobody = CborCloudWatch(url, keys["nobody"])
    assert error_code(nobody.call, "ListMetrics") == "AccessDenied"
    denied = put_metric(nobody, this_minute())
    assert denied.parsed["Error"]["Code"] == "AccessDenied"
    assert "cloudwatch:PutMetricData" in denied.parsed["Error"]["Message"]

    # The signature is checked over the bytes sent.
    tampered = put_metric(publisher, this_minute(), tamper=lambda body: body + b"\xa0")
    assert tampered.status == 403
    assert tampered.parsed["Error"]["Code"] == "SignatureDoesNotMatch"


def test_iam_prefix_whatever_the_protocol(enforced):
    url, keys = enforced
    # boto3 calls CloudWatch in JSON here, signed for "monitoring" as well.
    publisher = client("cloudwatch", url, **keys["publisher"])
    publisher.put_metric_data(
        Namespace=NAMESPACE, MetricData=[{"MetricName": "Invocations", "Value": 1.0}]
    )
    with pytest.raises(ClientError) as raised:
        publisher.list_metrics()
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    nobody = client("cloudwatch", url, **keys["nobody"])
    with pytest.raises(ClientError) as raised:
        nobody.put_metric_data(
            Namespace=NAMESPACE, MetricData=[{"MetricName": "Invocations", "Value": 1.0}]
        )
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
