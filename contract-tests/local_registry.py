"""Sets or clears a type's or a hook's configuration in the local stack's registry
(moto_ext/registry.py), as the account's administrator does on AWS, for the deploy tests: it
registers the extension from its committed schema with a stand-in handler bundle (the local
stack serves handlers from the harness's build, not from the registry). A schema with ``pre*``
handlers is a hook's.

    python local_registry.py set TYPE_NAME SCHEMA_FILE CONFIGURATION_JSON
    python local_registry.py clear TYPE_NAME [RESOURCE|HOOK]

Runs as the stack's admin (``RPDK_MOTO_URL`` and the admin's keys in the environment).
"""

import io
import json
import os
import sys
import time
import zipfile

import boto3

BUCKET = "rpdk-local-registry-packages"


def package(type_name, kind, schema_text):
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as handler:
        handler.writestr("bootstrap", b"served by the local stack's own build")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(".rpdk-config", json.dumps({"typeName": type_name, "artifact_type": kind}))
        archive.writestr("schema.json", schema_text)
        archive.writestr("handler.zip", bundle.getvalue())
    return out.getvalue()


def main(action, type_name, *rest):
    endpoint = os.environ["RPDK_MOTO_URL"]
    cfn = boto3.client("cloudformation", endpoint_url=endpoint)
    if action == "clear":
        cfn.deregister_type(Type=(rest or ["RESOURCE"])[0], TypeName=type_name)
        return
    schema_file, configuration = rest
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=BUCKET)
    key = type_name.replace("::", "-") + ".zip"
    with open(schema_file, encoding="utf-8") as handle:
        schema_text = handle.read()
    handlers = json.loads(schema_text).get("handlers", {})
    kind = "HOOK" if any(name.startswith("pre") for name in handlers) else "RESOURCE"
    s3.put_object(Bucket=BUCKET, Key=key, Body=package(type_name, kind, schema_text))
    token = cfn.register_type(Type=kind, TypeName=type_name, SchemaHandlerPackage=f"s3://{BUCKET}/{key}")[
        "RegistrationToken"
    ]
    for _ in range(20):
        status = cfn.describe_type_registration(RegistrationToken=token)
        if status["ProgressStatus"] != "IN_PROGRESS":
            break
        time.sleep(0.1)
    if status["ProgressStatus"] != "COMPLETE":
        sys.exit(f"registering {type_name}: {status['ProgressStatus']}: {status.get('Description')}")
    cfn.set_type_configuration(Type=kind, TypeName=type_name, Configuration=configuration)


if __name__ == "__main__":
    main(*sys.argv[1:])
