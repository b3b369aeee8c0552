//! The MFA policy's rules.

use super::*;

pub async fn all<C: ConnectionTrait>(c: &C) -> Result<Vec<mfa_requirement::Model>> {
    Ok(mfa_requirement::Entity::find()
        .order_by_asc(mfa_requirement::Column::Scope)
        .order_by_asc(mfa_requirement::Column::Value)
        .all(c)
        .await?)
}

pub async fn insert<C: ConnectionTrait>(c: &C, row: mfa_requirement::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

pub async fn delete<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<bool> {
    let res = mfa_requirement::Entity::delete_many()
        .filter(mfa_requirement::Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(res.rows_affected > 0)
}
