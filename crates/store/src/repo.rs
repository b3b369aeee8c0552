//! Repositories: thin, parameterised queries over the entities. Every function takes any
//! connection or transaction, so use cases decide the transaction boundaries.

use crate::StoreError;
use crate::entities::*;
use crate::page::{After, Direction, KeyValue, Page};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, Order,
    QueryFilter, QueryOrder, QuerySelect, Select, Value,
};
use uuid::Uuid;

type Result<T> = std::result::Result<T, StoreError>;

/// Whether soft-deleted rows are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Deleted {
    #[default]
    Exclude,
    Only,
    Include,
}

fn key_value(v: &KeyValue) -> Value {
    match v {
        KeyValue::Int(i) => Value::from(*i),
        KeyValue::Text(s) => Value::from(s.clone()),
    }
}

/// Applies keyset pagination: rows strictly after `after` in (sort, id) order, one extra row
/// fetched to learn whether another page exists.
fn keyset<E: EntityTrait>(
    query: Select<E>,
    sort: E::Column,
    id: E::Column,
    direction: Direction,
    after: Option<&After>,
    limit: u64,
) -> Select<E> {
    let order = match direction {
        Direction::Asc => Order::Asc,
        Direction::Desc => Order::Desc,
    };
    let mut query = query;
    if let Some(after) = after {
        let k = key_value(&after.key);
        let cond = match direction {
            Direction::Asc => Condition::any()
                .add(sort.gt(k.clone()))
                .add(Condition::all().add(sort.eq(k)).add(id.gt(after.id))),
            Direction::Desc => Condition::any()
                .add(sort.lt(k.clone()))
                .add(Condition::all().add(sort.eq(k)).add(id.lt(after.id))),
        };
        query = query.filter(cond);
    }
    query
        .order_by(sort, order.clone())
        .order_by(id, order)
        .limit(limit.saturating_add(1))
}

fn into_page<T>(mut rows: Vec<T>, limit: u64) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    Page {
        items: rows,
        has_more,
    }
}

/// Writes `row` only if the stored version is still `expected_version` (`row` must already
/// carry the next version): the optimistic-concurrency write shared by every versioned record.
async fn write_if_version<E, C>(
    c: &C,
    row: E::Model,
    id: Uuid,
    (id_col, version_col): (E::Column, E::Column),
    expected_version: i64,
) -> Result<WriteOutcome>
where
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
    C: ConnectionTrait,
{
    let res = E::update_many()
        .set(row.into_active_model().reset_all())
        .filter(id_col.eq(id))
        .filter(version_col.eq(expected_version))
        .exec(c)
        .await?;
    outcome::<E, C>(c, res.rows_affected, id, (id_col, version_col)).await
}

/// Soft-deletes (`delete`) or restores a record in one statement, bumping its version:
/// `Written`, `Stale` when it is already in the wanted state, `NotFound` when it does not exist.
async fn set_deleted<E, C>(
    c: &C,
    id: Uuid,
    delete: bool,
    now: i64,
    (id_col, version_col, deleted_col, updated_col): (E::Column, E::Column, E::Column, E::Column),
) -> Result<WriteOutcome>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let state = if delete {
        deleted_col.is_null()
    } else {
        deleted_col.is_not_null()
    };
    let res = E::update_many()
        .col_expr(deleted_col, Expr::value(delete.then_some(now)))
        .col_expr(updated_col, Expr::value(now))
        .col_expr(version_col, Expr::col(version_col).add(1))
        .filter(id_col.eq(id))
        .filter(state)
        .exec(c)
        .await?;
    outcome::<E, C>(c, res.rows_affected, id, (id_col, version_col)).await
}

/// `Written` when the conditional update hit the row; otherwise whether the row exists at all
/// tells a lost race (`Stale`, with the version it is at now) from a missing record.
async fn outcome<E: EntityTrait, C: ConnectionTrait>(
    c: &C,
    rows_affected: u64,
    id: Uuid,
    (id_col, version_col): (E::Column, E::Column),
) -> Result<WriteOutcome> {
    use sea_orm::ModelTrait;
    if rows_affected == 1 {
        return Ok(WriteOutcome::Written);
    }
    Ok(match E::find().filter(id_col.eq(id)).one(c).await? {
        Some(row) => match row.get(version_col) {
            Value::BigInt(Some(current_version)) => WriteOutcome::Stale { current_version },
            _ => {
                return Err(
                    sea_orm::DbErr::Type("the version column is not a BIGINT".into()).into(),
                );
            }
        },
        None => WriteOutcome::NotFound,
    })
}

