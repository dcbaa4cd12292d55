//! Lenient model decoding: CloudFormation passes template values as strings (`"3600"`,
//! `"true"`), so primitives are recast to the types the schema declares, and `null` values
//! are treated as absent, before the model is decoded.

use serde_json::{Map, Value};

/// Recasts `value` in place against `schema`; `root` resolves `#/definitions/..` references.
/// Strings that do not parse are left alone, so decoding reports them with their path.
pub fn recast(value: &mut Value, schema: &Value, root: &Value) {
    let schema = resolve(schema, root);
    match value {
        Value::String(text) => {
            if let Some(recast) = primitive(text, declared_type(schema)) {
                *value = recast;
            }
        }
        Value::Object(object) => {
            object.retain(|_, v| !v.is_null());
            recast_object(object, schema, root);
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items.iter_mut() {
                    recast(item, item_schema, root);
                }
            }
        }
        _ => {}
    }
}

fn recast_object(object: &mut Map<String, Value>, schema: &Value, root: &Value) {
    let Some(Value::Object(properties)) = schema.get("properties") else { return };
    for (name, property) in object.iter_mut() {
        if let Some(property_schema) = properties.get(name) {
            recast(property, property_schema, root);
        }
    }
}

fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    let mut current = schema;
    // Bounded: a cycle of references to references is not a schema we emit.
    for _ in 0..16 {
        let Some(target) = current
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/definitions/"))
            .and_then(|name| root.get("definitions").and_then(|defs| defs.get(name)))
        else {
            break;
        };
        current = target;
    }
    current
}

fn declared_type(schema: &Value) -> Option<&str> {
    schema.get("type").and_then(Value::as_str)
}

fn primitive(text: &str, declared: Option<&str>) -> Option<Value> {
    match declared? {
        "integer" => text.trim().parse::<i64>().ok().map(Value::from),
        "number" => {
            let trimmed = text.trim();
            trimmed.parse::<i64>().map(Value::from).ok().or_else(|| {
                trimmed.parse::<f64>().ok().and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
            })
        }
        "boolean" => match text.trim().to_ascii_lowercase().as_str() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({
            "properties": {
                "Count": {"type": "integer"},
                "Ratio": {"type": "number"},
                "Enabled": {"type": "boolean"},
                "Name": {"type": "string"},
                "Items": {"type": "array", "items": {"$ref": "#/definitions/Item"}},
                "Doc": {"type": "object"}
            },
            "definitions": {"Item": {"type": "object", "properties": {"Port": {"type": "integer"}, "Primary": {"type": "boolean"}}}}
        })
    }

    #[test]
    fn stringified_primitives_take_their_declared_types() {
        let schema = schema();
        let mut model = json!({
            "Count": "3600", "Ratio": "0.5", "Enabled": "true", "Name": "80",
            "Items": [{"Port": "443", "Primary": "False"}],
            "Doc": {"Count": "7"}
        });
        recast(&mut model, &schema, &schema);
        assert_eq!(
            model,
            json!({
                "Count": 3600, "Ratio": 0.5, "Enabled": true, "Name": "80",
                "Items": [{"Port": 443, "Primary": false}],
                "Doc": {"Count": "7"}
            })
        );
    }

    #[test]
    fn nulls_are_absent_and_bad_strings_stay_for_the_decoder() {
        let schema = schema();
        let mut model = json!({"Count": "many", "Name": null, "Items": [{"Port": null}]});
        recast(&mut model, &schema, &schema);
        assert_eq!(model, json!({"Count": "many", "Items": [{}]}));
    }
}
