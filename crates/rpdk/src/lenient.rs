//! The fast decode of a model: straight from the payload's JSON text into the typed model,
//! with CloudFormation's stringified primitives (`"3600"`, `"true"`) recast to the types the
//! schema declares as they are read and, for a desired model, the schema's rules checked on the
//! way: no JSON value is built.
//!
//! It is conservative. It accepts a model only where the authoritative path (the text parsed
//! into a JSON value, recast, validated with `jsonschema`, then decoded) accepts it and decodes
//! the same model; anything else it declines (a schema keyword it does not check, a broken rule,
//! a null it cannot place, a value the model refuses), and the authoritative path answers,
//! naming every fault. A property test in `dispatch/fast_path_tests.rs` holds the two paths to that.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use serde::de::value::{BorrowedStrDeserializer, StringDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The node every value without a schema of its own gets: no type, no rules.
const OPEN: usize = 0;

/// Draft-07 keywords that constrain a value; a schema using one not checked here is left to
/// the authoritative path. Any other key is an annotation (`description`, `insertionOrder`, ...).
const UNCHECKED_KEYWORDS: &[&str] = &[
    "const",
    "multipleOf",
    "exclusiveMaximum",
    "exclusiveMinimum",
    "additionalItems",
    "uniqueItems",
    "contains",
    "maxProperties",
    "minProperties",
    "patternProperties",
    "dependencies",
    "propertyNames",
    "if",
    "then",
    "else",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "format",
    "contentEncoding",
    "contentMediaType",
    "$id",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    String,
    Integer,
    Number,
    Boolean,
    Object,
    Array,
}

/// One schema node, compiled for reading values against it.
#[derive(Default)]
struct Node {
    kind: Option<Kind>,
    /// Declared properties: the child node, and the slot in `required` if required.
    properties: HashMap<String, (usize, Option<usize>)>,
    /// `additionalProperties: false`: any other property must be absent (or null, which is absent).
    closed: bool,
    required: Vec<String>,
    items: Option<usize>,
    min_length: Option<usize>,
    max_length: Option<usize>,
    /// The pattern, checked by `jsonschema` itself so that its ECMA-262 reading holds; compiled
    /// on first use.
    pattern: Option<(Value, OnceLock<Option<jsonschema::Validator>>)>,
    choices: Option<Vec<String>>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    min_items: Option<usize>,
    max_items: Option<usize>,
}

/// A model's schema compiled for the fast decode.
pub(crate) struct Plan {
    nodes: Vec<Node>,
    root: usize,
}

impl Plan {
    /// The plan of the model schema at `schema` (its `#/definitions/..` resolved in `root`), or
    /// `None` when the schema uses something the fast decode does not check.
    pub(crate) fn compile(schema: &Value, root: &Value) -> Option<Self> {
        let mut compiler = Compiler { root, nodes: vec![Node::default()], definitions: HashMap::new() };
        let root_node = compiler.node(schema)?;
        Some(Self { nodes: compiler.nodes, root: root_node })
    }

    /// Decodes `text` as the model, recasting as it reads; with `check`, also under the
    /// schema's rules. `None`: declined, the authoritative path must answer.
    pub(crate) fn decode<'de, T: de::Deserialize<'de>>(&self, text: &'de str, check: bool) -> Option<T> {
        let mut json = serde_json::Deserializer::from_str(text);
        let null = Cell::new(false);
        let reader = Lenient {
            inner: &mut json,
            at: At { plan: self, node: self.root, check, in_property: false, null: &null },
        };
        let model = T::deserialize(reader).ok()?;
        json.end().ok()?;
        Some(model)
    }
}

struct Compiler<'a> {
    root: &'a Value,
    nodes: Vec<Node>,
    definitions: HashMap<&'a str, usize>,
}

