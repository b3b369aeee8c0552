//! Keyset (cursor) pagination: stable under concurrent inserts and O(page) per request, with no
//! COUNT over the table.

use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

/// The sort key value of the last row of a page, plus its id to break ties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyValue {
    Int(i64),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    pub key: KeyValue,
    pub id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Present when more rows follow.
    pub has_more: bool,
}
