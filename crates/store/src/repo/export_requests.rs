use super::*;

pub async fn insert<C: ConnectionTrait>(c: &C, row: export_request::Model) -> Result<()> {
    row.into_active_model().insert(c).await?;
    Ok(())
}

pub async fn get<C: ConnectionTrait>(c: &C, id: Uuid) -> Result<Option<export_request::Model>> {
    Ok(export_request::Entity::find_by_id(id).one(c).await?)
}

/// Which requests a list shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this user's requests.
    pub requested_by: Option<Uuid>,
    /// Only requests in this status.
    pub status: Option<String>,
    /// Only requests of these kinds (the ones the reader may decide on).
    pub kinds: Option<Vec<String>>,
}

/// Requests newest first.
pub async fn list<C: ConnectionTrait>(
    c: &C,
    filter: &Filter,
    after: Option<&After>,
    limit: u64,
) -> Result<Page<export_request::Model>> {
    use export_request::Column as Col;
    let mut q = export_request::Entity::find();
    if let Some(user) = filter.requested_by {
        q = q.filter(Col::RequestedBy.eq(user));
    }
    if let Some(status) = &filter.status {
        q = q.filter(Col::Status.eq(status.clone()));
    }
    if let Some(kinds) = &filter.kinds {
        q = q.filter(Col::Kind.is_in(kinds.iter().cloned()));
    }
    let rows = keyset(q, Col::RequestedAt, Col::Id, Direction::Desc, after, limit)
        .all(c)
        .await?;
    Ok(into_page(rows, limit))
}

/// Settles a pending request (`approved`, `rejected` or `withdrawn`); false if it was no
/// longer pending.
pub async fn decide<C: ConnectionTrait>(
    c: &C,
    id: Uuid,
    status: &str,
    by: Uuid,
    at: i64,
    note_ct: Option<Vec<u8>>,
) -> Result<bool> {
    use export_request::Column as Col;
    let result = export_request::Entity::update_many()
        .col_expr(Col::Status, Expr::val(status))
        .col_expr(Col::DecidedBy, Expr::val(by))
        .col_expr(Col::DecidedAt, Expr::val(at))
        .col_expr(Col::DecisionNoteCt, Expr::val(note_ct))
        .filter(Col::Id.eq(id))
        .filter(Col::Status.eq("pending"))
        .exec(c)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Takes an approved request for its one download if it was approved at or after
/// `approved_since`; false if it is not (any longer) approved, or approved too long ago.
pub async fn claim_download<C: ConnectionTrait>(
    c: &C,
    id: Uuid,
    approved_since: i64,
    at: i64,
) -> Result<bool> {
    use export_request::Column as Col;
    let result = export_request::Entity::update_many()
        .col_expr(Col::Status, Expr::val("downloaded"))
        .col_expr(Col::DownloadedAt, Expr::val(at))
        .filter(Col::Id.eq(id))
        .filter(Col::Status.eq("approved"))
        .filter(Col::DecidedAt.gte(approved_since))
        .exec(c)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Records how many rows the download wrote.
pub async fn set_exported_rows<C: ConnectionTrait>(c: &C, id: Uuid, rows: i64) -> Result<()> {
    use export_request::Column as Col;
    export_request::Entity::update_many()
        .col_expr(Col::ExportedRows, Expr::val(rows))
        .filter(Col::Id.eq(id))
        .exec(c)
        .await?;
    Ok(())
}
