//! Opaque page cursors. A cursor names the sort it belongs to, so a cursor from one sort order
//! cannot be replayed against another. Cursors carry only ids, timestamps and non-personal sort
//! keys, because they travel in URLs.

use crate::CoreError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use custodian_store::page::{After, KeyValue};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Declares a list's sort orders: each variant has its public code (`"-updated"`), the
/// repository's sort key and a direction. Generates `parse` (with `hint` as the error), `code`
/// (which also binds cursors to their order) and `parts`; the first variant is the default.
macro_rules! sort_orders {
    ($(#[$doc:meta])* $name:ident: $repo_sort:ident, $hint:literal,
     { $first:ident = $first_code:literal => ($first_key:ident, $first_dir:ident)
       $(, $variant:ident = $code:literal => ($key:ident, $dir:ident))* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub enum $name {
            #[default]
            $first,
            $($variant),*
        }

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, CoreError> {
                match raw {
                    $first_code => Ok(Self::$first),
                    $($code => Ok(Self::$variant),)*
                    _ => Err(FieldError::new("sort", "invalid_sort", $hint).into()),
                }
            }

            fn code(self) -> &'static str {
                match self {
                    Self::$first => $first_code,
                    $(Self::$variant => $code),*
                }
            }

            fn parts(self) -> ($repo_sort, Direction) {
                match self {
                    Self::$first => ($repo_sort::$first_key, Direction::$first_dir),
                    $(Self::$variant => ($repo_sort::$key, Direction::$dir)),*
                }
            }
        }
    };
}
pub(crate) use sort_orders;

/// Longest cursor accepted, in characters.
const MAX_CURSOR_LEN: usize = 1_024;

#[derive(Serialize, Deserialize)]
struct Wire {
    s: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    n: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    t: Option<String>,
    i: Uuid,
}

pub fn encode(sort: &str, after: &After) -> String {
    let (n, t) = match &after.key {
        KeyValue::Int(n) => (Some(*n), None),
        KeyValue::Text(t) => (None, Some(t.clone())),
    };
    let wire = Wire {
        s: sort.to_owned(),
        n,
        t,
        i: after.id,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).unwrap_or_default())
}

pub fn decode(sort: &str, cursor: &str) -> Result<After, CoreError> {
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(CoreError::InvalidCursor);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| CoreError::InvalidCursor)?;
    let wire: Wire = serde_json::from_slice(&bytes).map_err(|_| CoreError::InvalidCursor)?;
    if wire.s != sort {
        return Err(CoreError::InvalidCursor);
    }
    let key = match (wire.n, wire.t) {
        (Some(n), None) => KeyValue::Int(n),
        (None, Some(t)) => KeyValue::Text(t),
        _ => return Err(CoreError::InvalidCursor),
    };
    Ok(After { key, id: wire.i })
}

/// The cursor of the page after `page`, when one follows: its last row's sort key and id.
pub fn next<T>(
    sort: &str,
    page: &custodian_store::page::Page<T>,
    key_and_id: impl FnOnce(&T) -> (KeyValue, Uuid),
) -> Option<String> {
    let last = page.items.last().filter(|_| page.has_more)?;
    let (key, id) = key_and_id(last);
    Some(encode(sort, &After { key, id }))
}

/// Page size bounds shared by every list.
pub const DEFAULT_PAGE_SIZE: u64 = 50;
pub const MAX_PAGE_SIZE: u64 = 200;

pub fn page_size(requested: Option<u64>) -> Result<u64, CoreError> {
    match requested {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
        Some(_) => Err(CoreError::Validation(vec![
            custodian_domain::FieldError::new(
                "limit",
                "out_of_range",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            ),
        ])),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip_and_rejects() {
        let after = After {
            key: KeyValue::Int(42),
            id: Uuid::nil(),
        };
        let c = encode("created", &after);
        assert_eq!(decode("created", &c).unwrap(), after);
        assert!(matches!(
            decode("updated", &c),
            Err(CoreError::InvalidCursor)
        ));
        assert!(matches!(
            decode("created", "!!!"),
            Err(CoreError::InvalidCursor)
        ));
        assert!(matches!(
            decode("created", "e30"),
            Err(CoreError::InvalidCursor)
        ));
        assert!(matches!(
            decode("created", &"a".repeat(2_000)),
            Err(CoreError::InvalidCursor)
        ));
        assert!(page_size(Some(0)).is_err());
        assert!(page_size(Some(201)).is_err());
        assert_eq!(page_size(None).unwrap(), 50);
    }
}