fn deleted_filter<E: EntityTrait>(
    query: Select<E>,
    column: E::Column,
    deleted: Deleted,
) -> Select<E> {
    match deleted {
        Deleted::Exclude => query.filter(column.is_null()),
        Deleted::Only => query.filter(column.is_not_null()),
        Deleted::Include => query,
    }
}

pub mod key_versions {
    use super::*;

    pub async fn all<C: ConnectionTrait>(c: &C) -> Result<Vec<key_version::Model>> {
        Ok(key_version::Entity::find().all(c).await?)
    }

    pub async fn insert<C: ConnectionTrait>(c: &C, row: key_version::Model) -> Result<()> {
        row.into_active_model().reset_all().insert(c).await?;
        Ok(())
    }
}

pub mod data_keys {
    use super::*;

    pub async fn insert<C: ConnectionTrait>(c: &C, row: data_key::Model) -> Result<()> {
        row.into_active_model().reset_all().insert(c).await?;
        Ok(())
    }

    pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<data_key::Model>> {
        Ok(data_key::Entity::find_by_id(id).one(c).await?)
    }

    pub async fn get_many<C: ConnectionTrait>(c: &C, ids: &[Uuid]) -> Result<Vec<data_key::Model>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(data_key::Entity::find()
            .filter(data_key::Column::Id.is_in(ids.iter().copied()))
            .all(c)
            .await?)
    }

    /// Crypto-shredding: drops the wrapped key material for good. Everything encrypted under
    /// the key becomes unreadable, on this database and in every backup taken from now on.
    pub async fn destroy<C: ConnectionTrait>(c: &C, id: Uuid, now: i64) -> Result<()> {
        data_key::Entity::update_many()
            .col_expr(
                data_key::Column::Wrapped,
                Expr::value(Option::<Vec<u8>>::None),
            )
            .col_expr(data_key::Column::DestroyedAt, Expr::value(now))
            .filter(data_key::Column::Id.eq(id))
            .exec(c)
            .await?;
        Ok(())
    }

    pub async fn by_scope<C: ConnectionTrait>(
        c: &C,
        scope: &str,
    ) -> Result<Option<data_key::Model>> {
        Ok(data_key::Entity::find()
            .filter(data_key::Column::Scope.eq(scope))
            .filter(data_key::Column::DestroyedAt.is_null())
            .order_by_asc(data_key::Column::CreatedAt)
            .one(c)
            .await?)
    }
}

pub mod users {
    use super::*;

    pub async fn insert<C: ConnectionTrait>(c: &C, row: user::Model) -> Result<()> {
        row.into_active_model().reset_all().insert(c).await?;
        Ok(())
    }

    pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<user::Model>> {
        Ok(user::Entity::find_by_id(id).one(c).await?)
    }

    pub async fn by_email_lookup<C: ConnectionTrait>(
        c: &C,
        lookup: &[u8],
    ) -> Result<Option<user::Model>> {
        Ok(user::Entity::find()
            .filter(user::Column::EmailLookup.eq(lookup.to_vec()))
            .one(c)
            .await?)
    }

    /// The oldest active user with `role`.
    pub async fn first_with_role<C: ConnectionTrait>(
        c: &C,
        role: &str,
        status: &str,
    ) -> Result<Option<user::Model>> {
        Ok(user::Entity::find()
            .filter(user::Column::Role.eq(role))
            .filter(user::Column::Status.eq(status))
            .order_by_asc(user::Column::CreatedAt)
            .one(c)
            .await?)
    }

    pub async fn count<C: ConnectionTrait>(c: &C) -> Result<u64> {
        use sea_orm::PaginatorTrait;
        Ok(user::Entity::find().count(c).await?)
    }

    pub async fn update<C: ConnectionTrait>(c: &C, row: user::Model) -> Result<()> {
        row.into_active_model().reset_all().update(c).await?;
        Ok(())
    }
}

pub mod sessions {
    use super::*;

    pub async fn insert<C: ConnectionTrait>(c: &C, row: session::Model) -> Result<()> {
        row.into_active_model().reset_all().insert(c).await?;
        Ok(())
    }

    pub async fn by_token_hash<C: ConnectionTrait>(
        c: &C,
        hash: &[u8],
    ) -> Result<Option<session::Model>> {
        Ok(session::Entity::find()
            .filter(session::Column::TokenHash.eq(hash.to_vec()))
            .one(c)
            .await?)
    }

