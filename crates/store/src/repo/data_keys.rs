use super::*;

/// Many new keys at once (imports), to run before the rows that use them.
pub fn add_many(bulk: &mut BulkInsert, rows: Vec<data_key::Model>) {
    bulk.add::<data_key::Entity>(rows, 1_000);
}

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

pub async fn by_scope<C: ConnectionTrait>(c: &C, scope: &str) -> Result<Option<data_key::Model>> {
    Ok(data_key::Entity::find()
        .filter(data_key::Column::Scope.eq(scope))
        .filter(data_key::Column::DestroyedAt.is_null())
        .order_by_asc(data_key::Column::CreatedAt)
        .one(c)
        .await?)
}
