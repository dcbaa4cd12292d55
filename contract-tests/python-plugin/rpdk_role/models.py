"""The resource model, in the shape `cfn generate` writes for the Python plugin: dataclasses whose
`_deserialize` recasts CloudFormation's stringified primitives."""

import sys
from dataclasses import dataclass
from inspect import getmembers, isclass
from typing import Any, Mapping, MutableMapping, Optional, Sequence, Type, TypeVar

from cloudformation_cli_python_lib.interface import BaseModel, BaseResourceHandlerRequest
from cloudformation_cli_python_lib.recast import recast_object
from cloudformation_cli_python_lib.utils import deserialize_list

T = TypeVar("T")


def _classes() -> Mapping[str, Any]:
    return {name: member for name, member in getmembers(sys.modules[__name__]) if isclass(member)}


@dataclass
class ResourceHandlerRequest(BaseResourceHandlerRequest):
    desiredResourceState: Optional["ResourceModel"]
    previousResourceState: Optional["ResourceModel"]
    typeConfiguration: Optional["TypeConfigurationModel"]


@dataclass
class Policy(BaseModel):
    PolicyName: Optional[str]
    PolicyDocument: Optional[MutableMapping[str, Any]]

    @classmethod
    def _deserialize(cls: Type["Policy"], json_data: Optional[Mapping[str, Any]]) -> Optional["Policy"]:
        if not json_data:
            return None
        return cls(PolicyName=json_data.get("PolicyName"), PolicyDocument=json_data.get("PolicyDocument"))


# The generated code's aliases: recasting finds a list's item class by its forward reference.
_Policy = Policy


@dataclass
class Tag(BaseModel):
    Key: Optional[str]
    Value: Optional[str]

    @classmethod
    def _deserialize(cls: Type["Tag"], json_data: Optional[Mapping[str, Any]]) -> Optional["Tag"]:
        if not json_data:
            return None
        return cls(Key=json_data.get("Key"), Value=json_data.get("Value"))


_Tag = Tag


@dataclass
class ResourceModel(BaseModel):
    RoleName: Optional[str]
    Arn: Optional[str]
    RoleId: Optional[str]
    Path: Optional[str]
    Description: Optional[str]
    MaxSessionDuration: Optional[int]
    TrustedAccountIds: Optional[Sequence[str]]
    TrustedPrincipalArns: Optional[Sequence[str]]
    ExternalId: Optional[str]
    RequireMfa: Optional[bool]
    PermissionsBoundary: Optional[str]
    ManagedPolicyArns: Optional[Sequence[str]]
    Policies: Optional[Sequence["_Policy"]]
    Tags: Optional[Sequence["_Tag"]]

    @classmethod
    def _deserialize(cls: Type["ResourceModel"], json_data: Optional[Mapping[str, Any]]) -> Optional["ResourceModel"]:
        if not json_data:
            return None
        recast_object(cls, json_data, _classes())
        return cls(
            RoleName=json_data.get("RoleName"),
            Arn=json_data.get("Arn"),
            RoleId=json_data.get("RoleId"),
            Path=json_data.get("Path"),
            Description=json_data.get("Description"),
            MaxSessionDuration=json_data.get("MaxSessionDuration"),
            TrustedAccountIds=json_data.get("TrustedAccountIds"),
            TrustedPrincipalArns=json_data.get("TrustedPrincipalArns"),
            ExternalId=json_data.get("ExternalId"),
            RequireMfa=json_data.get("RequireMfa"),
            PermissionsBoundary=json_data.get("PermissionsBoundary"),
            ManagedPolicyArns=json_data.get("ManagedPolicyArns"),
            Policies=deserialize_list(json_data.get("Policies"), Policy),
            Tags=deserialize_list(json_data.get("Tags"), Tag),
        )


@dataclass
class TypeConfigurationModel(BaseModel):
    @classmethod
    def _deserialize(cls: Type["TypeConfigurationModel"], json_data: Optional[Mapping[str, Any]]) -> Optional["TypeConfigurationModel"]:
        return None
