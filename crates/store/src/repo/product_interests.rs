use super::*;

/// Records an interest; a contact has at most one per product (unique index), so the caller
/// deletes an existing one first in the same transaction.
pub async fn insert<C: ConnectionTrait>(c: &C, row: product_interest::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

/// Removes the contact's interest in the product; whether there was one.
pub async fn delete<C: ConnectionTrait>(c: &C, contact_id: Uuid, product_id: Uuid) -> Result<bool> {
    let res = product_interest::Entity::delete_many()
        .filter(product_interest::Column::ContactId.eq(contact_id))
        .filter(product_interest::Column::ProductId.eq(product_id))
        .exec(c)
        .await?;
    Ok(res.rows_affected > 0)
}

/// A contact's interests, most recently recorded first (bounded by the catalogue size).
pub async fn for_contact<C: ConnectionTrait>(
    c: &C,
    contact_id: Uuid,
    limit: u64,
) -> Result<Vec<product_interest::Model>> {
    Ok(product_interest::Entity::find()
        .filter(product_interest::Column::ContactId.eq(contact_id))
        .order_by(product_interest::Column::RecordedAt, Order::Desc)
        .order_by(product_interest::Column::Id, Order::Desc)
        .limit(limit)
        .all(c)
        .await?)
}