impl<'a> Compiler<'a> {
    fn node(&mut self, schema: &'a Value) -> Option<usize> {
        let object = match schema {
            Value::Bool(true) => return Some(OPEN),
            Value::Object(object) => object,
            _ => return None,
        };
        if let Some(reference) = object.get("$ref") {
            // Beside a `$ref`, only annotations: whether its siblings also apply is not asked here.
            if object.keys().any(|key| key != "$ref" && constrains(key)) {
                return None;
            }
            let name = reference.as_str()?.strip_prefix("#/definitions/")?;
            if let Some(&index) = self.definitions.get(name) {
                return Some(index);
            }
            let target = self.root.get("definitions")?.get(name)?;
            if target.get("$ref").is_some() {
                return None;
            }
            let index = self.reserve();
            self.definitions.insert(name, index);
            self.nodes[index] = self.build(target.as_object()?)?;
            return Some(index);
        }
        let index = self.reserve();
        self.nodes[index] = self.build(object)?;
        Some(index)
    }

    fn reserve(&mut self) -> usize {
        self.nodes.push(Node::default());
        self.nodes.len() - 1
    }

    fn build(&mut self, schema: &'a Map<String, Value>) -> Option<Node> {
        let mut node = Node::default();
        let count = |value: &Value| value.as_u64().and_then(|n| usize::try_from(n).ok());
        for (key, value) in schema {
            match key.as_str() {
                "type" => {
                    node.kind = Some(match value.as_str()? {
                        "string" => Kind::String,
                        "integer" => Kind::Integer,
                        "number" => Kind::Number,
                        "boolean" => Kind::Boolean,
                        "object" => Kind::Object,
                        "array" => Kind::Array,
                        _ => return None,
                    });
                }
                "properties" => {
                    for (name, property) in value.as_object()? {
                        let child = self.node(property)?;
                        node.properties.insert(name.clone(), (child, None));
                    }
                }
                "additionalProperties" => match value {
                    Value::Bool(open) => node.closed = !open,
                    _ => return None,
                },
                "required" => {
                    node.required =
                        value.as_array()?.iter().map(|name| name.as_str().map(str::to_owned)).collect::<Option<_>>()?;
                }
                "items" => node.items = Some(self.node(value)?),
                "minLength" => node.min_length = Some(count(value)?),
                "maxLength" => node.max_length = Some(count(value)?),
                "minItems" => node.min_items = Some(count(value)?),
                "maxItems" => node.max_items = Some(count(value)?),
                "minimum" => node.minimum = Some(value.as_f64()?),
                "maximum" => node.maximum = Some(value.as_f64()?),
                "pattern" => node.pattern = Some((Value::String(value.as_str()?.to_owned()), OnceLock::new())),
                "enum" => {
                    node.choices =
                        Some(value.as_array()?.iter().map(|v| v.as_str().map(str::to_owned)).collect::<Option<_>>()?);
                }
                key if constrains(key) => return None,
                _ => {}
            }
        }
        for (slot, name) in node.required.iter().enumerate() {
            match node.properties.get_mut(name) {
                Some(entry) => entry.1 = Some(slot),
                // A required property the schema does not declare: present, it is either
                // unknown (a closed node) or unchecked.
                None if node.closed => return None,
                None => {
                    node.properties.insert(name.clone(), (OPEN, Some(slot)));
                }
            }
        }
        Some(node)
    }
}

fn constrains(key: &str) -> bool {
    UNCHECKED_KEYWORDS.contains(&key)
        || matches!(
            key,
            "type"
                | "properties"
                | "additionalProperties"
                | "required"
                | "items"
                | "minLength"
                | "maxLength"
                | "minItems"
                | "maxItems"
                | "minimum"
                | "maximum"
                | "pattern"
                | "enum"
                | "$ref"
        )
}

impl Node {
    fn string_holds(&self, text: &str) -> bool {
        if self.min_length.is_some() || self.max_length.is_some() {
            let length = text.chars().count();
            if self.min_length.is_some_and(|min| length < min) || self.max_length.is_some_and(|max| length > max) {
                return false;
            }
        }
        if self.choices.as_ref().is_some_and(|choices| !choices.iter().any(|choice| choice == text)) {
            return false;
        }
        match &self.pattern {
            None => true,
            Some((pattern, compiled)) => compiled
                .get_or_init(|| {
                    jsonschema::options()
                        .with_draft(jsonschema::Draft::Draft7)
                        .build(&serde_json::json!({ "pattern": pattern }))
                        .ok()
                })
                .as_ref()
                .is_some_and(|validator| validator.is_valid(&Value::String(text.to_owned()))),
        }
    }

