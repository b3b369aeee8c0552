//! Custom field definitions (configuration) and their values (one row per record and field).

use super::*;

pub async fn insert<C: ConnectionTrait>(c: &C, row: custom_field::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<custom_field::Model>> {
    Ok(custom_field::Entity::find_by_id(id).one(c).await?)
}

/// Definitions of one entity (or all), in display order: entity, position, id. Bounded by the
/// per-entity cap, so no pagination.
pub async fn list<C: ConnectionTrait>(
    c: &C,
    entity: Option<&str>,
) -> Result<Vec<custom_field::Model>> {
    use custom_field::Column as Col;
    let mut q = custom_field::Entity::find();
    if let Some(entity) = entity {
        q = q.filter(Col::Entity.eq(entity));
    }
    Ok(q.order_by_asc(Col::Entity)
        .order_by_asc(Col::Position)
        .order_by_asc(Col::Id)
        .all(c)
        .await?)
}

pub async fn update_versioned<C: ConnectionTrait>(
    c: &C,
    row: custom_field::Model,
    expected_version: i64,
) -> Result<WriteOutcome> {
    let id = row.id;
    let columns = (custom_field::Column::Id, custom_field::Column::Version);
    write_if_version::<custom_field::Entity, _>(c, row, id, columns, expected_version).await
}

/// Whether any record holds a value of the field (deleted records included).
pub async fn has_values<C: ConnectionTrait>(c: &C, field_id: Uuid) -> Result<bool> {
    Ok(custom_field_value::Entity::find()
        .filter(custom_field_value::Column::FieldId.eq(field_id))
        .one(c)
        .await?
        .is_some())
}

/// Whether any record holds `value` (a plain choice value) in the field.
pub async fn value_in_use<C: ConnectionTrait>(c: &C, field_id: Uuid, value: &str) -> Result<bool> {
    Ok(custom_field_value::Entity::find()
        .filter(custom_field_value::Column::FieldId.eq(field_id))
        .filter(custom_field_value::Column::ValueText.eq(value))
        .one(c)
        .await?
        .is_some())
}

/// Every stored value of the field (an administrator checking whether an encrypted choice
/// option is in use decrypts them; bounded by the number of records).
pub async fn values_of_field<C: ConnectionTrait>(
    c: &C,
    field_id: Uuid,
) -> Result<Vec<custom_field_value::Model>> {
    Ok(custom_field_value::Entity::find()
        .filter(custom_field_value::Column::FieldId.eq(field_id))
        .all(c)
        .await?)
}

/// The values of the given records (a detail view or a page of a list), by the primary key.
pub async fn values_of<C: ConnectionTrait>(
    c: &C,
    record_ids: &[Uuid],
) -> Result<Vec<custom_field_value::Model>> {
    if record_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(custom_field_value::Entity::find()
        .filter(custom_field_value::Column::RecordId.is_in(record_ids.iter().copied()))
        .all(c)
        .await?)
}

/// Replaces the values of `fields` on one record with `rows` (cleared fields have no row).
pub async fn replace<C: ConnectionTrait>(
    c: &C,
    record_id: Uuid,
    fields: &[Uuid],
    rows: Vec<custom_field_value::Model>,
) -> Result<()> {
    if !fields.is_empty() {
        custom_field_value::Entity::delete_many()
            .filter(custom_field_value::Column::RecordId.eq(record_id))
            .filter(custom_field_value::Column::FieldId.is_in(fields.iter().copied()))
            .exec(c)
            .await?;
    }
    insert_many(c, rows).await
}

pub async fn insert_many<C: ConnectionTrait>(
    c: &C,
    rows: Vec<custom_field_value::Model>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    insert_all::<custom_field_value::Entity, _>(c, rows, VALUES_PER_STATEMENT).await
}

/// Values of many new records at once (imports).
pub fn add_many(bulk: &mut BulkInsert, rows: Vec<custom_field_value::Model>) {
    bulk.add::<custom_field_value::Entity>(rows, VALUES_PER_STATEMENT);
}

const VALUES_PER_STATEMENT: usize = 1_000;

/// `id_col IN (records whose plain value of the field is value)`: a list filter.
pub fn has_value_condition(
    field_id: Uuid,
    value: &str,
    id_col: impl sea_orm::IntoSimpleExpr,
) -> Expr {
    let sub = sea_orm::sea_query::Query::select()
        .column(custom_field_value::Column::RecordId)
        .from(custom_field_value::Entity)
        .and_where(custom_field_value::Column::FieldId.eq(field_id))
        .and_where(custom_field_value::Column::ValueText.eq(value))
        .to_owned();
    id_col.into_simple_expr().in_subquery(sub)
}
