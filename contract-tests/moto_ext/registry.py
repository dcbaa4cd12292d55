"""CloudFormation's registry of private extensions, which moto lacks.

The actions are methods of moto's own ``CloudFormationResponse``, so they take moto's normal
action path: IAM enforcement checks ``cloudformation:<Action>`` like any other call, and the
answers are serialized from botocore's model. What is kept per account and region:

- ``RegisterType`` checks the package as the service does before accepting it: a zip in moto's
  S3 holding ``.rpdk-config`` of the registered kind (``RESOURCE`` or ``HOOK``), a
  ``schema.json`` of the registered name that passes that kind's registry meta-schema
  (cloudformation-cli's, found through ``RPDK_CFN_VENV``), and ``handler.zip`` with a
  ``bootstrap``. A registration stays ``IN_PROGRESS`` for a few describes (``PENDING_DESCRIBES``),
  then is ``COMPLETE`` with a new version, or ``FAILED`` with the reason the package was refused.
- ``DescribeTypeRegistration``, ``DescribeType``, ``ListTypeVersions``, ``SetTypeDefaultVersion``,
  ``DeregisterType``.
- ``SetTypeConfiguration`` (checked against the type's ``typeConfiguration``; a hook's
  ``Properties`` inside its ``CloudFormationConfiguration.HookConfiguration``) and
  ``BatchDescribeTypeConfigurations``, which is how a deploy finds the account's configuration.
"""

import glob
import io
import json
import os
import uuid
import zipfile
from datetime import datetime, timezone

from moto.cloudformation.exceptions import CloudFormationError
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult, EmptyResult

# How many describes a registration answers IN_PROGRESS before it ends, as the service takes a
# while to build and check a package.
PENDING_DESCRIBES = 2



# moto finds an error's service by the package of its class's module, and this module's name
# begins with "moto" too: these errors are CloudFormation's.
_CLOUDFORMATION = "moto.cloudformation.exceptions"


class TypeNotFound(CloudFormationError):
    __module__ = _CLOUDFORMATION
    code = "TypeNotFoundException"

    def __init__(self, name):
        super().__init__(f"The type {name} cannot be found.")


class RegistrationNotFound(CloudFormationError):
    __module__ = _CLOUDFORMATION
    code = "CFNRegistryException"

    def __init__(self, token):
        super().__init__(f"No registration with the token {token}.")


class InvalidRequest(CloudFormationError):
    __module__ = _CLOUDFORMATION
    code = "ValidationError"


def _now():
    return datetime.now(timezone.utc)


def _registry(self):
    """The registry of the request's account and region, kept on moto's CloudFormation backend so
    that a reset of moto clears it: ``types`` (name -> {"versions": {id: version}, "default": id,
    "next": n, "configuration": {...} | None}) and ``registrations`` (token -> registration)."""
    backend = self.cloudformation_backend
    if not hasattr(backend, "rpdk_registry"):
        backend.rpdk_registry = {"types": {}, "registrations": {}}
    return backend.rpdk_registry


def _arn(account, region, name, version=None, kind="RESOURCE"):
    arn = f"arn:aws:cloudformation:{region}:{account}:type/{kind.lower()}/{name.replace('::', '-')}"
    return f"{arn}/{version}" if version else arn


# The meta-schema a registration is checked against, by the kind of extension.
_META_SCHEMAS = {"RESOURCE": "provider.definition.schema.v1.json", "HOOK": "provider.definition.schema.hooks.v1.json"}


