"""READ of the cross-account role: the role, its inline policies, its attached policies and its
tags, with the trust policy read back into the model, as the Rust type answers it. The Lambda
handler is `rpdk_role.handlers.resource`."""

import json
import urllib.parse
from typing import Any, MutableMapping, Optional

from cloudformation_cli_python_lib import (
    Action,
    OperationStatus,
    ProgressEvent,
    Resource,
    SessionProxy,
    exceptions,
)

from .models import Policy, ResourceHandlerRequest, ResourceModel, Tag

TYPE_NAME = "Rpdk::IAM::CrossAccountRole"
MARKER_KEY = "rpdk:created-by"

resource = Resource(TYPE_NAME, ResourceModel)


def _document(text: str) -> Any:
    return json.loads(urllib.parse.unquote(text)) if text.startswith("%") else json.loads(text)


def _trust(document: Any) -> MutableMapping[str, Any]:
    accounts, principals, external_id, mfa = [], [], None, False
    for statement in document.get("Statement", []):
        aws = statement.get("Principal", {}).get("AWS", [])
        for principal in [aws] if isinstance(aws, str) else aws:
            if principal.endswith(":root"):
                accounts.append(principal.split(":")[4])
            else:
                principals.append(principal)
        condition = statement.get("Condition", {})
        external_id = condition.get("StringEquals", {}).get("sts:ExternalId", external_id)
        mfa = mfa or condition.get("Bool", {}).get("aws:MultiFactorAuthPresent") == "true"
    return {"accounts": accounts, "principals": principals, "external_id": external_id, "mfa": mfa}


@resource.handler(Action.READ)
def read_handler(
    session: Optional[SessionProxy],
    request: ResourceHandlerRequest,
    callback_context: MutableMapping[str, Any],
) -> ProgressEvent:
    name = request.desiredResourceState.RoleName if request.desiredResourceState else None
    if not name:
        raise exceptions.NotFound(TYPE_NAME, "")
    iam = session.client("iam")
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except iam.exceptions.NoSuchEntityException as error:
        raise exceptions.NotFound(TYPE_NAME, name) from error
    policies = []
    for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
        for policy_name in page["PolicyNames"]:
            got = iam.get_role_policy(RoleName=name, PolicyName=policy_name)
            document = got["PolicyDocument"]
            policies.append(Policy(PolicyName=policy_name, PolicyDocument=document if isinstance(document, dict) else _document(document)))
    managed = [
        attached["PolicyArn"]
        for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
        for attached in page["AttachedPolicies"]
    ]
    tags = [
        Tag(Key=tag["Key"], Value=tag["Value"])
        for page in iam.get_paginator("list_role_tags").paginate(RoleName=name)
        for tag in page["Tags"]
        if tag["Key"] != MARKER_KEY
    ]
    document = role["AssumeRolePolicyDocument"]
    trust = _trust(document if isinstance(document, dict) else _document(document))
    model = ResourceModel(
        RoleName=role["RoleName"],
        Arn=role["Arn"],
        RoleId=role["RoleId"],
        Path=role["Path"],
        Description=role.get("Description") or None,
        MaxSessionDuration=role.get("MaxSessionDuration", 3600),
        TrustedAccountIds=trust["accounts"] or None,
        TrustedPrincipalArns=trust["principals"] or None,
        ExternalId=trust["external_id"],
        RequireMfa=trust["mfa"],
        PermissionsBoundary=role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn"),
        ManagedPolicyArns=managed or None,
        Policies=policies or None,
        Tags=tags or None,
    )
    return ProgressEvent(status=OperationStatus.SUCCESS, resourceModel=model)
