"""The registry extension (``moto_ext/registry.py``): registrations checked as the service checks
packages, versions, the default version and type configurations, through boto3."""

import io
import json
import os
import zipfile

import botocore.exceptions
import pytest

from conftest import client

TYPE = "Rpdk::Test::Widget"
SCHEMA = {
    "typeName": TYPE,
    "description": "A widget.",
    "properties": {"Name": {"type": "string"}, "Id": {"type": "string"}},
    "additionalProperties": False,
    "required": ["Name"],
    "readOnlyProperties": ["/properties/Id"],
    "primaryIdentifier": ["/properties/Id"],
    "handlers": {action: {"permissions": []} for action in ("create", "read", "update", "delete", "list")},
    "typeConfiguration": {
        "properties": {"Limit": {"type": "integer", "minimum": 1}},
        "additionalProperties": False,
    },
}


def package(schema=SCHEMA, bootstrap=True, leave_out=()):
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as handler:
        handler.writestr("bootstrap" if bootstrap else "main", b"\x7fELF")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        files = {
            ".rpdk-config": json.dumps({"typeName": TYPE, "artifact_type": "RESOURCE"}),
            "schema.json": json.dumps(schema),
            "handler.zip": bundle.getvalue(),
        }
        for name, contents in files.items():
            if name not in leave_out:
                archive.writestr(name, contents)
    return out.getvalue()


@pytest.fixture
def cfn(url):
    assert os.environ.get("RPDK_CFN_VENV"), "RPDK_CFN_VENV names cloudformation-cli's venv (the harness sets it)"
    return client("cloudformation", url)


@pytest.fixture
def upload(url):
    s3 = client("s3", url)
    s3.create_bucket(Bucket="packages")

    def upload_(key, body):
        s3.put_object(Bucket="packages", Key=key, Body=body)
        return f"s3://packages/{key}"

    return upload_


def register(cfn, url):
    token = cfn.register_type(Type="RESOURCE", TypeName=TYPE, SchemaHandlerPackage=url)["RegistrationToken"]
    seen = [cfn.describe_type_registration(RegistrationToken=token) for _ in range(4)]
    return [answer["ProgressStatus"] for answer in seen], seen[-1]


def test_a_registration_runs_a_while_then_registers_a_version_that_becomes_the_default(cfn, upload):
    statuses, done = register(cfn, upload("v1.zip", package()))
    assert statuses == ["IN_PROGRESS", "IN_PROGRESS", "COMPLETE", "COMPLETE"]
    assert done["TypeVersionArn"].endswith("type/resource/Rpdk-Test-Widget/00000001"), done
    described = cfn.describe_type(Type="RESOURCE", TypeName=TYPE)
    assert (described["DefaultVersionId"], described["IsDefaultVersion"]) == ("00000001", True)
    assert json.loads(described["Schema"]) == SCHEMA
    assert json.loads(described["ConfigurationSchema"]) == SCHEMA["typeConfiguration"]

    _, second = register(cfn, upload("v2.zip", package()))
    assert second["TypeVersionArn"].endswith("/00000002"), second
    versions = cfn.list_type_versions(Type="RESOURCE", TypeName=TYPE)["TypeVersionSummaries"]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in versions] == [("00000001", True), ("00000002", False)]
    by_arn = cfn.describe_type(Arn=second["TypeVersionArn"])
    assert (by_arn["Arn"], by_arn["IsDefaultVersion"]) == (second["TypeVersionArn"], False)
    cfn.set_type_default_version(Type="RESOURCE", TypeName=TYPE, VersionId="00000002")
    assert cfn.describe_type(Type="RESOURCE", TypeName=TYPE)["DefaultVersionId"] == "00000002"

    cfn.deregister_type(Type="RESOURCE", TypeName=TYPE, VersionId="00000001")
    cfn.deregister_type(Type="RESOURCE", TypeName=TYPE)
    with pytest.raises(botocore.exceptions.ClientError, match="TypeNotFoundException"):
        cfn.describe_type(Type="RESOURCE", TypeName=TYPE)


@pytest.mark.parametrize(
    "broken, reason",
    [
        (package(bootstrap=False), "handler.zip has no bootstrap"),
        (package(leave_out=(".rpdk-config",)), "no .rpdk-config"),
        (package(schema={**SCHEMA, "typeName": "Rpdk::Test::Other"}), "names Rpdk::Test::Other"),
        (package(schema={**SCHEMA, "primaryIdentifier": "Id"}), "registry meta-schema at primaryIdentifier"),
        (b"not a zip", "not a zip"),
    ],
)
def test_a_package_the_service_would_refuse_fails_its_registration_with_the_reason(cfn, upload, broken, reason):
    statuses, done = register(cfn, upload("broken.zip", broken))
    assert statuses[-1] == "FAILED"
    assert reason in done["Description"], done
    with pytest.raises(botocore.exceptions.ClientError, match="TypeNotFoundException"):
        cfn.describe_type(Type="RESOURCE", TypeName=TYPE)