    fn number_holds(&self, number: f64) -> bool {
        self.minimum.is_none_or(|min| number >= min) && self.maximum.is_none_or(|max| number <= max)
    }
}

/// Where a value is read: its node and how it is read.
#[derive(Clone, Copy)]
struct At<'p> {
    plan: &'p Plan,
    node: usize,
    check: bool,
    /// A property's value, where a null is an absent property (the authoritative path removes it).
    in_property: bool,
    /// Set when the value read was a null.
    null: &'p Cell<bool>,
}

impl<'p> At<'p> {
    fn node(&self) -> &'p Node {
        &self.plan.nodes[self.node]
    }

    fn kind_allows(&self, kind: Kind) -> bool {
        !self.check || self.node().kind.is_none_or(|declared| declared == kind)
    }

    fn child(self, node: usize, in_property: bool) -> Self {
        Self { node, in_property, ..self }
    }
}

fn declined<E: de::Error>() -> E {
    E::custom("declined by the fast decode")
}

/// A deserializer reading one value at `at`.
struct Lenient<'p, D> {
    inner: D,
    at: At<'p>,
}

macro_rules! through_any {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            self.inner.deserialize_any(Guard { visitor, at: self.at, as_enum: false, ignored: false })
        })*
    };
}

macro_rules! refused {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, D::Error> {
            Err(declined())
        })*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Lenient<'_, D> {
    type Error = D::Error;

    through_any! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64 deserialize_char deserialize_str deserialize_string
        deserialize_seq deserialize_map
    }

    refused! { deserialize_bytes deserialize_byte_buf deserialize_unit }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_option(Optional { visitor, at: self.at })
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, _: V) -> Result<V::Value, D::Error> {
        Err(declined())
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, D::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, D::Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.inner.deserialize_any(Guard { visitor, at: self.at, as_enum: true, ignored: false })
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_identifier(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_any(Guard { visitor, at: self.at, as_enum: false, ignored: true })
    }
}

/// An `Option`'s visitor: a property's null is its absence; any other null is declined.
struct Optional<'p, V> {
    visitor: V,
    at: At<'p>,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Optional<'_, V> {
    type Value = V::Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        self.visitor.expecting(formatter)
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        if !self.at.in_property {
            return Err(declined());
        }
        self.at.null.set(true);
        self.visitor.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_some(Lenient { inner: deserializer, at: self.at })
    }
}

/// The visitor of any value at `at`: recasts strings to the declared primitive, checks the
/// node's rules, and reads nested objects and arrays through their own nodes.
struct Guard<'p, V> {
    visitor: V,
    at: At<'p>,
    /// The value is read to be skipped (a property the model ignores): a null is absence.
    ignored: bool,
    /// The model wants an enum: a string is its unit variant.
    as_enum: bool,
}