    /// Records activity, but at most once per `min_interval_ms` so reads do not each cost a
    /// write.
    pub async fn touch<C: ConnectionTrait>(
        c: &C,
        id: Uuid,
        now: i64,
        min_interval_ms: i64,
    ) -> Result<()> {
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, Expr::value(now))
            .filter(session::Column::Id.eq(id))
            .filter(session::Column::LastSeenAt.lt(now - min_interval_ms))
            .exec(c)
            .await?;
        Ok(())
    }

    pub async fn revoke<C: ConnectionTrait>(c: &C, id: Uuid, now: i64) -> Result<bool> {
        let res = session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(now))
            .filter(session::Column::Id.eq(id))
            .filter(session::Column::RevokedAt.is_null())
            .exec(c)
            .await?;
        Ok(res.rows_affected > 0)
    }
}

pub mod api_tokens {
    use super::*;

    pub async fn insert<C: ConnectionTrait>(c: &C, row: api_token::Model) -> Result<()> {
        row.into_active_model().reset_all().insert(c).await?;
        Ok(())
    }

    pub async fn by_token_hash<C: ConnectionTrait>(
        c: &C,
        hash: &[u8],
    ) -> Result<Option<api_token::Model>> {
        Ok(api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(hash.to_vec()))
            .one(c)
            .await?)
    }

    pub async fn touch<C: ConnectionTrait>(
        c: &C,
        id: Uuid,
        now: i64,
        min_interval_ms: i64,
    ) -> Result<()> {
        api_token::Entity::update_many()
            .col_expr(api_token::Column::LastUsedAt, Expr::value(now))
            .filter(api_token::Column::Id.eq(id))
            .filter(
                Condition::any()
                    .add(api_token::Column::LastUsedAt.is_null())
                    .add(api_token::Column::LastUsedAt.lt(now - min_interval_ms)),
            )
            .exec(c)
            .await?;
        Ok(())
    }
}

pub mod setup_codes {
    use super::*;

    pub async fn insert<C: ConnectionTrait>(c: &C, row: setup_code::Model) -> Result<()> {
        row.into_active_model().reset_all().insert(c).await?;
        Ok(())
    }

    /// Marks an unused, unexpired code as used. Returns false if it was not (a replayed or
    /// expired code), atomically, so two concurrent uses cannot both succeed.
    pub async fn consume<C: ConnectionTrait>(
        c: &C,
        hash: &[u8],
        purpose: &str,
        now: i64,
    ) -> Result<bool> {
        let res = setup_code::Entity::update_many()
            .col_expr(setup_code::Column::UsedAt, Expr::value(now))
            .filter(setup_code::Column::CodeHash.eq(hash.to_vec()))
            .filter(setup_code::Column::Purpose.eq(purpose))
            .filter(setup_code::Column::UsedAt.is_null())
            .filter(setup_code::Column::ExpiresAt.gt(now))
            .exec(c)
            .await?;
        Ok(res.rows_affected == 1)
    }

    pub async fn is_valid<C: ConnectionTrait>(
        c: &C,
        hash: &[u8],
        purpose: &str,
        now: i64,
    ) -> Result<bool> {
        Ok(setup_code::Entity::find()
            .filter(setup_code::Column::CodeHash.eq(hash.to_vec()))
            .filter(setup_code::Column::Purpose.eq(purpose))
            .filter(setup_code::Column::UsedAt.is_null())
            .filter(setup_code::Column::ExpiresAt.gt(now))
            .one(c)
            .await?
            .is_some())
    }

    pub async fn invalidate_purpose<C: ConnectionTrait>(
        c: &C,
        purpose: &str,
        now: i64,
    ) -> Result<()> {
        setup_code::Entity::update_many()
            .col_expr(setup_code::Column::UsedAt, Expr::value(now))
            .filter(setup_code::Column::Purpose.eq(purpose))
            .filter(setup_code::Column::UsedAt.is_null())
            .exec(c)
            .await?;
        Ok(())
    }
}

pub mod tags {
    use super::*;

    /// Replaces the tags of one record.
    pub async fn replace<C: ConnectionTrait>(
        c: &C,
        entity: &str,
        entity_id: Uuid,
        tags: &[String],
    ) -> Result<()> {
        record_tag::Entity::delete_many()
            .filter(record_tag::Column::Entity.eq(entity))
            .filter(record_tag::Column::EntityId.eq(entity_id))
            .exec(c)
            .await?;
        insert_new(c, entity, entity_id, tags).await
    }

