//! A model encoded as it leaves in a progress event: straight to JSON text, without nulls (at
//! any depth, in objects and lists: the protocol never carries one) and without the properties
//! at the given paths (write-only properties); no JSON value is built on the way.

use std::fmt;

use serde::ser::{self, Impossible, Serialize, SerializeMap, SerializeSeq, SerializeStruct, Serializer};
use serde_json::value::RawValue;

/// Encodes `model` without nulls and without the properties at `removed` (paths of property
/// names, from the model's root).
pub(crate) fn encode<T: Serialize, S: AsRef<str>>(
    model: &T,
    removed: &[impl AsRef<[S]>],
) -> Result<Box<RawValue>, serde_json::Error> {
    let removed: Vec<&[S]> = removed.iter().map(AsRef::as_ref).collect();
    serde_json::value::to_raw_value(&Shaped { value: model, removed: &removed })
}

/// A value serialized through [`Outgoing`], with the removed paths that start below it.
struct Shaped<'a, T: ?Sized, S> {
    value: &'a T,
    removed: &'a [&'a [S]],
}

impl<T: Serialize + ?Sized, S: AsRef<str>> Serialize for Shaped<'_, T, S> {
    fn serialize<O: Serializer>(&self, serializer: O) -> Result<O::Ok, O::Error> {
        self.value.serialize(Outgoing { inner: serializer, removed: self.removed })
    }
}

/// The removed paths below the property `name`: `None` when the property itself is removed.
fn below<'a, S: AsRef<str>>(removed: &[&'a [S]], name: &str) -> Option<Vec<&'a [S]>> {
    let mut deeper = Vec::new();
    for path in removed {
        if let Some((first, rest)) = path.split_first()
            && first.as_ref() == name
        {
            if rest.is_empty() {
                return None;
            }
            deeper.push(rest);
        }
    }
    Some(deeper)
}

/// A serializer that leaves out nulls and removed properties, writing the rest to `inner`.
struct Outgoing<'a, O, S> {
    inner: O,
    removed: &'a [&'a [S]],
}

macro_rules! forward {
    ($($method:ident($($arg:ident: $type:ty),*))*) => {
        $(fn $method(self, $($arg: $type),*) -> Result<O::Ok, O::Error> {
            self.inner.$method($($arg),*)
        })*
    };
}

impl<'a, O: Serializer, S: AsRef<str>> Serializer for Outgoing<'a, O, S> {
    type Ok = O::Ok;
    type Error = O::Error;
    type SerializeSeq = Items<O::SerializeSeq>;
    type SerializeTuple = Items<O::SerializeSeq>;
    type SerializeTupleStruct = Items<O::SerializeSeq>;
    type SerializeTupleVariant = O::SerializeTupleVariant;
    type SerializeMap = Entries<'a, O::SerializeMap, S>;
    type SerializeStruct = Fields<'a, O::SerializeStruct, S>;
    type SerializeStructVariant = O::SerializeStructVariant;