impl<'de, V: Visitor<'de>> Guard<'_, V> {
    /// A string as the node declares it: a recast primitive, or a string under its rules.
    fn text<E: de::Error>(self, text: &str, forward: impl FnOnce(V) -> Result<V::Value, E>) -> Result<V::Value, E> {
        let node = self.at.node();
        match node.kind {
            Some(Kind::Integer) => {
                let number: i64 = text.trim().parse().map_err(|_| declined())?;
                self.integer(number)
            }
            Some(Kind::Number) => {
                let trimmed = text.trim();
                if let Ok(number) = trimmed.parse::<i64>() {
                    return self.integer(number);
                }
                let number: f64 = trimmed.parse().map_err(|_| declined())?;
                if !number.is_finite() {
                    return Err(declined());
                }
                self.float(number)
            }
            Some(Kind::Boolean) => match text.trim().to_ascii_lowercase().as_str() {
                "true" => self.visitor.visit_bool(true),
                "false" => self.visitor.visit_bool(false),
                _ => Err(declined()),
            },
            Some(Kind::Object | Kind::Array) if self.at.check => Err(declined()),
            _ if self.at.check && !node.string_holds(text) => Err(declined()),
            _ => forward(self.visitor),
        }
    }

    fn integer<E: de::Error>(self, number: i64) -> Result<V::Value, E> {
        // Beyond 2^53 a comparison through f64 may round: the authoritative path judges.
        if !self.at.kind_allows(Kind::Integer) && !self.at.kind_allows(Kind::Number)
            || (self.at.check && (number.unsigned_abs() > 1 << 53 || !self.at.node().number_holds(number as f64)))
        {
            return Err(declined());
        }
        self.visitor.visit_i64(number)
    }

    fn float<E: de::Error>(self, number: f64) -> Result<V::Value, E> {
        if !self.at.kind_allows(Kind::Number) || (self.at.check && !self.at.node().number_holds(number)) {
            return Err(declined());
        }
        self.visitor.visit_f64(number)
    }
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Guard<'_, V> {
    type Value = V::Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        self.visitor.expecting(formatter)
    }

    fn visit_bool<E: de::Error>(self, flag: bool) -> Result<V::Value, E> {
        if !self.at.kind_allows(Kind::Boolean) || self.as_enum {
            return Err(declined());
        }
        self.visitor.visit_bool(flag)
    }

    fn visit_i64<E: de::Error>(self, number: i64) -> Result<V::Value, E> {
        if self.as_enum {
            return Err(declined());
        }
        self.integer(number)
    }

    fn visit_u64<E: de::Error>(self, number: u64) -> Result<V::Value, E> {
        let Ok(signed) = i64::try_from(number) else { return Err(declined()) };
        self.visit_i64(signed)
    }

    fn visit_f64<E: de::Error>(self, number: f64) -> Result<V::Value, E> {
        if self.as_enum {
            return Err(declined());
        }
        self.float(number)
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<V::Value, E> {
        let as_enum = self.as_enum;
        self.text(text, |visitor| {
            if as_enum {
                visitor.visit_enum(BorrowedStrDeserializer::new(text))
            } else {
                visitor.visit_borrowed_str(text)
            }
        })
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<V::Value, E> {
        let as_enum = self.as_enum;
        self.text(
            text,
            |visitor| {
                if as_enum { visitor.visit_enum(text.into_deserializer()) } else { visitor.visit_str(text) }
            },
        )
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        // Only a skipped property's null is safe to pass on: anywhere else the authoritative
        // path either removes it or checks it.
        if !(self.ignored && self.at.in_property) {
            return Err(declined());
        }
        self.at.null.set(true);
        self.visitor.visit_unit()
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        if !self.at.kind_allows(Kind::Object) || self.as_enum {
            return Err(declined());
        }
        let node = self.at.node();
        let entries =
            Entries { map, at: self.at, seen: vec![false; node.required.len()], pending: None, null: Cell::new(false) };
        self.visitor.visit_map(entries)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        if !self.at.kind_allows(Kind::Array) || self.as_enum {
            return Err(declined());
        }
        let items = self.at.node().items.unwrap_or(OPEN);
        self.visitor.visit_seq(Items { seq, at: self.at, items, count: 0, null: Cell::new(false) })
    }
}

/// The property a key named, waiting for its value.
#[derive(Clone, Copy)]
enum Pending {
    Declared {
        node: usize,
        slot: Option<usize>,
    },
    /// Not declared, in a node whose other properties are open.
    Open,
    /// Not declared, in a closed node: only a null (an absent property) may follow.
    Unknown,
}

/// An object's entries, each value read at its property's node.
struct Entries<'p, A> {
    map: A,
    at: At<'p>,
    seen: Vec<bool>,
    pending: Option<Pending>,
    null: Cell<bool>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Entries<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        let node = self.at.node();
        let Some(key) = self.map.next_key_seed(KeySeed)? else {
            if self.at.check && self.seen.iter().any(|seen| !seen) {
                return Err(declined());
            }
            return Ok(None);
        };
        self.pending = Some(match node.properties.get(key.as_ref()) {
            Some(&(node, slot)) => Pending::Declared { node, slot },
            None if node.closed => Pending::Unknown,
            None => Pending::Open,
        });
        match key {
            Cow::Borrowed(key) => seed.deserialize(BorrowedStrDeserializer::new(key)).map(Some),
            Cow::Owned(key) => seed.deserialize(StringDeserializer::new(key)).map(Some),
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        let pending = self.pending.take().ok_or_else(declined)?;
        let node = match pending {
            Pending::Declared { node, .. } => node,
            Pending::Open | Pending::Unknown => OPEN,
        };
        self.null.set(false);
        let at = At { null: &self.null, ..self.at.child(node, true) };
        let value = self.map.next_value_seed(Seed { seed, at })?;
        let null = self.null.get();
        match pending {
            Pending::Unknown if self.at.check && !null => return Err(declined()),
            Pending::Declared { slot: Some(slot), .. } if !null => self.seen[slot] = true,
            _ => {}
        }
        Ok(value)
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

/// An array's items, each read at the items' node.
struct Items<'p, A> {
    seq: A,
    at: At<'p>,
    items: usize,
    count: usize,
    null: Cell<bool>,
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Items<'_, A> {
    type Error = A::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, A::Error> {
        let at = At { null: &self.null, ..self.at.child(self.items, false) };
        let Some(item) = self.seq.next_element_seed(Seed { seed, at })? else {
            let node = self.at.node();
            if self.at.check
                && (node.min_items.is_some_and(|min| self.count < min)
                    || node.max_items.is_some_and(|max| self.count > max))
            {
                return Err(declined());
            }
            return Ok(None);
        };
        self.count += 1;
        Ok(Some(item))
    }

    fn size_hint(&self) -> Option<usize> {
        self.seq.size_hint()
    }
}

/// A seed whose value is read at `at`.
struct Seed<'p, S> {
    seed: S,
    at: At<'p>,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(Lenient { inner: deserializer, at: self.at })
    }
}