def test_a_type_configuration_is_checked_against_its_schema_and_read_back(cfn, upload):
    register(cfn, upload("v1.zip", package()))
    with pytest.raises(botocore.exceptions.ClientError, match="Limit"):
        cfn.set_type_configuration(Type="RESOURCE", TypeName=TYPE, Configuration=json.dumps({"Limit": 0}))
    arn = cfn.set_type_configuration(Type="RESOURCE", TypeName=TYPE, Configuration=json.dumps({"Limit": 3}))
    assert arn["ConfigurationArn"].endswith("/TypeConfiguration/default")
    found = cfn.batch_describe_type_configurations(
        TypeConfigurationIdentifiers=[{"Type": "RESOURCE", "TypeName": TYPE}, {"Type": "RESOURCE", "TypeName": "Rpdk::Test::None"}]
    )
    assert [json.loads(c["Configuration"]) for c in found["TypeConfigurations"]] == [{"Limit": 3}]
    assert [e["ErrorCode"] for e in found["Errors"]] == ["TypeNotFoundException"]


def test_a_package_that_is_not_in_s3_is_refused_at_once(cfn):
    with pytest.raises(botocore.exceptions.ClientError, match="s3://missing/package.zip"):
        cfn.register_type(Type="RESOURCE", TypeName=TYPE, SchemaHandlerPackage="s3://missing/package.zip")


HOOK = "Rpdk::Test::Guard"
HOOK_SCHEMA = {
    "typeName": HOOK,
    "description": "A guard.",
    "typeConfiguration": {"properties": {"Limit": {"type": "integer"}}, "additionalProperties": False},
    "required": [],
    "handlers": {"preCreate": {"targetNames": ["AWS::S3::Bucket"], "permissions": []}},
    "additionalProperties": False,
}


def hook_package(schema=HOOK_SCHEMA, artifact_type="HOOK"):
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as handler:
        handler.writestr("bootstrap", b"\x7fELF")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(".rpdk-config", json.dumps({"typeName": HOOK, "artifact_type": artifact_type}))
        archive.writestr("schema.json", json.dumps(schema))
        archive.writestr("handler.zip", bundle.getvalue())
    return out.getvalue()


def register_hook(cfn, url):
    token = cfn.register_type(Type="HOOK", TypeName=HOOK, SchemaHandlerPackage=url)["RegistrationToken"]
    return [cfn.describe_type_registration(RegistrationToken=token) for _ in range(3)][-1]


def test_a_hook_registers_against_the_hooks_meta_schema_and_is_configured_through_its_hook_configuration(cfn, upload):
    done = register_hook(cfn, upload("hook.zip", hook_package()))
    assert done["ProgressStatus"] == "COMPLETE", done
    assert done["TypeVersionArn"].endswith("type/hook/Rpdk-Test-Guard/00000001"), done
    described = cfn.describe_type(Arn=done["TypeVersionArn"])
    assert (described["Type"], described["TypeName"]) == ("HOOK", HOOK)

    def configure(properties, status="ENABLED"):
        document = {"CloudFormationConfiguration": {"HookConfiguration": {"HookInvocationStatus": status, "FailureMode": "FAIL", "Properties": properties}}}
        return cfn.set_type_configuration(Type="HOOK", TypeName=HOOK, Configuration=json.dumps(document))

    with pytest.raises(botocore.exceptions.ClientError, match="Limit"):
        configure({"Limit": "many"})
    with pytest.raises(botocore.exceptions.ClientError, match="HookInvocationStatus"):
        configure({}, status="ON")
    assert "type/hook/Rpdk-Test-Guard/TypeConfiguration/" in configure({"Limit": 2})["ConfigurationArn"]


@pytest.mark.parametrize(
    "broken, reason",
    [
        (hook_package(artifact_type="RESOURCE"), "artifact_type is RESOURCE"),
        (hook_package(schema={**HOOK_SCHEMA, "properties": {}}), "hooks meta-schema"),
    ],
)
def test_a_hook_package_the_service_would_refuse_fails_with_the_reason(cfn, upload, broken, reason):
    done = register_hook(cfn, upload("hook.zip", broken))
    assert done["ProgressStatus"] == "FAILED"
    assert reason in done["Description"], done