def _meta_schema_validator(kind="RESOURCE"):
    """The registry's meta-schema of ``kind`` as cloudformation-cli ships it, or None without
    that tool."""
    venv = os.environ.get("RPDK_CFN_VENV")
    if not venv:
        return None
    found = glob.glob(os.path.join(venv, "lib", "python*", "site-packages", "rpdk", "core", "data", "schema"))
    if not found:
        return None
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    directory = found[0]
    resources = []
    for name in os.listdir(directory):
        if name.endswith(".json"):
            with open(os.path.join(directory, name), encoding="utf-8") as handle:
                document = json.load(handle)
            resource = Resource.from_contents(document, default_specification=DRAFT7)
            resources.append((name, resource))
            if "$id" in document:
                resources.append((document["$id"], resource))
    registry = Registry().with_resources(resources)
    with open(os.path.join(directory, _META_SCHEMAS[kind]), encoding="utf-8") as handle:
        provider = json.load(handle)
    return jsonschema.Draft7Validator(provider, registry=registry)


def package_problem(package, type_name, kind="RESOURCE"):
    """Why the service would refuse ``package`` (the zip's bytes) for ``type_name`` of ``kind``,
    or None; with the schema it registers when it accepts it."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(package))
    except zipfile.BadZipFile:
        return "The package is not a zip file.", None
    names = set(archive.namelist())
    for required in (".rpdk-config", "schema.json", "handler.zip"):
        if required not in names:
            return f"The package has no {required}.", None
    try:
        schema = json.loads(archive.read("schema.json"))
    except ValueError as error:
        return f"schema.json is not JSON: {error}", None
    if schema.get("typeName") != type_name:
        return f"schema.json names {schema.get('typeName')}, not {type_name}.", None
    artifact = json.loads(archive.read(".rpdk-config")).get("artifact_type", "RESOURCE")
    if artifact != kind:
        return f".rpdk-config's artifact_type is {artifact}, but the registration is of a {kind}.", None
    validator = _meta_schema_validator(kind)
    if validator is not None:
        errors = sorted(validator.iter_errors(schema), key=lambda e: list(e.path))
        if errors:
            where = "/".join(str(p) for p in errors[0].path) or "(root)"
            meta = "hooks meta-schema" if kind == "HOOK" else "meta-schema"
            return f"schema.json does not pass the registry {meta} at {where}: {errors[0].message}", None
    try:
        bundle = zipfile.ZipFile(io.BytesIO(archive.read("handler.zip")))
    except zipfile.BadZipFile:
        return "handler.zip is not a zip file.", None
    if "bootstrap" not in bundle.namelist():
        return "handler.zip has no bootstrap at its root.", None
    return None, schema


def _read_package(account, url):
    from moto.s3.models import s3_backends

    if not url.startswith("s3://") or "/" not in url[len("s3://") :]:
        raise InvalidRequest(f"SchemaHandlerPackage {url}: write s3://BUCKET/KEY")
    bucket, key = url[len("s3://") :].split("/", 1)
    try:
        return s3_backends[account]["aws"].get_object(bucket, key).value
    except Exception as error:  # moto's S3 errors name the missing bucket or key
        raise InvalidRequest(f"SchemaHandlerPackage {url}: {error}") from error


def _find(self, name=None, arn=None):
    types = _registry(self)["types"]
    if arn and not name:
        name = next((n for n, e in types.items() if arn.startswith(_arn(self.current_account, self.region, n, kind=e["kind"]))), None)
    if not name or name not in types or not types[name]["versions"]:
        raise TypeNotFound(name or arn)
    return name, types[name]


def register_type(self):
    kind = self._get_param("Type") or "RESOURCE"
    if kind not in _META_SCHEMAS:
        raise InvalidRequest(f"Only RESOURCE and HOOK extensions are registered here, not {kind}.")
    name = self._get_param("TypeName")
    package = _read_package(self.current_account, self._get_param("SchemaHandlerPackage"))
    problem, schema = package_problem(package, name, kind)
    token = str(uuid.uuid4())
    _registry(self)["registrations"][token] = {
        "kind": kind,
        "name": name,
        "problem": problem,
        "schema": schema,
        "logging": self._get_param("LoggingConfig"),
        "role": self._get_param("ExecutionRoleArn"),
        "describes": 0,
        "version": None,
    }
    return ActionResult({"RegistrationToken": token})


def _complete(self, registration):
    entry = _registry(self)["types"].setdefault(
        registration["name"], {"kind": registration["kind"], "versions": {}, "default": None, "next": 1, "configuration": None}
    )
    version = f"{entry['next']:08d}"
    entry["next"] += 1
    entry["versions"][version] = {
        "schema": registration["schema"],
        "logging": registration["logging"],
        "role": registration["role"],
        "created": _now(),
    }
    if entry["default"] is None:
        entry["default"] = version
    registration["version"] = version


def describe_type_registration(self):
    token = self._get_param("RegistrationToken")
    registration = _registry(self)["registrations"].get(token)
    if registration is None:
        raise RegistrationNotFound(token)
    registration["describes"] += 1
    result = {}
    if registration["describes"] <= PENDING_DESCRIBES:
        result.update(ProgressStatus="IN_PROGRESS", Description="Deployment is currently in progress.")
    elif registration["problem"]:
        result.update(ProgressStatus="FAILED", Description=registration["problem"])
    else:
        if registration["version"] is None:
            _complete(self, registration)
        account, region, name, kind = self.current_account, self.region, registration["name"], registration["kind"]
        result.update(
            ProgressStatus="COMPLETE",
            Description="Deployment is complete.",
            TypeArn=_arn(account, region, name, kind=kind),
            TypeVersionArn=_arn(account, region, name, registration["version"], kind),
        )
    return ActionResult(result)


def _version_in(arn):
    """``00000002`` of a type version's ARN (``.../type/resource/NAME/00000002``), else None."""
    return arn.rsplit("/", 1)[-1] if arn and arn.count("/") > 2 else None


