"""The official Python plugin's framework overhead per invocation, for the request of
`cargo bench -p rpdk-lambda --bench overhead`: the payload's bytes read (as Lambda's Python
runtime reads them, `json.loads`), the request decoded and recast into the model, an echo
handler called, the progress event encoded back to bytes; no AWS call. The same 4 KiB model as
the Rust benchmark (48 tags and a policy of 10 statements, primitives as strings, an unknown
key with a null), through a CREATE and an UPDATE (the model twice); the null key alone is left
out here, since the plugin's recasting refuses it ("Unsupported type: <class 'NoneType'>").

Run with the environment `cargo rpdk bench --beside-python` installs (requirements.txt):
    .tools/python-plugin/bin/python contract-tests/python-plugin/overhead.py
Not part of `cargo rpdk test`.
"""

import json
import statistics
import sys
import time
from dataclasses import dataclass
from inspect import getmembers, isclass
from typing import Any, Mapping, MutableMapping, Optional, Sequence, Type

from cloudformation_cli_python_lib import Action, OperationStatus, ProgressEvent, Resource
from cloudformation_cli_python_lib.interface import BaseModel, BaseResourceHandlerRequest
from cloudformation_cli_python_lib.recast import recast_object
from cloudformation_cli_python_lib.utils import deserialize_list
# The tag and the (empty) type configuration are the cross-account role's, as generated; the
# recasting finds a list's item class among this module's names, aliases included.
from rpdk_role.models import Tag, TypeConfigurationModel, _Tag  # noqa: F401

RUNS = 2000


def _classes() -> Mapping[str, Any]:
    return {name: member for name, member in getmembers(sys.modules[__name__]) if isclass(member)}


@dataclass
class ResourceModel(BaseModel):
    Name: Optional[str]
    Description: Optional[str]
    MaxSessionDuration: Optional[int]
    Enabled: Optional[bool]
    Tags: Optional[Sequence["_Tag"]]
    PolicyDocument: Optional[MutableMapping[str, Any]]

    @classmethod
    def _deserialize(cls: Type["ResourceModel"], json_data: Optional[Mapping[str, Any]]) -> Optional["ResourceModel"]:
        if not json_data:
            return None
        recast_object(cls, json_data, _classes())
        return cls(
            Name=json_data.get("Name"),
            Description=json_data.get("Description"),
            MaxSessionDuration=json_data.get("MaxSessionDuration"),
            Enabled=json_data.get("Enabled"),
            Tags=deserialize_list(json_data.get("Tags"), Tag),
            PolicyDocument=json_data.get("PolicyDocument"),
        )


resource = Resource("Rpdk::Bench::Service", ResourceModel)


@resource.handler(Action.CREATE)
@resource.handler(Action.UPDATE)
def echo(_session, request: BaseResourceHandlerRequest, _context) -> ProgressEvent:
    return ProgressEvent(status=OperationStatus.SUCCESS, resourceModel=request.desiredResourceState)


def model() -> Mapping[str, Any]:
    tags = [{"Key": f"cost-center-{i:02}", "Value": f"team-{i:02}-platform"} for i in range(48)]
    statements = [
        {
            "Sid": f"Read{i}",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": f"arn:aws:s3:::bucket-{i}/*",
        }
        for i in range(10)
    ]
    return {
        "Name": "partner-service",
        "Description": "A service shared with partner accounts through the platform's onboarding pipeline.",
        "MaxSessionDuration": "3600",
        "Enabled": "true",
        "Tags": tags,
        "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
    }


def request(action: str, credentials: bool = True) -> bytes:
    return json.dumps(
        {
            "awsAccountId": "123456789012",
            "bearerToken": "0f3c1c2e-8f3b-4a0e-9d55-c1b6c0d6c3a1",
            "region": "us-east-1",
            "action": action,
            "responseEndpoint": None,
            "resourceType": "Rpdk::Bench::Service",
            "resourceTypeVersion": "00000001",
            "requestData": {
                "callerCredentials": {"accessKeyId": "ASIAEXAMPLE", "secretAccessKey": "secret", "sessionToken": "token"}
                if credentials
                else None,
                "providerCredentials": None,
                "providerLogGroupName": "rpdk-bench",
                "logicalResourceId": "Service",
                "resourceProperties": model(),
                "previousResourceProperties": model() if action == "UPDATE" else None,
                "stackTags": {"team": "platform"},
                "systemTags": {"aws:cloudformation:stack-name": "bench"},
                "typeConfiguration": None,
            },
            "stackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/bench/1",
            "callbackContext": None,
            "nextToken": None,
        }
    ).encode()


def invoke(payload: bytes) -> bytes:
    return json.dumps(resource(json.loads(payload), None)).encode()


def main() -> None:
    print(f"model: {len(json.dumps(model()))} bytes of JSON")
    # With callerCredentials, as CloudFormation sends every request, the plugin makes a boto3
    # session per invocation; without them, the rest of its work shows alone.
    for action, credentials in (("CREATE", True), ("UPDATE", True), ("CREATE", False), ("UPDATE", False)):
        payload = request(action, credentials)
        answer = json.loads(invoke(payload))
        assert answer["status"] == "SUCCESS", answer
        times = []
        for _ in range(RUNS):
            start = time.perf_counter_ns()
            invoke(payload)
            times.append(time.perf_counter_ns() - start)
        micros = [t / 1000 for t in times]
        print(
            f"{action} {'with' if credentials else 'without'} callerCredentials: median "
            f"{statistics.median(micros):.1f} us, min {min(micros):.1f} us per invocation "
            f"({RUNS} runs, {len(payload)} bytes)"
        )


if __name__ == "__main__":
    main()