    /// Tags of a record that has none yet (a new record): one insert, no delete.
    pub async fn insert_new<C: ConnectionTrait>(
        c: &C,
        entity: &str,
        entity_id: Uuid,
        tags: &[String],
    ) -> Result<()> {
        if tags.is_empty() {
            return Ok(());
        }
        let rows = tags.iter().map(|tag| {
            record_tag::Model {
                entity: entity.to_owned(),
                tag: tag.clone(),
                entity_id,
            }
            .into_active_model()
            .reset_all()
        });
        record_tag::Entity::insert_many(rows).exec(c).await?;
        Ok(())
    }

    pub(crate) fn has_tag_condition(
        entity: &str,
        tag: &str,
        id_col: impl sea_orm::IntoSimpleExpr,
    ) -> Expr {
        let sub = sea_orm::sea_query::Query::select()
            .column(record_tag::Column::EntityId)
            .from(record_tag::Entity)
            .and_where(record_tag::Column::Entity.eq(entity))
            .and_where(record_tag::Column::Tag.eq(tag))
            .to_owned();
        id_col.into_simple_expr().in_subquery(sub)
    }
}

pub mod search_tokens {
    use super::*;

    /// Removes every blind-index token of one record.
    pub async fn delete_for<C: ConnectionTrait>(
        c: &C,
        entity: &str,
        entity_id: Uuid,
    ) -> Result<()> {
        search_token::Entity::delete_many()
            .filter(search_token::Column::Entity.eq(entity))
            .filter(search_token::Column::EntityId.eq(entity_id))
            .exec(c)
            .await?;
        Ok(())
    }

    /// Replaces every blind-index token of one record: one delete, one insert.
    pub async fn replace<C: ConnectionTrait>(
        c: &C,
        entity: &str,
        entity_id: Uuid,
        index_version: i64,
        fields: &[(&str, Vec<i64>)],
    ) -> Result<()> {
        search_token::Entity::delete_many()
            .filter(search_token::Column::Entity.eq(entity))
            .filter(search_token::Column::EntityId.eq(entity_id))
            .exec(c)
            .await?;
        insert_new(c, entity, entity_id, index_version, fields).await
    }

    /// Tokens of a new record, all fields in one insert.
    pub async fn insert_new<C: ConnectionTrait>(
        c: &C,
        entity: &str,
        entity_id: Uuid,
        index_version: i64,
        fields: &[(&str, Vec<i64>)],
    ) -> Result<()> {
        let mut rows = Vec::new();
        for (field, tokens) in fields {
            let mut unique = tokens.clone();
            unique.sort_unstable();
            unique.dedup();
            rows.extend(unique.into_iter().map(|token| {
                search_token::Model {
                    entity: entity.to_owned(),
                    field: (*field).to_owned(),
                    token,
                    entity_id,
                    index_version,
                }
                .into_active_model()
                .reset_all()
            }));
        }
        if !rows.is_empty() {
            search_token::Entity::insert_many(rows).exec(c).await?;
        }
        Ok(())
    }

    /// Records that carry every one of `tokens` in `field`: candidates only, since truncated
    /// tokens collide by design; the caller decrypts and confirms.
    pub async fn candidates<C: ConnectionTrait>(
        c: &C,
        entity: &str,
        field: &str,
        tokens: &[i64],
        cap: u64,
    ) -> Result<Vec<Uuid>> {
        let mut unique = tokens.to_vec();
        unique.sort_unstable();
        unique.dedup();
        if unique.is_empty() {
            return Ok(Vec::new());
        }
        let needed = i64::try_from(unique.len()).unwrap_or(i64::MAX);
        let ids: Vec<Uuid> = search_token::Entity::find()
            .select_only()
            .column(search_token::Column::EntityId)
            .filter(search_token::Column::Entity.eq(entity))
            .filter(search_token::Column::Field.eq(field))
            .filter(search_token::Column::Token.is_in(unique))
            .group_by(search_token::Column::EntityId)
            .having(ExprTrait::eq(
                Expr::expr(Func::count_distinct(Expr::col(search_token::Column::Token))),
                needed,
            ))
            .order_by_desc(search_token::Column::EntityId)
            .limit(cap)
            .into_tuple()
            .all(c)
            .await?;
        Ok(ids)
    }
}

/// Result of a version-checked update or state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// The row exists but its version moved on (someone else wrote first), or it already was
    /// in the state asked for.
    Stale {
        current_version: i64,
    },
    NotFound,
}

pub mod contacts {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Sort {
        Created,
        Updated,
    }

    #[derive(Debug, Clone, Default)]
    pub struct Filter {
        pub owner_id: Option<Uuid>,
        pub team: Option<String>,
        pub company_id: Option<Uuid>,
        pub tag: Option<String>,
        pub deleted: Deleted,
        /// Restrict to these ids (search results).
        pub ids: Option<Vec<Uuid>>,
    }

