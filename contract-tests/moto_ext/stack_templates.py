"""CloudFormation stacks in moto as ``cargo rpdk submit`` makes them, where moto differs from
the service:

- ``Fn::GetAtt`` in its string form (``Fn::GetAtt: Role.Arn``), which the service accepts and
  ``cfn submit``'s role template uses; moto reads only the list form.
- An update of an ``AWS::IAM::Role`` applies what the service updates without replacing the
  role: its inline ``Policies`` (added, changed, removed), its trust policy, its description and
  its session duration. moto kept the old policies, and read the duration from the description.
  Inline policies are kept as JSON, as IAM answers them (moto kept a Python rendering).
- An ``AWS::S3::Bucket``'s ``PublicAccessBlockConfiguration`` and ``OwnershipControls``, which
  moto's stacks ignored (it applied only the encryption and the tags).
"""

import json

from moto.cloudformation.models import Stack
from moto.iam.models import Role, iam_backends
from moto.s3.models import FakeBucket, s3_backends
from moto.utilities.utils import get_partition

_parse_template = Stack.parse_template


def _list_form(value):
    if isinstance(value, dict):
        return {
            key: inner.split(".", 1) if key == "Fn::GetAtt" and isinstance(inner, str) else _list_form(inner)
            for key, inner in value.items()
        }
    if isinstance(value, list):
        return [_list_form(item) for item in value]
    return value


def parse_template(template):
    return _list_form(_parse_template(template))


def _as_json(document):
    return document if isinstance(document, str) else json.dumps(document)


_create_role = Role.create_from_cloudformation_json.__func__


def create_role(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    properties = cloudformation_json["Properties"]
    properties["Policies"] = [
        {**policy, "PolicyDocument": _as_json(policy["PolicyDocument"])} for policy in properties.get("Policies", [])
    ]
    return _create_role(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)


def update_role(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
    backend = iam_backends[account_id][get_partition(region_name)]
    properties = cloudformation_json["Properties"]
    role = original_resource
    trust = properties.get("AssumeRolePolicyDocument")
    if trust is not None:
        role.assume_role_policy_document = _as_json(trust)
    role.description = properties.get("Description", "")
    role.max_session_duration = properties.get("MaxSessionDuration", 3600)
    wanted = {policy["PolicyName"]: policy["PolicyDocument"] for policy in properties.get("Policies", [])}
    for name in list(role.policies):
        if name not in wanted:
            backend.delete_role_policy(role.name, name)
    for name, document in wanted.items():
        role.put_policy(name, _as_json(document))
    return role


_create_bucket = FakeBucket.create_from_cloudformation_json.__func__


def create_bucket(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    bucket = _create_bucket(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    backend = s3_backends[account_id][get_partition(region_name)]
    properties = cloudformation_json.get("Properties", {})
    if "PublicAccessBlockConfiguration" in properties:
        backend.put_public_access_block(bucket.name, properties["PublicAccessBlockConfiguration"])
    if "OwnershipControls" in properties:
        rule = properties["OwnershipControls"]["Rules"][0]["ObjectOwnership"]
        backend.put_bucket_ownership_controls(bucket.name, rule)
    return bucket


Stack.parse_template = staticmethod(parse_template)
FakeBucket.create_from_cloudformation_json = classmethod(create_bucket)
Role.create_from_cloudformation_json = classmethod(create_role)
Role.update_from_cloudformation_json = classmethod(update_role)
