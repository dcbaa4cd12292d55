"""Stacks as ``cargo rpdk submit`` deploys them (``moto_ext/stack_templates.py``): the string form
of ``Fn::GetAtt``, role updates that change the role's policies, and private buckets."""

import json

import pytest

from conftest import client

ROLE = """
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      MaxSessionDuration: {duration}
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {{Service: {service}}}
            Action: sts:AssumeRole
      Policies:
{policies}
Outputs:
  RoleArn:
    Value:
      Fn::GetAtt: Role.Arn
"""


def role_template(actions_by_policy, duration=3600, service="resources.cloudformation.amazonaws.com"):
    policies = "".join(
        f"""        - PolicyName: {name}
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: {json.dumps(actions)}
                Resource: "*"
"""
        for name, actions in actions_by_policy.items()
    )
    return ROLE.format(duration=duration, service=service, policies=policies)


@pytest.fixture
def cfn(url):
    return client("cloudformation", url)


def role_of(cfn, iam, stack):
    outputs = cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
    arn = {o["OutputKey"]: o["OutputValue"] for o in outputs}["RoleArn"]
    return iam.get_role(RoleName=arn.rsplit("/", 1)[-1])["Role"]


def policies_of(iam, role):
    names = iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]
    return {
        name: iam.get_role_policy(RoleName=role["RoleName"], PolicyName=name)["PolicyDocument"]["Statement"][0]["Action"]
        for name in names
    }


def test_the_string_form_of_getatt_answers_the_attribute_and_policies_read_back_as_json(cfn, url):
    cfn.create_stack(StackName="roles", TemplateBody=role_template({"P": ["s3:GetObject"]}), Capabilities=["CAPABILITY_IAM"])
    iam = client("iam", url)
    role = role_of(cfn, iam, "roles")
    assert role["Arn"].startswith("arn:aws:iam::") and ":role/" in role["Arn"], role
    assert policies_of(iam, role) == {"P": ["s3:GetObject"]}


def test_an_update_changes_the_roles_policies_trust_and_session_in_place(cfn, url):
    iam = client("iam", url)
    cfn.create_stack(
        StackName="roles",
        TemplateBody=role_template({"Keep": ["s3:GetObject"], "Drop": ["sqs:SendMessage"]}),
        Capabilities=["CAPABILITY_IAM"],
    )
    before = role_of(cfn, iam, "roles")
    cfn.update_stack(
        StackName="roles",
        TemplateBody=role_template(
            {"Keep": ["s3:GetObject", "s3:PutObject"], "Add": ["ssm:GetParameter"]},
            duration=8400,
            service="hooks.cloudformation.amazonaws.com",
        ),
        Capabilities=["CAPABILITY_IAM"],
    )
    after = role_of(cfn, iam, "roles")
    assert after["Arn"] == before["Arn"], "the role is updated, not replaced"
    assert after["MaxSessionDuration"] == 8400
    assert after["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "hooks.cloudformation.amazonaws.com"}
    assert policies_of(iam, after) == {"Keep": ["s3:GetObject", "s3:PutObject"], "Add": ["ssm:GetParameter"]}


def test_a_bucket_of_a_stack_is_private_encrypted_and_owner_enforced(cfn, url):
    template = """
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault: {SSEAlgorithm: AES256}
      PublicAccessBlockConfiguration:
        {BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true}
      OwnershipControls:
        Rules: [{ObjectOwnership: BucketOwnerEnforced}]
Outputs:
  Name: {Value: !Ref Bucket}
"""
    cfn.create_stack(StackName="bucket", TemplateBody=template)
    name = cfn.describe_stacks(StackName="bucket")["Stacks"][0]["Outputs"][0]["OutputValue"]
    s3 = client("s3", url)
    assert set(s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"].values()) == {True}
    assert s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
