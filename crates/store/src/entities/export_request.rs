use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "export_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `contacts`, `companies` or `deals`.
    pub kind: String,
    /// `csv` or `json`.
    pub format: String,
    /// JSON object of the list filters the export applies (ids, a tag, a status).
    pub filters: String,
    /// Why the requester needs the file; ciphertext under the organisation key.
    pub reason_ct: Vec<u8>,
    pub dek_id: Uuid,
    /// Rows the export held when it was requested.
    pub estimated_rows: i64,
    /// `pending`, `approved`, `rejected`, `withdrawn` or `downloaded`.
    pub status: String,
    pub requested_by: Uuid,
    pub requested_at: i64,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<i64>,
    pub decision_note_ct: Option<Vec<u8>>,
    pub downloaded_at: Option<i64>,
    /// Rows the download wrote, once it finished.
    pub exported_rows: Option<i64>,
}
entity_prelude!();