def describe_type(self):
    arn = self._get_param("Arn")
    name, entry = _find(self, self._get_param("TypeName"), arn)
    version_id = self._get_param("VersionId") or _version_in(arn) or entry["default"]
    version = entry["versions"].get(version_id)
    if version is None:
        raise TypeNotFound(f"{name} version {version_id}")
    schema = version["schema"]
    result = {
        "Arn": _arn(self.current_account, self.region, name, version_id, entry["kind"]),
        "Type": entry["kind"],
        "TypeName": name,
        "DefaultVersionId": entry["default"],
        "IsDefaultVersion": version_id == entry["default"],
        "Description": schema.get("description", ""),
        "Schema": json.dumps(schema),
        "ProvisioningType": "FULLY_MUTABLE",
        "DeprecatedStatus": "LIVE",
        "ExecutionRoleArn": version["role"],
        "Visibility": "PRIVATE",
        "LastUpdated": version["created"],
        "TimeCreated": version["created"],
    }
    if version["logging"]:
        result["LoggingConfig"] = version["logging"]
    if "typeConfiguration" in schema:
        result["ConfigurationSchema"] = json.dumps(schema["typeConfiguration"])
    return ActionResult(result)


def list_type_versions(self):
    name, entry = _find(self, self._get_param("TypeName"), self._get_param("Arn"))
    summaries = [
        {
            "Type": entry["kind"],
            "TypeName": name,
            "VersionId": version_id,
            "IsDefaultVersion": version_id == entry["default"],
            "Arn": _arn(self.current_account, self.region, name, version_id, entry["kind"]),
            "TimeCreated": version["created"],
            "Description": version["schema"].get("description", ""),
        }
        for version_id, version in sorted(entry["versions"].items())
    ]
    return ActionResult({"TypeVersionSummaries": summaries})


def set_type_default_version(self):
    arn = self._get_param("Arn")
    name, entry = _find(self, self._get_param("TypeName"), arn)
    version_id = self._get_param("VersionId") or _version_in(arn)
    if version_id not in entry["versions"]:
        raise TypeNotFound(f"{name} version {version_id}")
    entry["default"] = version_id
    return EmptyResult()