    pub async fn insert<C: ConnectionTrait>(c: &C, row: contact::Model) -> Result<()> {
        row.into_active_model().reset_all().insert(c).await?;
        Ok(())
    }

    pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<contact::Model>> {
        Ok(contact::Entity::find_by_id(id).one(c).await?)
    }

    pub async fn get_many<C: ConnectionTrait>(c: &C, ids: &[Uuid]) -> Result<Vec<contact::Model>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(contact::Entity::find()
            .filter(contact::Column::Id.is_in(ids.iter().copied()))
            .all(c)
            .await?)
    }

    pub async fn update_versioned<C: ConnectionTrait>(
        c: &C,
        row: contact::Model,
        expected_version: i64,
    ) -> Result<WriteOutcome> {
        let id = row.id;
        let columns = (contact::Column::Id, contact::Column::Version);
        write_if_version::<contact::Entity, _>(c, row, id, columns, expected_version).await
    }

    /// Soft delete (`delete = true`) or restore; `Stale` means it already was in that state.
    pub async fn set_deleted<C: ConnectionTrait>(
        c: &C,
        id: Uuid,
        delete: bool,
        now: i64,
    ) -> Result<WriteOutcome> {
        use contact::Column as Col;
        let columns = (Col::Id, Col::Version, Col::DeletedAt, Col::UpdatedAt);
        super::set_deleted::<contact::Entity, _>(c, id, delete, now, columns).await
    }

    pub async fn list<C: ConnectionTrait>(
        c: &C,
        filter: &Filter,
        sort: Sort,
        direction: Direction,
        after: Option<&After>,
        limit: u64,
    ) -> Result<Page<contact::Model>> {
        use contact::Column as Col;
        let mut q = deleted_filter(contact::Entity::find(), Col::DeletedAt, filter.deleted);
        if let Some(owner) = filter.owner_id {
            q = q.filter(Col::OwnerId.eq(owner));
        }
        if let Some(team) = &filter.team {
            q = q.filter(Col::Team.eq(team.clone()));
        }
        if let Some(company) = filter.company_id {
            q = q.filter(Col::CompanyId.eq(company));
        }
        if let Some(tag) = &filter.tag {
            q = q.filter(tags::has_tag_condition("contact", tag, Col::Id));
        }
        if let Some(ids) = &filter.ids {
            q = q.filter(Col::Id.is_in(ids.iter().copied()));
        }
        let sort_col = match sort {
            Sort::Created => Col::CreatedAt,
            Sort::Updated => Col::UpdatedAt,
        };
        let rows = keyset(q, sort_col, Col::Id, direction, after, limit)
            .all(c)
            .await?;
        Ok(into_page(rows, limit))
    }
}

pub mod companies {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Sort {
        Created,
        Updated,
        Name,
    }

    #[derive(Debug, Clone, Default)]
    pub struct Filter {
        pub owner_id: Option<Uuid>,
        pub industry: Option<String>,
        pub size_band: Option<String>,
        pub region: Option<String>,
        pub tag: Option<String>,
        /// Case-insensitive prefix of the (non-personal) company name.
        pub name_prefix: Option<String>,
        pub deleted: Deleted,
    }

    pub async fn insert<C: ConnectionTrait>(c: &C, row: company::Model) -> Result<()> {
        row.into_active_model().reset_all().insert(c).await?;
        Ok(())
    }

    pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<company::Model>> {
        Ok(company::Entity::find_by_id(id).one(c).await?)
    }

