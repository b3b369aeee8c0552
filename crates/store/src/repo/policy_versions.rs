use super::*;

/// The version in force: the highest active one (`None`: the built-in defaults).
pub async fn active_version<C: ConnectionTrait>(c: &C) -> Result<Option<i64>> {
    use policy_version::Column as Col;
    Ok(policy_version::Entity::find()
        .select_only()
        .column(Col::Version)
        .filter(Col::Status.eq("active"))
        .order_by_desc(Col::Version)
        .limit(1)
        .into_tuple::<i64>()
        .one(c)
        .await?)
}

pub async fn get<C: ConnectionTrait>(c: &C, version: i64) -> Result<Option<policy_version::Model>> {
    Ok(policy_version::Entity::find_by_id(version).one(c).await?)
}

/// The next free version number.
pub async fn next_version<C: ConnectionTrait>(c: &C) -> Result<i64> {
    use policy_version::Column as Col;
    let last = policy_version::Entity::find()
        .select_only()
        .column(Col::Version)
        .order_by_desc(Col::Version)
        .limit(1)
        .into_tuple::<i64>()
        .one(c)
        .await?;
    Ok(last.unwrap_or(0) + 1)
}

pub async fn insert<C: ConnectionTrait>(c: &C, row: policy_version::Model) -> Result<()> {
    row.into_active_model().insert(c).await?;
    Ok(())
}

/// Settles a proposal (`active` or `rejected`) if it is still proposed; false if it was not.
pub async fn decide<C: ConnectionTrait>(
    c: &C,
    version: i64,
    status: &str,
    by: Uuid,
    at: i64,
) -> Result<bool> {
    use policy_version::Column as Col;
    let result = policy_version::Entity::update_many()
        .col_expr(Col::Status, Expr::val(status))
        .col_expr(Col::DecidedBy, Expr::val(by))
        .col_expr(Col::DecidedAt, Expr::val(at))
        .filter(Col::Version.eq(version))
        .filter(Col::Status.eq("proposed"))
        .exec(c)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Marks every active version below `version` superseded.
pub async fn supersede_before<C: ConnectionTrait>(c: &C, version: i64) -> Result<()> {
    use policy_version::Column as Col;
    policy_version::Entity::update_many()
        .col_expr(Col::Status, Expr::val("superseded"))
        .filter(Col::Version.lt(version))
        .filter(Col::Status.eq("active"))
        .exec(c)
        .await?;
    Ok(())
}

/// Versions newest first.
pub async fn history<C: ConnectionTrait>(c: &C, limit: u64) -> Result<Vec<policy_version::Model>> {
    use policy_version::Column as Col;
    Ok(policy_version::Entity::find()
        .order_by_desc(Col::Version)
        .limit(limit)
        .all(c)
        .await?)
}