    forward! {
        serialize_bool(v: bool) serialize_i8(v: i8) serialize_i16(v: i16) serialize_i32(v: i32)
        serialize_i64(v: i64) serialize_i128(v: i128) serialize_u8(v: u8) serialize_u16(v: u16)
        serialize_u32(v: u32) serialize_u64(v: u64) serialize_u128(v: u128) serialize_f32(v: f32)
        serialize_f64(v: f64) serialize_char(v: char) serialize_str(v: &str) serialize_bytes(v: &[u8])
        serialize_none() serialize_unit() serialize_unit_struct(name: &'static str)
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<O::Ok, O::Error> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<O::Ok, O::Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<O::Ok, O::Error> {
        let removed = below(self.removed, variant).unwrap_or_default();
        self.inner.serialize_newtype_variant(name, index, variant, &Shaped { value, removed: &removed })
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, O::Error> {
        Ok(Items(self.inner.serialize_seq(len)?))
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, O::Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Self::SerializeTupleStruct, O::Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, O::Error> {
        // Models do not hold tuple variants; written as they are.
        self.inner.serialize_tuple_variant(name, index, variant, len)
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, O::Error> {
        Ok(Entries { inner: self.inner.serialize_map(len)?, removed: self.removed, key: None })
    }

    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Self::SerializeStruct, O::Error> {
        Ok(Fields { inner: self.inner.serialize_struct(name, len)?, removed: self.removed })
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, O::Error> {
        // Models do not hold struct variants; written as they are.
        self.inner.serialize_struct_variant(name, index, variant, len)
    }
}

/// A list's items, nulls left out. Paths never go through a list.
struct Items<I>(I);

impl<I: SerializeSeq> Items<I> {
    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), I::Error> {
        if is_null(value) {
            return Ok(());
        }
        self.0.serialize_element(&Shaped::<T, &str> { value, removed: &[] })
    }
}

macro_rules! items {
    ($($trait:ident::$method:ident)*) => {
        $(impl<I: SerializeSeq> ser::$trait for Items<I> {
            type Ok = I::Ok;
            type Error = I::Error;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), I::Error> {
                self.item(value)
            }

            fn end(self) -> Result<I::Ok, I::Error> {
                self.0.end()
            }
        })*
    };
}

items! { SerializeSeq::serialize_element SerializeTuple::serialize_element SerializeTupleStruct::serialize_field }

/// A struct's fields, null and removed ones left out.
struct Fields<'a, I, S> {
    inner: I,
    removed: &'a [&'a [S]],
}

impl<I: SerializeStruct, S: AsRef<str>> SerializeStruct for Fields<'_, I, S> {
    type Ok = I::Ok;
    type Error = I::Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), I::Error> {
        if is_null(value) {
            return Ok(());
        }
        match below(self.removed, key) {
            Some(removed) => self.inner.serialize_field(key, &Shaped { value, removed: &removed }),
            None => Ok(()),
        }
    }

    fn end(self) -> Result<I::Ok, I::Error> {
        self.inner.end()
    }
}

/// A map's entries, null and removed ones left out. A key serialized apart from its value is
/// kept as text until the value shows whether the entry stays.
struct Entries<'a, I, S> {
    inner: I,
    removed: &'a [&'a [S]],
    key: Option<String>,
}

impl<I: SerializeMap, S: AsRef<str>> SerializeMap for Entries<'_, I, S> {
    type Ok = I::Ok;
    type Error = I::Error;

    fn serialize_key<K: Serialize + ?Sized>(&mut self, key: &K) -> Result<(), I::Error> {
        self.key = Some(key.serialize(KeyText).map_err(ser::Error::custom)?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), I::Error> {
        let key = self.key.take().ok_or_else(|| ser::Error::custom("a map value without its key"))?;
        self.serialize_entry(&key, value)
    }

    fn serialize_entry<K: Serialize + ?Sized, T: Serialize + ?Sized>(
        &mut self,
        key: &K,
        value: &T,
    ) -> Result<(), I::Error> {
        if is_null(value) {
            return Ok(());
        }
        match key.serialize(KeyIs { removed: self.removed }).map_err(ser::Error::custom)? {
            Some(removed) => self.inner.serialize_entry(key, &Shaped { value, removed: &removed }),
            None => Ok(()),
        }
    }

    fn end(self) -> Result<I::Ok, I::Error> {
        self.inner.end()
    }
}

/// Whether a value is written as `null` (`None`, `()`, a unit struct, a float JSON cannot hold).
fn is_null<T: Serialize + ?Sized>(value: &T) -> bool {
    matches!(value.serialize(IsNull), Ok(true))
}

/// What the probes answer for anything they do not look into.
#[derive(Debug)]
struct NotThis;

impl fmt::Display for NotThis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not what was looked for")
    }
}

impl std::error::Error for NotThis {}

impl ser::Error for NotThis {
    fn custom<T: fmt::Display>(_: T) -> Self {
        NotThis
    }
}

macro_rules! answer {
    ($answer:expr; $($method:ident($($type:ty),*))*) => {
        $(fn $method(self, $(_: $type),*) -> Result<Self::Ok, NotThis> {
            $answer
        })*
    };
}

macro_rules! no_compounds {
    ($ok:ty) => {
        type SerializeSeq = Impossible<$ok, NotThis>;
        type SerializeTuple = Impossible<$ok, NotThis>;
        type SerializeTupleStruct = Impossible<$ok, NotThis>;
        type SerializeTupleVariant = Impossible<$ok, NotThis>;
        type SerializeMap = Impossible<$ok, NotThis>;
        type SerializeStruct = Impossible<$ok, NotThis>;
        type SerializeStructVariant = Impossible<$ok, NotThis>;

        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotThis> {
            Err(NotThis)
        }

        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotThis> {
            Err(NotThis)
        }

        fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, NotThis> {
            Err(NotThis)
        }

        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, NotThis> {
            Err(NotThis)
        }

        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotThis> {
            Err(NotThis)
        }

        fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, NotThis> {
            Err(NotThis)
        }

        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, NotThis> {
            Err(NotThis)
        }
    };
}

