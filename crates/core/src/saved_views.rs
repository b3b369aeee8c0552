//! Saved views: a user's named filters of the contact, company, deal and lead lists, private
//! to that user. A view stores the list's filter as a canonical query string of an allow-list
//! of non-personal parameters per list (owner, tag, status, pipeline, sort…); searches by
//! e-mail, phone or name are never saved, because they would keep personal data in plain
//! text. The name is the user's own words and is encrypted under the organisation key.

use crate::{Actor, Core, CoreError};
use custodian_domain::FieldError;
use custodian_domain::clock::from_millis;
use custodian_domain::error::Validator;
use custodian_domain::ids::uuid_at;
use custodian_store::entities::saved_view;
use custodian_store::repo;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

const TABLE: &str = "saved_views";
const ENTITY: &str = "saved view";
/// Most views per user and list.
pub const MAX_VIEWS_PER_LIST: u64 = 50;
const MAX_NAME_CHARS: usize = 100;
const MAX_VALUE_CHARS: usize = 200;

/// The lists that can have saved views, and the filter parameters each may keep (as the API
/// and the list pages name them; the deal list page says `pipeline`/`stage` for the API's
/// `pipeline_id`/`stage_id`).
const LISTS: &[(&str, &[&str])] = &[
    (
        "contacts",
        &[
            "owner_id",
            "team",
            "company_id",
            "tag",
            "sort",
            "deleted",
            "do_not_contact",
            "dnc",
            "cf_key",
            "cf_value",
        ],
    ),
    (
        "companies",
        &[
            "owner_id", "industry", "size", "region", "tag", "q", "sort", "deleted",
        ],
    ),
    (
        "deals",
        &[
            "pipeline_id",
            "stage_id",
            "pipeline",
            "stage",
            "status",
            "owner_id",
            "company_id",
            "contact_id",
            "close_from",
            "close_to",
            "q",
            "sort",
            "deleted",
        ],
    ),
    (
        "leads",
        &[
            "status",
            "source",
            "owner_id",
            "min_score",
            "sort",
            "deleted",
        ],
    ),
];

fn allowed(entity: &str) -> Option<&'static [&'static str]> {
    LISTS.iter().find(|(e, _)| *e == entity).map(|(_, p)| *p)
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedViewInput {
    /// contacts, companies, deals or leads
    pub entity: String,
    pub name: String,
    /// The list's filter parameters, e.g. `{"status": "open", "sort": "-updated"}`.
    #[serde(default)]
    pub filters: BTreeMap<String, String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedViewPatch {
    pub version: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub filters: Option<BTreeMap<String, String>>,
    /// Order among the user's views of the same list.
    #[serde(default)]
    pub position: Option<i64>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize)]
pub struct SavedView {
    pub id: Uuid,
    pub entity: String,
    pub name: String,
    pub filters: BTreeMap<String, String>,
    /// The filters as a query string for the list (`status=open&sort=-updated`).
    pub query: String,
    pub position: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: time::OffsetDateTime,
    pub version: i64,
}

crate::redacted_debug!(SavedViewInput, SavedViewPatch, SavedView);

fn encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = value.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Parses a list's query string into filters (used by the UI's "save this view").
pub fn filters_from_query(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some((decode(k)?, decode(v)?))
        })
        .filter(|(_, v)| !v.trim().is_empty())
        .collect()
}

/// Checks the list and its filters; returns the canonical query string.
fn canonical_query(
    v: &mut Validator,
    entity: &str,
    filters: &BTreeMap<String, String>,
) -> Option<String> {
    let Some(params) = allowed(entity) else {
        v.push(FieldError::new(
            "entity",
            "invalid_entity",
            "must be one of: contacts, companies, deals, leads",
        ));
        return None;
    };
    let mut parts = Vec::new();
    for (key, value) in filters {
        let field = format!("filters.{key}");
        if ["email", "phone", "name"].contains(&key.as_str()) {
            v.push(FieldError::new(
                field,
                "personal_filter",
                "searches by e-mail, phone or name are not saved in views (they would keep personal data)",
            ));
        } else if !params.contains(&key.as_str()) {
            v.push(FieldError::new(
                field,
                "unknown_filter",
                format!("{entity} cannot be filtered by this"),
            ));
        } else if value.chars().count() > MAX_VALUE_CHARS || value.chars().any(char::is_control) {
            v.push(FieldError::new(
                field,
                "invalid_filter",
                "must be at most 200 characters without control characters",
            ));
        } else if !value.trim().is_empty() {
            parts.push(format!("{}={}", encode(key), encode(value.trim())));
        }
    }
    Some(parts.join("&"))
}

fn parse_name(v: &mut Validator, raw: &str) -> Option<String> {
    let name = raw.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        v.push(FieldError::new(
            "name",
            "invalid_view_name",
            "give the view a name of at most 100 characters",
        ));
        return None;
    }
    Some(name.to_owned())
}

impl Core {
    /// The signed-in user's views, of one list or of all.
    pub async fn saved_views(
        &self,
        actor: &Actor,
        entity: Option<&str>,
    ) -> Result<Vec<SavedView>, CoreError> {
        if let Some(entity) = entity
            && allowed(entity).is_none()
        {
            return Err(FieldError::new(
                "entity",
                "invalid_entity",
                "must be one of: contacts, companies, deals, leads",
            )
            .into());
        }
        let conn = self.store().conn();
        let rows = repo::saved_views::of_user(conn, actor.user_id.as_uuid(), entity).await?;
        let key = self.keys().org_key(conn).await?;
        rows.iter().map(|row| self.saved_view(&key, row)).collect()
    }