def deregister_type(self):
    arn = self._get_param("Arn")
    name, entry = _find(self, self._get_param("TypeName"), arn)
    version_id = self._get_param("VersionId") or _version_in(arn)
    if version_id is None:
        del _registry(self)["types"][name]
        return EmptyResult()
    if version_id not in entry["versions"]:
        raise TypeNotFound(f"{name} version {version_id}")
    if version_id == entry["default"] and len(entry["versions"]) > 1:
        raise InvalidRequest("The default version cannot be deregistered while other versions exist.")
    del entry["versions"][version_id]
    if not entry["versions"]:
        del _registry(self)["types"][name]
    return EmptyResult()


def _configuration_arn(account, region, name, alias, kind="RESOURCE"):
    return f"{_arn(account, region, name, kind=kind)}/TypeConfiguration/{alias}"


def set_type_configuration(self):
    name, entry = _find(self, self._get_param("TypeName"), self._get_param("TypeArn"))
    text = self._get_param("Configuration")
    try:
        configuration = json.loads(text)
    except (TypeError, ValueError) as error:
        raise InvalidRequest(f"Configuration is not JSON: {error}") from error
    schema = entry["versions"][entry["default"]]["schema"].get("typeConfiguration")
    if schema is None:
        raise InvalidRequest(f"{name} has no type configuration.")
    import jsonschema

    if entry["kind"] == "HOOK":
        hook = (configuration.get("CloudFormationConfiguration") or {}).get("HookConfiguration")
        if not isinstance(hook, dict):
            raise InvalidRequest("Configuration: a hook's is {\"CloudFormationConfiguration\": {\"HookConfiguration\": {...}}}")
        if hook.get("HookInvocationStatus") not in ("ENABLED", "DISABLED"):
            raise InvalidRequest("Configuration at HookInvocationStatus: ENABLED or DISABLED")
        if hook.get("FailureMode", "FAIL") not in ("FAIL", "WARN"):
            raise InvalidRequest("Configuration at FailureMode: FAIL or WARN")
        configuration = hook.get("Properties") or {}
    # The configuration schema as the service derives it: with the schema's definitions.
    definitions = entry["versions"][entry["default"]]["schema"].get("definitions", {})
    errors = list(jsonschema.Draft7Validator({**schema, "definitions": definitions}).iter_errors(configuration))
    if errors:
        where = "/".join(str(p) for p in errors[0].path) or "(root)"
        raise InvalidRequest(f"Configuration at {where}: {errors[0].message}")
    alias = self._get_param("ConfigurationAlias") or "default"
    entry["configuration"] = {"Configuration": text, "LastUpdated": _now(), "Alias": alias}
    return ActionResult({"ConfigurationArn": _configuration_arn(self.current_account, self.region, name, alias, entry["kind"])})


def batch_describe_type_configurations(self):
    found, errors = [], []
    for identifier in self._get_param("TypeConfigurationIdentifiers") or []:
        try:
            name, entry = _find(self, identifier.get("TypeName"), identifier.get("TypeArn"))
        except TypeNotFound as error:
            errors.append({"ErrorCode": "TypeNotFoundException", "ErrorMessage": str(error), "TypeConfigurationIdentifier": identifier})
            continue
        configuration = entry["configuration"]
        if configuration is None:
            continue
        found.append(
            {
                "Alias": configuration["Alias"],
                "Arn": _configuration_arn(self.current_account, self.region, name, configuration["Alias"], entry["kind"]),
                "Configuration": configuration["Configuration"],
                "LastUpdated": configuration["LastUpdated"],
                "TypeArn": _arn(self.current_account, self.region, name, kind=entry["kind"]),
                "TypeName": name,
                "IsDefaultConfiguration": configuration["Alias"] == "default",
            }
        )
    return ActionResult({"Errors": errors, "UnprocessedTypeConfigurations": [], "TypeConfigurations": found})


for _action in (
    register_type,
    describe_type_registration,
    describe_type,
    list_type_versions,
    set_type_default_version,
    deregister_type,
    set_type_configuration,
    batch_describe_type_configurations,
):
    setattr(CloudFormationResponse, _action.__name__, _action)