/// Answers whether a value is written as `null`.
struct IsNull;

impl Serializer for IsNull {
    type Ok = bool;
    type Error = NotThis;
    no_compounds!(bool);

    answer! { Ok(false);
        serialize_bool(bool) serialize_i8(i8) serialize_i16(i16) serialize_i32(i32) serialize_i64(i64)
        serialize_i128(i128) serialize_u8(u8) serialize_u16(u16) serialize_u32(u32) serialize_u64(u64)
        serialize_u128(u128) serialize_char(char) serialize_str(&str) serialize_bytes(&[u8])
        serialize_unit_variant(&'static str, u32, &'static str)
    }

    answer! { Ok(true); serialize_none() serialize_unit() serialize_unit_struct(&'static str) }

    fn serialize_f32(self, v: f32) -> Result<bool, NotThis> {
        Ok(!v.is_finite())
    }

    fn serialize_f64(self, v: f64) -> Result<bool, NotThis> {
        Ok(!v.is_finite())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<bool, NotThis> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<bool, NotThis> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<bool, NotThis> {
        Ok(false)
    }
}

/// Which removed paths go on below a map key: `None` when the entry itself is removed.
struct KeyIs<'a, S> {
    removed: &'a [&'a [S]],
}

impl<'a, S: AsRef<str>> KeyIs<'a, S> {
    fn named(self, key: &str) -> Result<Option<Vec<&'a [S]>>, NotThis> {
        Ok(below(self.removed, key))
    }
}

macro_rules! key_as_text {
    ($($method:ident($type:ty))*) => {
        $(fn $method(self, key: $type) -> Result<Self::Ok, NotThis> {
            self.named(&key.to_string())
        })*
    };
}

impl<'a, S: AsRef<str>> Serializer for KeyIs<'a, S> {
    type Ok = Option<Vec<&'a [S]>>;
    type Error = NotThis;
    no_compounds!(Option<Vec<&'a [S]>>);
    key_as_text! {
        serialize_bool(bool) serialize_i8(i8) serialize_i16(i16) serialize_i32(i32) serialize_i64(i64)
        serialize_i128(i128) serialize_u8(u8) serialize_u16(u16) serialize_u32(u32) serialize_u64(u64)
        serialize_u128(u128) serialize_f32(f32) serialize_f64(f64) serialize_char(char)
    }
    answer! { Err(NotThis); serialize_bytes(&[u8]) serialize_none() serialize_unit() serialize_unit_struct(&'static str) }

    fn serialize_str(self, key: &str) -> Result<Self::Ok, NotThis> {
        self.named(key)
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<Self::Ok, NotThis> {
        self.named(variant)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, key: &T) -> Result<Self::Ok, NotThis> {
        key.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, key: &T) -> Result<Self::Ok, NotThis> {
        key.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Self::Ok, NotThis> {
        Err(NotThis)
    }
}

/// A map key as the text JSON writes it.
struct KeyText;

macro_rules! text {
    ($($method:ident($type:ty))*) => {
        $(fn $method(self, key: $type) -> Result<String, NotThis> {
            Ok(key.to_string())
        })*
    };
}

impl Serializer for KeyText {
    type Ok = String;
    type Error = NotThis;
    no_compounds!(String);
    text! {
        serialize_bool(bool) serialize_i8(i8) serialize_i16(i16) serialize_i32(i32) serialize_i64(i64)
        serialize_i128(i128) serialize_u8(u8) serialize_u16(u16) serialize_u32(u32) serialize_u64(u64)
        serialize_u128(u128) serialize_f32(f32) serialize_f64(f64) serialize_char(char) serialize_str(&str)
    }
    answer! { Err(NotThis); serialize_bytes(&[u8]) serialize_none() serialize_unit() serialize_unit_struct(&'static str) }

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<String, NotThis> {
        Ok(variant.to_owned())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, key: &T) -> Result<String, NotThis> {
        key.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, key: &T) -> Result<String, NotThis> {
        key.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, NotThis> {
        Err(NotThis)
    }
}
