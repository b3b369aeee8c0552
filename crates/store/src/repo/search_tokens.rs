use super::*;

/// Removes every blind-index token of one record.
pub async fn delete_for<C: ConnectionTrait>(c: &C, entity: &str, entity_id: Uuid) -> Result<()> {
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

/// Tokens of many new records at once (imports).
pub fn add_many(bulk: &mut BulkInsert, rows: Vec<search_token::Model>) {
    bulk.add::<search_token::Entity>(rows, 2_000);
}

/// A record carrying a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sea_orm::FromQueryResult)]
pub struct TokenHit {
    pub token: i64,
    pub entity_id: Uuid,
}

/// Every record carrying any of `tokens` in `field` (duplicate detection over many values at
/// once); candidates only, the caller confirms on the decrypted values.
pub async fn hits<C: ConnectionTrait>(
    c: &C,
    entity: &str,
    field: &str,
    tokens: &[i64],
) -> Result<Vec<TokenHit>> {
    let mut unique = tokens.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let mut out = Vec::new();
    for chunk in unique.chunks(900) {
        let rows = search_token::Entity::find()
            .select_only()
            .column(search_token::Column::Token)
            .column(search_token::Column::EntityId)
            .filter(search_token::Column::Entity.eq(entity))
            .filter(search_token::Column::Field.eq(field))
            .filter(search_token::Column::Token.is_in(chunk.iter().copied()))
            .into_model::<TokenHit>()
            .all(c)
            .await?;
        out.extend(rows);
    }
    Ok(out)
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
