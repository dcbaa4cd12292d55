//! A hook's schema in the registry's hooks dialect (provider.definition.schema.hooks.v1):
//! the configuration as `typeConfiguration`, each handler's `targetNames` and `permissions`.

use schemars::JsonSchema;
use serde_json::{Map, Value, json};

use super::{HookMetadata, InvocationPoint};
use crate::schema::{MAX_SCHEMA_BYTES, SchemaError, type_configuration_schema};

/// The target names that are not resource types.
const WHOLE_TARGETS: [&str; 2] = ["STACK", "CHANGE_SET"];

/// The schema of a hook with its metadata under `namespace`, with configuration `C` (a hook
/// without one passes [`crate::Empty`]). Refuses what the registry would: no handler, a handler
/// without targets, target names that are not type names, permissions on CloudFormation itself,
/// configuration properties in CloudFormation's reserved names.
pub fn hook_schema<C: JsonSchema>(metadata: &HookMetadata, namespace: &str) -> Result<Value, SchemaError> {
    let type_name = metadata.type_name(namespace);
    let mut definitions = Map::new();
    let configuration = type_configuration_schema::<C>(&mut definitions)?
        .unwrap_or_else(|| json!({"properties": {}, "additionalProperties": false}));
    if let Some(reserved) = configuration
        .get("properties")
        .and_then(Value::as_object)
        .and_then(|p| p.keys().find(|name| name.starts_with("CloudFormation")))
    {
        return Err(SchemaError::new(format!(
            "{type_name}: configuration property '{reserved}': names beginning with CloudFormation are reserved; rename it"
        )));
    }

    let mut handlers = Map::new();
    for point in InvocationPoint::ALL {
        let Some(spec) = metadata.handler(point) else { continue };
        let key = point.handler_key();
        if spec.target_names.is_empty() {
            return Err(SchemaError::new(format!(
                "{type_name}: {key} checks no target; name at least one in target_names"
            )));
        }
        for target in spec.target_names {
            check_target_name(&type_name, key, target)?;
        }
        for permission in spec.permissions {
            let lower = permission.to_ascii_lowercase();
            if lower == "cloudformation:*" || lower == "cloudformation:registertype" {
                return Err(SchemaError::new(format!(
                    "{type_name}: {key} permission '{permission}': the registry refuses it for hooks"
                )));
            }
        }
        handlers.insert(key.into(), json!({"targetNames": spec.target_names, "permissions": spec.permissions}));
    }
    if handlers.is_empty() {
        return Err(SchemaError::new(format!(
            "{type_name}: the hook has no handler; declare pre_create, pre_update or pre_delete in its metadata"
        )));
    }

    let mut schema = Map::new();
    schema.insert("typeName".into(), json!(type_name));
    schema.insert("description".into(), json!(metadata.description));
    if let Some(url) = metadata.source_url {
        schema.insert("sourceUrl".into(), json!(url));
    }
    if let Some(url) = metadata.documentation_url {
        schema.insert("documentationUrl".into(), json!(url));
    }
    if !definitions.is_empty() {
        schema.insert("definitions".into(), Value::Object(definitions));
    }
    schema.insert("typeConfiguration".into(), configuration);
    schema.insert("required".into(), json!([]));
    schema.insert("handlers".into(), Value::Object(handlers));
    schema.insert("additionalProperties".into(), json!(false));
    let schema = Value::Object(schema);
    let size = schema.to_string().len();
    if size > MAX_SCHEMA_BYTES {
        return Err(SchemaError::new(format!(
            "{type_name}: the schema is {size} bytes, over the registry's {MAX_SCHEMA_BYTES}"
        )));
    }
    Ok(schema)
}

/// `AWS::S3::Bucket`, `AWS::S3::*`, `AWS::?QS::Queue`, `STACK` or `CHANGE_SET`.
fn check_target_name(type_name: &str, handler: &str, target: &str) -> Result<(), SchemaError> {
    let parts: Vec<&str> = target.split("::").collect();
    let well_formed = WHOLE_TARGETS.contains(&target)
        || (parts.len() == 3
            && parts.iter().all(|part| {
                !part.is_empty()
                    && part.len() <= 64
                    && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '?')
            }));
    if !well_formed || target.contains("*?") {
        return Err(SchemaError::new(format!(
            "{type_name}: {handler} target '{target}': write a type name (Org::Service::Resource, `*` and `?` allowed, \
             never `*?`), STACK or CHANGE_SET"
        )));
    }
    Ok(())
}
