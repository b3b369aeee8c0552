use super::*;

/// The sequence orders take their numbers from.
const SALES_ORDER_SEQUENCE: &str = "sales_order";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    OrderedOn,
    Created,
    Updated,
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<String>,
    pub contact_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub deleted: Deleted,
    /// The records the caller may see, from the authorization policies.
    pub access: Option<crate::access::AccessCondition>,
}

/// Takes the next order number. Must run inside the order's write transaction: on PostgreSQL
/// the UPDATE locks the counter row until commit, so concurrent writers queue and a rolled
/// back order gives its number back; on SQLite the write transaction holds the database lock.
pub async fn next_number<C: ConnectionTrait>(c: &C) -> Result<i64> {
    use order_counter::Column as Col;
    let res = order_counter::Entity::update_many()
        .col_expr(Col::Value, Expr::col(Col::Value).add(1))
        .filter(Col::Name.eq(SALES_ORDER_SEQUENCE))
        .exec(c)
        .await?;
    if res.rows_affected != 1 {
        return Err(sea_orm::DbErr::RecordNotFound("order counter".into()).into());
    }
    let row = order_counter::Entity::find_by_id(SALES_ORDER_SEQUENCE.to_owned())
        .one(c)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound("order counter".into()))?;
    Ok(row.value)
}

pub async fn insert<C: ConnectionTrait>(c: &C, row: order::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<order::Model>> {
    Ok(order::Entity::find_by_id(id).one(c).await?)
}

pub async fn update_versioned<C: ConnectionTrait>(
    c: &C,
    row: order::Model,
    expected_version: i64,
) -> Result<WriteOutcome> {
    let id = row.id;
    let columns = (order::Column::Id, order::Column::Version);
    write_if_version::<order::Entity, _>(c, row, id, columns, expected_version).await
}

pub async fn set_deleted<C: ConnectionTrait>(
    c: &C,
    id: Uuid,
    delete: bool,
    now: i64,
) -> Result<WriteOutcome> {
    use order::Column as Col;
    let columns = (Col::Id, Col::Version, Col::DeletedAt, Col::UpdatedAt);
    super::set_deleted::<order::Entity, _>(c, id, delete, now, columns).await
}

/// An order's lines in order.
pub async fn lines<C: ConnectionTrait>(c: &C, order_id: Uuid) -> Result<Vec<order_line::Model>> {
    Ok(order_line::Entity::find()
        .filter(order_line::Column::OrderId.eq(order_id))
        .order_by(order_line::Column::Position, Order::Asc)
        .all(c)
        .await?)
}

/// Replaces the order's lines with `lines` (inside the order's write transaction).
pub async fn replace_lines<C: ConnectionTrait>(
    c: &C,
    order_id: Uuid,
    lines: Vec<order_line::Model>,
) -> Result<()> {
    order_line::Entity::delete_many()
        .filter(order_line::Column::OrderId.eq(order_id))
        .exec(c)
        .await?;
    if !lines.is_empty() {
        order_line::Entity::insert_many(
            lines.into_iter().map(|l| l.into_active_model().reset_all()),
        )
        .exec(c)
        .await?;
    }
    Ok(())
}

pub async fn list<C: ConnectionTrait>(
    c: &C,
    filter: &Filter,
    sort: Sort,
    direction: Direction,
    after: Option<&After>,
    limit: u64,
) -> Result<Page<order::Model>> {
    use order::Column as Col;
    let mut q = deleted_filter(order::Entity::find(), Col::DeletedAt, filter.deleted);
    if let Some(access) = &filter.access {
        q = q.filter(crate::access::to_sql(access, &crate::access::ORDERS));
    }
    if let Some(status) = &filter.status {
        q = q.filter(Col::Status.eq(status.clone()));
    }
    if let Some(contact) = filter.contact_id {
        q = q.filter(Col::ContactId.eq(contact));
    }
    if let Some(company) = filter.company_id {
        q = q.filter(Col::CompanyId.eq(company));
    }
    let sort_col = match sort {
        Sort::OrderedOn => Col::OrderedOn,
        Sort::Created => Col::CreatedAt,
        Sort::Updated => Col::UpdatedAt,
    };
    let rows = keyset(q, sort_col, Col::Id, direction, after, limit)
        .all(c)
        .await?;
    Ok(into_page(rows, limit))
}

/// Whose purchases to add up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Customer {
    Contact(Uuid),
    Company(Uuid),
}

/// Counted orders of one customer in one currency.
#[derive(Debug, Clone, PartialEq, Eq, sea_orm::FromQueryResult)]
pub struct CurrencyTotal {
    pub currency: String,
    pub orders: i64,
    pub amount: i64,
    pub last_ordered_on: Option<String>,
}

/// Per currency: how many live orders in `statuses` the customer has, their total and the
/// latest order date (one grouped query on the customer's index).
pub async fn customer_totals<C: ConnectionTrait>(
    c: &C,
    customer: Customer,
    statuses: &[&str],
) -> Result<Vec<CurrencyTotal>> {
    use order::Column as Col;
    let q = match customer {
        Customer::Contact(id) => order::Entity::find().filter(Col::ContactId.eq(id)),
        Customer::Company(id) => order::Entity::find().filter(Col::CompanyId.eq(id)),
    };
    // SUM over BIGINT is NUMERIC on PostgreSQL; cast back so both backends return i64.
    Ok(q.select_only()
        .column(Col::Currency)
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "orders")
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(total_minor), 0) AS BIGINT)"),
            "amount",
        )
        .column_as(Expr::cust("MAX(ordered_on)"), "last_ordered_on")
        .filter(Col::Status.is_in(statuses.iter().map(|s| (*s).to_owned())))
        .filter(Col::DeletedAt.is_null())
        .group_by(Col::Currency)
        .order_by(Col::Currency, Order::Asc)
        .into_model::<CurrencyTotal>()
        .all(c)
        .await?)
}