    pub async fn create_saved_view(
        &self,
        actor: &Actor,
        input: SavedViewInput,
    ) -> Result<SavedView, CoreError> {
        let mut v = Validator::new();
        let name = parse_name(&mut v, &input.name);
        let query = canonical_query(&mut v, &input.entity, &input.filters);
        v.finish()?;
        let (Some(name), Some(query)) = (name, query) else {
            return Err(CoreError::Internal("validated view missing"));
        };
        let user = actor.user_id.as_uuid();
        let now = self.now();
        let txn = self.store().begin().await?;
        let existing = repo::saved_views::count(&txn, user, &input.entity).await?;
        if existing >= MAX_VIEWS_PER_LIST {
            return Err(CoreError::Rule {
                code: "too_many_views",
                message: "you have 50 saved views of this list; delete one first",
            });
        }
        let key = self.keys().org_key(&txn).await?;
        let id = uuid_at(now);
        let row = saved_view::Model {
            id,
            user_id: user,
            entity: input.entity,
            name_ct: self
                .keys()
                .encrypt(&key, TABLE, "name", id, name.as_bytes(), self.rng())?,
            query,
            position: i64::try_from(existing).unwrap_or(i64::MAX),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        repo::saved_views::insert(&txn, row.clone()).await?;
        txn.commit().await?;
        self.saved_view(&key, &row)
    }

    pub async fn update_saved_view(
        &self,
        actor: &Actor,
        id: Uuid,
        patch: SavedViewPatch,
    ) -> Result<SavedView, CoreError> {
        let user = actor.user_id.as_uuid();
        let conn = self.store().conn();
        let existing = repo::saved_views::get_own(conn, user, id)
            .await?
            .ok_or(CoreError::NotFound { entity: ENTITY })?;
        if existing.version != patch.version {
            return Err(CoreError::StaleVersion {
                current_version: existing.version,
            });
        }
        let key = self.keys().org_key(conn).await?;
        let mut v = Validator::new();
        let mut row = existing.clone();
        if let Some(name) = patch.name.as_deref().and_then(|n| parse_name(&mut v, n)) {
            row.name_ct =
                self.keys()
                    .encrypt(&key, TABLE, "name", id, name.as_bytes(), self.rng())?;
        }
        if let Some(filters) = &patch.filters
            && let Some(query) = canonical_query(&mut v, &existing.entity, filters)
        {
            row.query = query;
        }
        if let Some(position) = patch.position {
            row.position = position.clamp(0, 10_000);
        }
        v.finish()?;
        row.updated_at = self.now().max(existing.updated_at);
        row.version = existing.version + 1;
        let txn = self.store().begin().await?;
        crate::versioned_write(
            ENTITY,
            repo::saved_views::update_versioned(&txn, row.clone(), existing.version).await?,
        )?;
        txn.commit().await?;
        self.saved_view(&key, &row)
    }

    pub async fn delete_saved_view(&self, actor: &Actor, id: Uuid) -> Result<(), CoreError> {
        let txn = self.store().begin().await?;
        if !repo::saved_views::delete_own(&txn, actor.user_id.as_uuid(), id).await? {
            return Err(CoreError::NotFound { entity: ENTITY });
        }
        txn.commit().await?;
        Ok(())
    }

    fn saved_view(
        &self,
        key: &custodian_crypto::envelope::DataKey,
        row: &saved_view::Model,
    ) -> Result<SavedView, CoreError> {
        Ok(SavedView {
            id: row.id,
            entity: row.entity.clone(),
            name: self
                .keys()
                .decrypt_string(key, TABLE, "name", row.id, &row.name_ct)?,
            filters: filters_from_query(&row.query),
            query: row.query.clone(),
            position: row.position,
            updated_at: from_millis(row.updated_at),
            version: row.version,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn filters_round_trip_through_the_canonical_query() {
        let filters: BTreeMap<String, String> = [
            ("status".to_owned(), "open".to_owned()),
            ("q".to_owned(), "Valve & pump 阀门".to_owned()),
        ]
        .into();
        let mut v = Validator::new();
        let query = canonical_query(&mut v, "deals", &filters).unwrap();
        assert!(v.finish().is_ok());
        assert_eq!(filters_from_query(&query), filters);
        assert!(!query.contains(' ') && !query.contains('阀'));
    }

    #[test]
    fn personal_and_unknown_filters_are_refused() {
        let filters: BTreeMap<String, String> = [
            ("email".to_owned(), "a@b.cn".to_owned()),
            ("colour".to_owned(), "blue".to_owned()),
        ]
        .into();
        let mut v = Validator::new();
        canonical_query(&mut v, "contacts", &filters);
        let Err(custodian_domain::DomainError::Invalid(errors)) = v.finish() else {
            panic!("expected errors");
        };
        let codes: Vec<_> = errors.iter().map(|e| e.code).collect();
        assert_eq!(codes, ["unknown_filter", "personal_filter"]);
        let mut v = Validator::new();
        assert!(canonical_query(&mut v, "secrets", &BTreeMap::new()).is_none());
    }
}