/// An object key, borrowed from the text where it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Cow<'de, str>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a property name")
    }

    fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(key))
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(key.to_owned()))
    }
}

/// The values at `paths` (each a path of property names) in the JSON `text`, in a value that
/// holds only them; everything else is skipped, not built. A path through something other than
/// an object ends in a null, as a JSON pointer through it finds nothing.
pub fn outline<S: AsRef<str>>(text: &[u8], paths: &[impl AsRef<[S]>]) -> Result<Value, serde_json::Error> {
    let mut json = serde_json::Deserializer::from_slice(text);
    let picked = Pick(paths.iter().map(AsRef::as_ref).collect()).deserialize(&mut json)?;
    json.end()?;
    Ok(picked)
}

/// The rest of each path still to walk; an empty rest takes the whole value.
struct Pick<'a, S>(Vec<&'a [S]>);

impl<'de, S: AsRef<str>> DeserializeSeed<'de> for Pick<'_, S> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        if self.0.iter().any(|rest| rest.is_empty()) {
            return de::Deserialize::deserialize(deserializer);
        }
        deserializer.deserialize_any(self)
    }
}

impl<'de, S: AsRef<str>> Visitor<'de> for Pick<'_, S> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut picked = Map::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let deeper: Vec<&[S]> =
                self.0.iter().filter(|rest| rest[0].as_ref() == key.as_ref()).map(|rest| &rest[1..]).collect();
            if deeper.is_empty() {
                map.next_value::<de::IgnoredAny>()?;
            } else {
                let value = map.next_value_seed(Pick(deeper))?;
                picked.insert(key.into_owned(), value);
            }
        }
        Ok(Value::Object(picked))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(Value::Null)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}