    pub async fn get_many<C: ConnectionTrait>(c: &C, ids: &[Uuid]) -> Result<Vec<company::Model>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(company::Entity::find()
            .filter(company::Column::Id.is_in(ids.iter().copied()))
            .all(c)
            .await?)
    }

    pub async fn update_versioned<C: ConnectionTrait>(
        c: &C,
        row: company::Model,
        expected_version: i64,
    ) -> Result<WriteOutcome> {
        let id = row.id;
        let columns = (company::Column::Id, company::Column::Version);
        write_if_version::<company::Entity, _>(c, row, id, columns, expected_version).await
    }

    /// Soft delete (`delete = true`) or restore; `Stale` means it already was in that state.
    pub async fn set_deleted<C: ConnectionTrait>(
        c: &C,
        id: Uuid,
        delete: bool,
        now: i64,
    ) -> Result<WriteOutcome> {
        use company::Column as Col;
        let columns = (Col::Id, Col::Version, Col::DeletedAt, Col::UpdatedAt);
        super::set_deleted::<company::Entity, _>(c, id, delete, now, columns).await
    }

    pub async fn list<C: ConnectionTrait>(
        c: &C,
        filter: &Filter,
        sort: Sort,
        direction: Direction,
        after: Option<&After>,
        limit: u64,
    ) -> Result<Page<company::Model>> {
        use company::Column as Col;
        let mut q = deleted_filter(company::Entity::find(), Col::DeletedAt, filter.deleted);
        if let Some(owner) = filter.owner_id {
            q = q.filter(Col::OwnerId.eq(owner));
        }
        if let Some(v) = &filter.industry {
            q = q.filter(Col::Industry.eq(v.clone()));
        }
        if let Some(v) = &filter.size_band {
            q = q.filter(Col::SizeBand.eq(v.clone()));
        }
        if let Some(v) = &filter.region {
            q = q.filter(Col::Region.eq(v.clone()));
        }
        if let Some(tag) = &filter.tag {
            q = q.filter(tags::has_tag_condition("company", tag, Col::Id));
        }
        if let Some(prefix) = &filter.name_prefix {
            // Range scan on the lower-cased name index instead of LIKE, so `%` and `_` in user
            // input mean nothing special.
            let upper = format!("{prefix}\u{10FFFF}");
            q = q
                .filter(Col::NameSort.gte(prefix.clone()))
                .filter(Col::NameSort.lt(upper));
        }
        let sort_col = match sort {
            Sort::Created => Col::CreatedAt,
            Sort::Updated => Col::UpdatedAt,
            Sort::Name => Col::NameSort,
        };
        let rows = keyset(q, sort_col, Col::Id, direction, after, limit)
            .all(c)
            .await?;
        Ok(into_page(rows, limit))
    }
}

pub mod pipelines {
    use super::*;

    pub async fn insert<C: ConnectionTrait>(c: &C, row: pipeline::Model) -> Result<()> {
        row.into_active_model().reset_all().insert(c).await?;
        Ok(())
    }

    pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<pipeline::Model>> {
        Ok(pipeline::Entity::find_by_id(id).one(c).await?)
    }

    /// All pipelines in display order (an organisation has a handful).
    pub async fn all<C: ConnectionTrait>(c: &C) -> Result<Vec<pipeline::Model>> {
        Ok(pipeline::Entity::find()
            .order_by_asc(pipeline::Column::Position)
            .order_by_asc(pipeline::Column::Id)
            .all(c)
            .await?)
    }

    pub async fn next_position<C: ConnectionTrait>(c: &C) -> Result<i64> {
        let last = pipeline::Entity::find()
            .order_by_desc(pipeline::Column::Position)
            .one(c)
            .await?;
        Ok(last.map_or(0, |p| p.position + 1))
    }

    pub async fn update_versioned<C: ConnectionTrait>(
        c: &C,
        row: pipeline::Model,
        expected_version: i64,
    ) -> Result<WriteOutcome> {
        let id = row.id;
        let columns = (pipeline::Column::Id, pipeline::Column::Version);
        write_if_version::<pipeline::Entity, _>(c, row, id, columns, expected_version).await
    }

    /// Stages of the given pipelines, ordered by pipeline then position.
    pub async fn stages<C: ConnectionTrait>(
        c: &C,
        pipeline_ids: &[Uuid],
    ) -> Result<Vec<pipeline_stage::Model>> {
        if pipeline_ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(pipeline_stage::Entity::find()
            .filter(pipeline_stage::Column::PipelineId.is_in(pipeline_ids.iter().copied()))
            .order_by_asc(pipeline_stage::Column::PipelineId)
            .order_by_asc(pipeline_stage::Column::Position)
            .all(c)
            .await?)
    }

    pub async fn stage<C: ConnectionTrait>(
        c: &C,
        id: Uuid,
    ) -> Result<Option<pipeline_stage::Model>> {
        Ok(pipeline_stage::Entity::find_by_id(id).one(c).await?)
    }

    pub async fn insert_stage<C: ConnectionTrait>(c: &C, row: pipeline_stage::Model) -> Result<()> {
        row.into_active_model().reset_all().insert(c).await?;
        Ok(())
    }

    pub async fn update_stage<C: ConnectionTrait>(c: &C, row: pipeline_stage::Model) -> Result<()> {
        row.into_active_model().reset_all().update(c).await?;
        Ok(())
    }

    pub async fn delete_stage<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<()> {
        pipeline_stage::Entity::delete_by_id(id).exec(c).await?;
        Ok(())
    }
}

