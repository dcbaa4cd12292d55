//! The project's types as the suite sees them: `rpdk-config.json`, each committed schema, and
//! each type's `cfn test` inputs, rendered with this run's fixture values (`RPDK_FIXTURES`).
//! What is known of a type from these alone drives the generic tests (lifecycle, leaks).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

/// The project's types.
pub struct Project {
    /// Every type, in `rpdk-config.json`'s order.
    pub types: Vec<ProjectType>,
}

/// One type of the project.
pub struct ProjectType {
    /// `Namespace::Service::Resource`.
    pub type_name: String,
    /// Its handler binary, the Lambda function's name.
    pub binary: String,
    /// `rpdk-iam-crossaccountrole`: where its schema and inputs are named.
    pub stem: String,
    /// Its committed schema.
    pub schema: Value,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the project root").to_owned()
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

impl Project {
    /// The project of this checkout.
    pub fn load() -> Self {
        let config = read_json(&root().join("rpdk-config.json"));
        let namespace = config["namespace"].as_str().expect("a namespace");
        let text =
            |entry: &Value, key: &str| entry[key].as_str().unwrap_or_else(|| panic!("no {key} in {entry}")).to_owned();
        let types = config["types"]
            .as_array()
            .expect("types")
            .iter()
            .map(|entry| {
                let type_name = format!("{namespace}::{}::{}", text(entry, "service"), text(entry, "resource"));
                let stem = rpdk_local::type_stem(&type_name);
                let schema = read_json(&root().join("schemas").join(format!("{stem}.json")));
                ProjectType { type_name, binary: text(entry, "binary"), stem, schema }
            })
            .collect();
        Self { types }
    }

    /// The type named `type_name`, if the project has it.
    pub fn find(&self, type_name: &str) -> Option<&ProjectType> {
        self.types.iter().find(|served| served.type_name == type_name)
    }
}

impl ProjectType {
    fn fixture_dir(&self) -> PathBuf {
        root().join("contract-tests").join("types").join(&self.stem)
    }

    /// The input `file` (e.g. `inputs_1_create.json`), its placeholders filled with this run's
    /// fixture values, `RunId` with `run_id`.
    pub fn input(&self, file: &str, run_id: &str) -> Value {
        self.rendered(&self.fixture_dir().join("inputs").join(file), run_id)
            .unwrap_or_else(|| panic!("{} has no inputs/{file}", self.stem))
    }

    /// The type configuration its `cfn test` runs with, if it has one.
    pub fn type_configuration(&self, run_id: &str) -> Option<Value> {
        self.rendered(&self.fixture_dir().join("typeconfig.json"), run_id)
    }

    fn rendered(&self, path: &Path, run_id: &str) -> Option<Value> {
        let mut text = std::fs::read_to_string(path).ok()?;
        let mut values = fixture_values(&self.type_name);
        values.insert("RunId".to_owned(), json!(run_id));
        for (key, value) in values {
            let value = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
            text = text.replace(&format!("{{{{{key}}}}}"), &value);
        }
        assert!(!text.contains("{{"), "{}: a placeholder has no value in this run", path.display());
        Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display())))
    }

    fn properties(&self, key: &str) -> Vec<String> {
        self.schema[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|pointer| pointer.strip_prefix("/properties/"))
            .filter(|name| !name.contains('/'))
            .map(str::to_owned)
            .collect()
    }

    /// The primary identifier of `model`: what READ and DELETE take.
    pub fn identifier(&self, model: &Value) -> Value {
        let properties = self.properties("primaryIdentifier");
        let identifier: Map<String, Value> =
            properties.iter().filter_map(|name| Some((name.clone(), model.get(name)?.clone()))).collect();
        assert_eq!(identifier.len(), properties.len(), "{model} lacks its identifier {properties:?}");
        Value::Object(identifier)
    }

    /// The identifier a physical id (the identifier's values joined by `|`) stands for.
    pub fn identifier_of(&self, physical_id: &str) -> Value {
        let properties = self.properties("primaryIdentifier");
        let parts = physical_id.splitn(properties.len().max(1), '|');
        Value::Object(properties.into_iter().zip(parts.map(|part| json!(part))).collect())
    }

    /// `model` without the properties READ never answers.
    pub fn without_write_only(&self, model: &Value) -> Value {
        let mut model = model.clone();
        if let Some(object) = model.as_object_mut() {
            for name in self.properties("writeOnlyProperties") {
                object.remove(&name);
            }
        }
        model
    }

    /// The list properties whose order the schema leaves free (`insertionOrder: false`).
    pub fn unordered(&self) -> Vec<&str> {
        self.schema["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, property)| property["insertionOrder"] == false)
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// What LIST takes to find `model` (`handlers.list.handlerSchema`'s required properties).
    pub fn list_input(&self, model: &Value) -> Value {
        let required = self.schema.pointer("/handlers/list/handlerSchema/required").and_then(Value::as_array);
        let input: Map<String, Value> = required
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|name| Some((name.to_owned(), model.get(name)?.clone())))
            .collect();
        if input.is_empty() { Value::Null } else { Value::Object(input) }
    }
}

/// The values `fixture.py` made for `type_name` in this run.
fn fixture_values(type_name: &str) -> Map<String, Value> {
    let path = std::env::var("RPDK_FIXTURES").expect("RPDK_FIXTURES is unset: run through `cargo rpdk test`");
    read_json(Path::new(&path))[type_name].as_object().cloned().unwrap_or_default()
}
