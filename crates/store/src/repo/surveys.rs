use super::*;

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub contact_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub kind: Option<String>,
    /// Responded at or after this moment.
    pub from: Option<i64>,
    /// Responded at or before this moment.
    pub to: Option<i64>,
    pub deleted: Deleted,
    /// The records the caller may see, from the authorization policies.
    pub access: Option<crate::access::AccessCondition>,
}

pub async fn insert<C: ConnectionTrait>(c: &C, row: survey_response::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}

pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<survey_response::Model>> {
    Ok(survey_response::Entity::find_by_id(id).one(c).await?)
}

pub async fn update_versioned<C: ConnectionTrait>(
    c: &C,
    row: survey_response::Model,
    expected_version: i64,
) -> Result<WriteOutcome> {
    let id = row.id;
    let columns = (
        survey_response::Column::Id,
        survey_response::Column::Version,
    );
    write_if_version::<survey_response::Entity, _>(c, row, id, columns, expected_version).await
}

pub async fn set_deleted<C: ConnectionTrait>(
    c: &C,
    id: Uuid,
    delete: bool,
    now: i64,
) -> Result<WriteOutcome> {
    use survey_response::Column as Col;
    let columns = (Col::Id, Col::Version, Col::DeletedAt, Col::UpdatedAt);
    super::set_deleted::<survey_response::Entity, _>(c, id, delete, now, columns).await
}

fn filtered(filter: &Filter) -> Select<survey_response::Entity> {
    use survey_response::Column as Col;
    let mut q = deleted_filter(
        survey_response::Entity::find(),
        Col::DeletedAt,
        filter.deleted,
    );
    if let Some(access) = &filter.access {
        q = q.filter(crate::access::to_sql(
            access,
            &crate::access::SURVEY_RESPONSES,
        ));
    }
    if let Some(contact) = filter.contact_id {
        q = q.filter(Col::ContactId.eq(contact));
    }
    if let Some(company) = filter.company_id {
        q = q.filter(Col::CompanyId.eq(company));
    }
    if let Some(kind) = &filter.kind {
        q = q.filter(Col::Kind.eq(kind.clone()));
    }
    if let Some(from) = filter.from {
        q = q.filter(Col::RespondedAt.gte(from));
    }
    if let Some(to) = filter.to {
        q = q.filter(Col::RespondedAt.lte(to));
    }
    q
}

/// Newest response first, keyset-paginated on (responded_at, id).
pub async fn list<C: ConnectionTrait>(
    c: &C,
    filter: &Filter,
    after: Option<&After>,
    limit: u64,
) -> Result<Page<survey_response::Model>> {
    use survey_response::Column as Col;
    let rows = keyset(
        filtered(filter),
        Col::RespondedAt,
        Col::Id,
        Direction::Desc,
        after,
        limit,
    )
    .all(c)
    .await?;
    Ok(into_page(rows, limit))
}

/// How many live responses of a kind gave a score.
#[derive(Debug, Clone, PartialEq, Eq, sea_orm::FromQueryResult)]
pub struct ScoreCount {
    pub kind: String,
    pub score: i64,
    pub responses: i64,
}

/// Per kind and score, the number of responses matching the filter (one grouped query; the
/// NPS and CSAT are computed from these counts exactly).
pub async fn score_counts<C: ConnectionTrait>(c: &C, filter: &Filter) -> Result<Vec<ScoreCount>> {
    use survey_response::Column as Col;
    Ok(filtered(filter)
        .select_only()
        .column(Col::Kind)
        .column(Col::Score)
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "responses")
        .group_by(Col::Kind)
        .group_by(Col::Score)
        .order_by(Col::Kind, Order::Asc)
        .order_by(Col::Score, Order::Asc)
        .into_model::<ScoreCount>()
        .all(c)
        .await?)
}
