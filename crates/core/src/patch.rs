//! Distinguishes "field absent" (leave unchanged) from "field null" (clear it) in PATCH bodies.

use serde::{Deserialize, Deserializer};

/// Use with `#[serde(default, deserialize_with = "patch::nullable")]` on an
/// `Option<Option<T>>`: absent → `None`, `null` → `Some(None)`, value → `Some(Some(v))`.
pub fn nullable<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