pub mod deals {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Sort {
        Created,
        Updated,
        Title,
    }

    #[derive(Debug, Clone, Default)]
    pub struct Filter {
        pub pipeline_id: Option<Uuid>,
        pub stage_id: Option<Uuid>,
        pub status: Option<String>,
        pub owner_id: Option<Uuid>,
        pub company_id: Option<Uuid>,
        pub contact_id: Option<Uuid>,
        /// Inclusive `YYYY-MM-DD` bounds on the expected close date.
        pub close_from: Option<String>,
        pub close_to: Option<String>,
        pub title_prefix: Option<String>,
        pub deleted: Deleted,
    }

    pub async fn insert<C: ConnectionTrait>(c: &C, row: deal::Model) -> Result<()> {
        row.into_active_model().reset_all().insert(c).await?;
        Ok(())
    }

    pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<deal::Model>> {
        Ok(deal::Entity::find_by_id(id).one(c).await?)
    }

    pub async fn update_versioned<C: ConnectionTrait>(
        c: &C,
        row: deal::Model,
        expected_version: i64,
    ) -> Result<WriteOutcome> {
        let id = row.id;
        let columns = (deal::Column::Id, deal::Column::Version);
        write_if_version::<deal::Entity, _>(c, row, id, columns, expected_version).await
    }

    pub async fn set_deleted<C: ConnectionTrait>(
        c: &C,
        id: Uuid,
        delete: bool,
        now: i64,
    ) -> Result<WriteOutcome> {
        use deal::Column as Col;
        let columns = (Col::Id, Col::Version, Col::DeletedAt, Col::UpdatedAt);
        super::set_deleted::<deal::Entity, _>(c, id, delete, now, columns).await
    }

    /// Whether any deal (deleted ones included: they can be restored) sits in the stage.
    pub async fn stage_in_use<C: ConnectionTrait>(c: &C, stage_id: Uuid) -> Result<bool> {
        Ok(deal::Entity::find()
            .filter(deal::Column::StageId.eq(stage_id))
            .one(c)
            .await?
            .is_some())
    }

    pub async fn list<C: ConnectionTrait>(
        c: &C,
        filter: &Filter,
        sort: Sort,
        direction: Direction,
        after: Option<&After>,
        limit: u64,
    ) -> Result<Page<deal::Model>> {
        use deal::Column as Col;
        let mut q = deleted_filter(deal::Entity::find(), Col::DeletedAt, filter.deleted);
        let eq_filters = [
            (Col::PipelineId, filter.pipeline_id),
            (Col::StageId, filter.stage_id),
            (Col::OwnerId, filter.owner_id),
            (Col::CompanyId, filter.company_id),
            (Col::ContactId, filter.contact_id),
        ];
        for (column, value) in eq_filters {
            if let Some(v) = value {
                q = q.filter(column.eq(v));
            }
        }
        if let Some(status) = &filter.status {
            q = q.filter(Col::Status.eq(status.clone()));
        }
        if let Some(from) = &filter.close_from {
            q = q.filter(Col::ExpectedCloseOn.gte(from.clone()));
        }
        if let Some(to) = &filter.close_to {
            q = q.filter(Col::ExpectedCloseOn.lte(to.clone()));
        }
        if let Some(prefix) = &filter.title_prefix {
            let upper = format!("{prefix}\u{10FFFF}");
            q = q
                .filter(Col::TitleSort.gte(prefix.clone()))
                .filter(Col::TitleSort.lt(upper));
        }
        let sort_col = match sort {
            Sort::Created => Col::CreatedAt,
            Sort::Updated => Col::UpdatedAt,
            Sort::Title => Col::TitleSort,
        };
        let rows = keyset(q, sort_col, Col::Id, direction, after, limit)
            .all(c)
            .await?;
        Ok(into_page(rows, limit))
    }

    /// Open deals of one stage in one currency (`None`: deals without an amount).
    #[derive(Debug, Clone, PartialEq, Eq, sea_orm::FromQueryResult)]
    pub struct StageTotal {
        pub stage_id: Uuid,
        pub currency: Option<String>,
        pub deals: i64,
        pub amount: i64,
    }

