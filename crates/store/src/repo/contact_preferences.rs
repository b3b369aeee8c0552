use super::*;

pub async fn get_for_contact<C: ConnectionTrait>(
    c: &C,
    contact_id: Uuid,
) -> Result<Option<contact_preference::Model>> {
    Ok(contact_preference::Entity::find()
        .filter(contact_preference::Column::ContactId.eq(contact_id))
        .one(c)
        .await?)
}

/// The first save of a contact's preferences; a concurrent first save fails on the unique
/// contact index (the caller maps that to a stale version).
pub async fn insert<C: ConnectionTrait>(c: &C, row: contact_preference::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

pub async fn update_versioned<C: ConnectionTrait>(
    c: &C,
    row: contact_preference::Model,
    expected_version: i64,
) -> Result<WriteOutcome> {
    let id = row.id;
    let columns = (
        contact_preference::Column::Id,
        contact_preference::Column::Version,
    );
    write_if_version::<contact_preference::Entity, _>(c, row, id, columns, expected_version).await
}

/// Whether the contact asked not to be contacted at all.
pub async fn is_do_not_contact<C: ConnectionTrait>(c: &C, contact_id: Uuid) -> Result<bool> {
    Ok(get_for_contact(c, contact_id)
        .await?
        .is_some_and(|p| p.do_not_contact))
}

/// `contact id IN / NOT IN (do-not-contact contacts)`: the contact list's suppression filter.
pub(crate) fn do_not_contact_condition(
    do_not_contact: bool,
    id_col: impl sea_orm::IntoSimpleExpr,
) -> Expr {
    let sub = sea_orm::sea_query::Query::select()
        .column(contact_preference::Column::ContactId)
        .from(contact_preference::Entity)
        .and_where(contact_preference::Column::DoNotContact.eq(true))
        .to_owned();
    if do_not_contact {
        id_col.into_simple_expr().in_subquery(sub)
    } else {
        id_col.into_simple_expr().not_in_subquery(sub)
    }
}