    /// Open, undeleted deals of a pipeline: count and amount per stage and currency, for the
    /// board's column headers and the dashboard.
    pub async fn open_totals<C: ConnectionTrait>(
        c: &C,
        pipeline_id: Uuid,
    ) -> Result<Vec<StageTotal>> {
        use deal::Column as Col;
        // SUM over BIGINT is NUMERIC on PostgreSQL; cast back so both backends return i64.
        // Decoded by column name, not position: see CONTRIBUTING ("multi-column selects").
        Ok(deal::Entity::find()
            .select_only()
            .column(Col::StageId)
            .column(Col::Currency)
            .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "deals")
            .column_as(
                Expr::cust("CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT)"),
                "amount",
            )
            .filter(Col::PipelineId.eq(pipeline_id))
            .filter(Col::Status.eq("open"))
            .filter(Col::DeletedAt.is_null())
            .group_by(Col::StageId)
            .group_by(Col::Currency)
            .into_model::<StageTotal>()
            .all(c)
            .await?)
    }
}

pub mod deal_history {
    use super::*;

    pub async fn insert<C: ConnectionTrait>(c: &C, row: deal_stage_change::Model) -> Result<()> {
        row.into_active_model().reset_all().insert(c).await?;
        Ok(())
    }

    /// Newest first, keyset-paginated on (changed_at, id).
    pub async fn page<C: ConnectionTrait>(
        c: &C,
        deal_id: Uuid,
        after: Option<&After>,
        limit: u64,
    ) -> Result<Page<deal_stage_change::Model>> {
        use deal_stage_change::Column as Col;
        let q = deal_stage_change::Entity::find().filter(Col::DealId.eq(deal_id));
        let rows = keyset(q, Col::ChangedAt, Col::Id, Direction::Desc, after, limit)
            .all(c)
            .await?;
        Ok(into_page(rows, limit))
    }
}

pub mod leads {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Sort {
        Created,
        Updated,
        Score,
    }

    #[derive(Debug, Clone, Default)]
    pub struct Filter {
        pub status: Option<String>,
        pub source: Option<String>,
        pub owner_id: Option<Uuid>,
        pub min_score: Option<i64>,
        /// Restricts to these ids (blind-index candidates), when given.
        pub ids: Option<Vec<Uuid>>,
        pub deleted: Deleted,
    }

    pub async fn insert<C: ConnectionTrait>(c: &C, row: lead::Model) -> Result<()> {
        row.into_active_model().reset_all().insert(c).await?;
        Ok(())
    }

    pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<lead::Model>> {
        Ok(lead::Entity::find_by_id(id).one(c).await?)
    }

    pub async fn get_many<C: ConnectionTrait>(c: &C, ids: &[Uuid]) -> Result<Vec<lead::Model>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(lead::Entity::find()
            .filter(lead::Column::Id.is_in(ids.iter().copied()))
            .all(c)
            .await?)
    }

    pub async fn update_versioned<C: ConnectionTrait>(
        c: &C,
        row: lead::Model,
        expected_version: i64,
    ) -> Result<WriteOutcome> {
        let id = row.id;
        let columns = (lead::Column::Id, lead::Column::Version);
        write_if_version::<lead::Entity, _>(c, row, id, columns, expected_version).await
    }

    pub async fn set_deleted<C: ConnectionTrait>(
        c: &C,
        id: Uuid,
        delete: bool,
        now: i64,
    ) -> Result<WriteOutcome> {
        use lead::Column as Col;
        let columns = (Col::Id, Col::Version, Col::DeletedAt, Col::UpdatedAt);
        super::set_deleted::<lead::Entity, _>(c, id, delete, now, columns).await
    }

    pub async fn list<C: ConnectionTrait>(
        c: &C,
        filter: &Filter,
        sort: Sort,
        direction: Direction,
        after: Option<&After>,
        limit: u64,
    ) -> Result<Page<lead::Model>> {
        use lead::Column as Col;
        let mut q = deleted_filter(lead::Entity::find(), Col::DeletedAt, filter.deleted);
        if let Some(status) = &filter.status {
            q = q.filter(Col::Status.eq(status.clone()));
        }
        if let Some(source) = &filter.source {
            q = q.filter(Col::Source.eq(source.clone()));
        }
        if let Some(owner) = filter.owner_id {
            q = q.filter(Col::OwnerId.eq(owner));
        }
        if let Some(min) = filter.min_score {
            q = q.filter(Col::Score.gte(min));
        }
        if let Some(ids) = &filter.ids {
            q = q.filter(Col::Id.is_in(ids.iter().copied()));
        }
        let sort_col = match sort {
            Sort::Created => Col::CreatedAt,
            Sort::Updated => Col::UpdatedAt,
            Sort::Score => Col::Score,
        };
        let rows = keyset(q, sort_col, Col::Id, direction, after, limit)
            .all(c)
            .await?;
        Ok(into_page(rows, limit))
    }
}
