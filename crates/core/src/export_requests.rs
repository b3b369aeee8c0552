//! Bulk exports under separation of duties. An export of more than
//! `authorization.bulk_export_rows` records is not downloaded on the spot: its requester asks
//! for it with a reason, someone else whose policies allow `approve_export` on that collection
//! (privacy officers by default) approves or rejects it, and only then can the
//! requester download it — once, within `bulk_export_download_hours` of the approval. The
//! requester can never approve their own request, whatever their roles.
//!
//! The download runs as the requester at the time of the download: their policies decide
//! which records and field groups the file holds, as for any export. The approval lifts the
//! size limit for that one request (its kind, format and filters); it grants no access.
//!
//! Every step is a security event (`data_export_approval`): requested, approved, rejected,
//! withdrawn, a refused self-approval, downloaded with its row count.

use crate::exports::{Export, ExportFilters, ExportFormat, ExportKind, ExportRequest};
use crate::security_events::{NewSecurityEvent, SecurityEventKind};
use crate::{Actor, Core, CoreError, cursor};
use custodian_crypto::envelope::DataKey;
use custodian_domain::clock::from_millis;
use custodian_domain::ids::uuid_at;
use custodian_domain::{FieldError, UserId};
use custodian_store::entities::export_request;
use custodian_store::page::KeyValue;
use custodian_store::repo;
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

const TABLE: &str = "export_requests";
/// A reason or a decision note, in characters.
const MAX_NOTE_CHARS: usize = 500;
/// Requests one user may have waiting at once.
const MAX_PENDING_PER_USER: u64 = 10;
/// Records counted for a request's estimate; beyond this it says "at least".
pub const ESTIMATE_CAP: u64 = 10_000_000;
const SORT_CODE: &str = "-requested";
const ALREADY_DOWNLOADED: CoreError = CoreError::Rule {
    code: "export_already_downloaded",
    message: "this approved export was downloaded already; request it again to download it again",
};

/// A request for an export that needs approval. `Debug` leaves out the reason (free text
/// that may name a person).
#[derive(Clone)]
pub struct NewExportRequest {
    pub export: ExportRequest,
    /// Why the file is needed; shown to the approvers.
    pub reason: String,
}

/// Which requests to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RequestScope {
    /// The caller's own requests.
    #[default]
    Mine,
    /// Requests the caller may decide on: every request of a kind their policies allow them
    /// to approve (their own included, shown but not approvable).
    Approvals,
}

impl RequestScope {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        match raw.trim() {
            "" | "mine" => Ok(Self::Mine),
            "approvals" => Ok(Self::Approvals),
            _ => Err(FieldError::new(
                "scope",
                "invalid_scope",
                "must be one of: mine, approvals",
            )),
        }
    }
}

/// The states a request can be in. `expired` is never stored: it is an approval whose
/// download window has passed.
pub const STATUSES: &[&str] = &[
    "pending",
    "approved",
    "rejected",
    "withdrawn",
    "downloaded",
    "expired",
];

#[derive(Debug, Clone, Default)]
pub struct ExportRequestQuery {
    pub scope: RequestScope,
    /// One of [`STATUSES`] but `expired`.
    pub status: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

/// `Debug` shows the id and state only: the reason, the note and the people's names are
/// personal data.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize)]
pub struct ExportRequestView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: Uuid,
    /// contacts, companies or deals.
    pub kind: String,
    /// csv or json.
    pub format: String,
    pub filters: ExportFilters,
    pub reason: String,
    /// Records the export held when it was requested (counted up to 10,000,000).
    pub estimated_rows: u64,
    /// pending, approved, rejected, withdrawn, downloaded or expired.
    pub status: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub requested_by: UserId,
    /// The requester's name (or e-mail address), for the approvers.
    pub requester: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub requested_at: time::OffsetDateTime,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub decided_by: Option<UserId>,
    pub decider: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub decided_at: Option<time::OffsetDateTime>,
    pub decision_note: Option<String>,
    /// Approved requests: the download works until then.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub download_until: Option<time::OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub downloaded_at: Option<time::OffsetDateTime>,
    /// Rows the download wrote.
    pub exported_rows: Option<u64>,
    /// The caller may approve or reject it now.
    pub can_decide: bool,
    /// The caller (its requester) may withdraw it now.
    pub can_withdraw: bool,
    /// The caller (its requester) may download it now.
    pub can_download: bool,
}

impl std::fmt::Debug for NewExportRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewExportRequest")
            .field("export", &self.export)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ExportRequestView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportRequestView")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct ExportRequestPage {
    pub items: Vec<ExportRequestView>,
    pub next_cursor: Option<String>,
}

/// What a decision does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

fn check_note(field: &str, text: &str, required: bool) -> Result<Option<String>, CoreError> {
    let text = text.trim();
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(FieldError::new(field, "too_long", "at most 500 characters").into());
    }
    if text.is_empty() {
        return if required {
            Err(FieldError::new(
                field,
                "reason_required",
                "say why you need this export (at most 500 characters)",
            )
            .into())
        } else {
            Ok(None)
        };
    }
    Ok(Some(text.to_owned()))
}

fn stored_kind(row: &export_request::Model) -> Result<ExportKind, CoreError> {
    ExportKind::parse(&row.kind).map_err(|_| CoreError::DataIntegrity {
        table: TABLE,
        column: "kind",
    })
}

fn stored_request(row: &export_request::Model) -> Result<ExportRequest, CoreError> {
    let format = ExportFormat::parse(&row.format).map_err(|_| CoreError::DataIntegrity {
        table: TABLE,
        column: "format",
    })?;
    let filters = serde_json::from_str(&row.filters).map_err(|_| CoreError::DataIntegrity {
        table: TABLE,
        column: "filters",
    })?;
    Ok(ExportRequest {
        kind: stored_kind(row)?,
        format,
        filters,
    })
}

impl Core {
    /// Asks for an export that needs approval. The caller must be allowed to export the
    /// collection; the request records how many records it holds now.
    pub async fn request_export(
        &self,
        actor: &Actor,
        input: NewExportRequest,
    ) -> Result<ExportRequestView, CoreError> {
        let reason = check_note("reason", &input.reason, true)?.unwrap_or_default();
        if let Some(tag) = &input.export.filters.tag
            && tag.chars().count() > 100
        {
            return Err(FieldError::new("tag", "too_long", "at most 100 characters").into());
        }
        let export = self
            .prepare_export(actor, input.export.clone(), None)
            .await?;
        let conn = self.store().conn();
        // The cheap refusal before the count, which may read millions of index entries.
        let pending = repo::export_requests::list(
            conn,
            &repo::export_requests::Filter {
                requested_by: Some(actor.user_id.as_uuid()),
                status: Some("pending".to_owned()),
                kinds: None,
            },
            None,
            MAX_PENDING_PER_USER,
        )
        .await?;
        if pending.items.len() as u64 >= MAX_PENDING_PER_USER {
            return Err(CoreError::Rule {
                code: "too_many_pending_exports",
                message: "you have 10 export requests waiting for a decision; withdraw one or wait for the approvers",
            });
        }
        let estimated = export.count_up_to(ESTIMATE_CAP).await?;
        let key = self.keys().org_key(conn).await?;
        let now = self.now();
        let id = uuid_at(now);
        let reason_ct =
            self.keys()
                .encrypt(&key, TABLE, "reason", id, reason.as_bytes(), self.rng())?;
        let row = export_request::Model {
            id,
            kind: input.export.kind.name().to_owned(),
            format: input.export.format.name().to_owned(),
            filters: serde_json::to_string(&input.export.filters)
                .map_err(|_| CoreError::Internal("export filters could not be serialised"))?,
            reason_ct,
            dek_id: key.id(),
            estimated_rows: i64::try_from(estimated).unwrap_or(i64::MAX),
            status: "pending".to_owned(),
            requested_by: actor.user_id.as_uuid(),
            requested_at: now,
            decided_by: None,
            decided_at: None,
            decision_note_ct: None,
            downloaded_at: None,
            exported_rows: None,
        };
        repo::export_requests::insert(self.store().writer(), row.clone()).await?;
        self.record_export_event(
            actor,
            &format!("requested {id} {} rows={estimated}", row.kind),
        )
        .await?;
        let approvable = self.approvable_kinds(actor);
        self.export_request_view(actor, &approvable, &key, &row, &mut HashMap::new())
            .await
    }

    /// The caller's requests, or those they may decide on, newest first.
    pub async fn list_export_requests(
        &self,
        actor: &Actor,
        query: ExportRequestQuery,
    ) -> Result<ExportRequestPage, CoreError> {
        let limit = cursor::page_size(query.limit)?;
        let after = query
            .cursor
            .as_deref()
            .map(|c| cursor::decode(SORT_CODE, c))
            .transpose()?;
        let status = match query.status.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) if STATUSES.contains(&s) && s != "expired" => Some(s.to_owned()),
            Some(_) => {
                return Err(FieldError::new(
                    "status",
                    "invalid_status",
                    "must be one of: pending, approved, rejected, withdrawn, downloaded",
                )
                .into());
            }
        };
        let approvable = self.approvable_kinds(actor);
        let filter = match query.scope {
            RequestScope::Mine => repo::export_requests::Filter {
                requested_by: Some(actor.user_id.as_uuid()),
                status,
                kinds: None,
            },
            RequestScope::Approvals => {
                if approvable.is_empty() {
                    return Err(self
                        .denied(
                            actor,
                            crate::authz::Action::Collection(
                                crate::authz::CollectionAction::ApproveExport,
                            ),
                            "Collection::*",
                        )
                        .await?);
                }
                repo::export_requests::Filter {
                    requested_by: None,
                    status,
                    kinds: Some(approvable.iter().map(|k| k.name().to_owned()).collect()),
                }
            }
        };
        let conn = self.store().conn();
        let page = repo::export_requests::list(conn, &filter, after.as_ref(), limit).await?;
        let next_cursor = cursor::next(SORT_CODE, &page, |last| {
            (KeyValue::Int(last.requested_at), last.id)
        });
        let key = self.keys().org_key(conn).await?;
        let mut names = HashMap::new();
        let mut items = Vec::with_capacity(page.items.len());
        for row in &page.items {
            items.push(
                self.export_request_view(actor, &approvable, &key, row, &mut names)
                    .await?,
            );
        }
        Ok(ExportRequestPage { items, next_cursor })
    }

    /// One request: its requester's, or any approver's of its kind; 404 for everyone else.
    pub async fn export_request(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<ExportRequestView, CoreError> {
        let (row, approvable) = self.visible_export_request(actor, id).await?;
        let key = self.keys().org_key(self.store().conn()).await?;
        self.export_request_view(actor, &approvable, &key, &row, &mut HashMap::new())
            .await
    }

    /// Approves or rejects someone else's pending request. Needs `approve_export` on the
    /// collection and a recent sign-in or step-up; the requester is refused (and the attempt
    /// recorded) whatever their roles.
    pub async fn decide_export_request(
        &self,
        actor: &Actor,
        id: Uuid,
        decision: Decision,
        note: &str,
    ) -> Result<ExportRequestView, CoreError> {
        let note = check_note("note", note, false)?;
        let (row, approvable) = self.visible_export_request(actor, id).await?;
        let kind = stored_kind(&row)?;
        if row.requested_by == actor.user_id.as_uuid() {
            if decision == Decision::Approve {
                self.record_export_event(actor, &format!("self-approval refused {id}"))
                    .await?;
                return Err(CoreError::Rule {
                    code: "second_approver_required",
                    message: "someone else must approve an export you requested",
                });
            }
            return Err(CoreError::Rule {
                code: "withdraw_instead",
                message: "withdraw your own request instead of rejecting it",
            });
        }
        self.require_collection(
            actor,
            kind.record_type(),
            crate::authz::CollectionAction::ApproveExport,
        )
        .await?;
        self.require_recent_auth(actor)?;
        let status = match decision {
            Decision::Approve => "approved",
            Decision::Reject => "rejected",
        };
        self.settle(actor, &approvable, &row, status, note).await
    }

    /// The requester takes back a pending request.
    pub async fn withdraw_export_request(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<ExportRequestView, CoreError> {
        let (row, approvable) = self.visible_export_request(actor, id).await?;
        if row.requested_by != actor.user_id.as_uuid() {
            return Err(CoreError::Rule {
                code: "not_requester",
                message: "only the requester can withdraw an export request; reject it instead",
            });
        }
        self.settle(actor, &approvable, &row, "withdrawn", None)
            .await
    }

    async fn settle(
        &self,
        actor: &Actor,
        approvable: &[ExportKind],
        row: &export_request::Model,
        status: &'static str,
        note: Option<String>,
    ) -> Result<ExportRequestView, CoreError> {
        let conn = self.store().conn();
        let key = self.keys().org_key(conn).await?;
        let note_ct = note
            .map(|n| {
                self.keys().encrypt(
                    &key,
                    TABLE,
                    "decision_note",
                    row.id,
                    n.as_bytes(),
                    self.rng(),
                )
            })
            .transpose()?;
        let (id, by, at) = (row.id, actor.user_id.as_uuid(), self.now());
        let settled =
            repo::export_requests::decide(self.store().writer(), id, status, by, at, note_ct)
                .await?;
        if !settled {
            return Err(CoreError::Rule {
                code: "export_request_decided",
                message: "the request is no longer waiting for a decision; reload it",
            });
        }
        self.record_export_event(actor, &format!("{status} {id} {}", row.kind))
            .await?;
        let row = repo::export_requests::get(conn, id)
            .await?
            .ok_or(CoreError::Internal("settled export request missing"))?;
        self.export_request_view(actor, approvable, &key, &row, &mut HashMap::new())
            .await
    }

    /// Starts the one download of an approved request: its requester only, within the
    /// download window, with the requester's policies as they are now.
    pub async fn download_approved_export(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<Export, CoreError> {
        let (row, _) = self.visible_export_request(actor, id).await?;
        if row.requested_by != actor.user_id.as_uuid() {
            return Err(CoreError::Rule {
                code: "not_requester",
                message: "only the user who requested an export can download it",
            });
        }
        let request = stored_request(&row)?;
        // Policies first: a requester who lost the right to export keeps the approval unused.
        let export = self.prepare_export(actor, request, Some(id)).await?;
        match row.status.as_str() {
            "approved" => {}
            "pending" => {
                return Err(CoreError::Rule {
                    code: "export_not_approved",
                    message: "the export request is still waiting for approval",
                });
            }
            "downloaded" => return Err(ALREADY_DOWNLOADED),
            _ => {
                return Err(CoreError::Rule {
                    code: "export_not_approved",
                    message: "the export request was not approved",
                });
            }
        }
        let now = self.now();
        let approved_since = now - self.settings().export_approval_ttl_secs * 1000;
        let claimed =
            repo::export_requests::claim_download(self.store().writer(), id, approved_since, now)
                .await?;
        if !claimed {
            let expired = row.decided_at.is_some_and(|at| at < approved_since);
            return Err(if expired {
                CoreError::Rule {
                    code: "export_approval_expired",
                    message: "the approval has expired; request the export again",
                }
            } else {
                ALREADY_DOWNLOADED
            });
        }
        self.record_export_event(actor, &format!("download started {id} {}", row.kind))
            .await?;
        Ok(export)
    }

    /// Called by the export when its last row is written.
    pub(crate) async fn finish_approved_export(
        &self,
        actor: &Actor,
        id: Uuid,
        rows: u64,
    ) -> Result<(), CoreError> {
        let rows = i64::try_from(rows).unwrap_or(i64::MAX);
        repo::export_requests::set_exported_rows(self.store().writer(), id, rows).await?;
        self.record_export_event(actor, &format!("downloaded {id} rows={rows}"))
            .await
    }

    /// Whether the actor may decide on anyone's export requests (menus, pages).
    pub fn may_approve_exports(&self, actor: &Actor) -> bool {
        !self.approvable_kinds(actor).is_empty()
    }

    /// The kinds whose requests the actor may decide on.
    fn approvable_kinds(&self, actor: &Actor) -> Vec<ExportKind> {
        [
            ExportKind::Contacts,
            ExportKind::Companies,
            ExportKind::Deals,
        ]
        .into_iter()
        .filter(|kind| {
            self.permits(
                actor,
                crate::authz::Action::Collection(crate::authz::CollectionAction::ApproveExport),
                crate::authz::Resource::Collection(kind.record_type()),
            )
        })
        .collect()
    }

    /// The request if the actor may know it exists (its requester, or an approver of its
    /// kind), with the kinds the actor may approve; 404 otherwise.
    async fn visible_export_request(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<(export_request::Model, Vec<ExportKind>), CoreError> {
        let not_found = || CoreError::NotFound {
            entity: "export request",
        };
        let row = repo::export_requests::get(self.store().conn(), id)
            .await?
            .ok_or_else(not_found)?;
        let approvable = self.approvable_kinds(actor);
        let visible =
            row.requested_by == actor.user_id.as_uuid() || approvable.contains(&stored_kind(&row)?);
        if visible {
            Ok((row, approvable))
        } else {
            Err(not_found())
        }
    }

    async fn export_request_view(
        &self,
        actor: &Actor,
        approvable: &[ExportKind],
        key: &DataKey,
        row: &export_request::Model,
        names: &mut HashMap<Uuid, String>,
    ) -> Result<ExportRequestView, CoreError> {
        let now = self.now();
        let ttl = self.settings().export_approval_ttl_secs * 1000;
        let download_until = (row.status == "approved")
            .then_some(row.decided_at)
            .flatten()
            .map(|at| at + ttl);
        let expired = download_until.is_some_and(|until| until < now);
        let status = if expired {
            "expired"
        } else {
            row.status.as_str()
        };
        let mine = row.requested_by == actor.user_id.as_uuid();
        let decidable = !mine && status == "pending" && approvable.contains(&stored_kind(row)?);
        let reason = self
            .keys()
            .decrypt_string(key, TABLE, "reason", row.id, &row.reason_ct)?;
        let decision_note = row
            .decision_note_ct
            .as_deref()
            .map(|ct| {
                self.keys()
                    .decrypt_string(key, TABLE, "decision_note", row.id, ct)
            })
            .transpose()?;
        let requester = self.user_label(key, row.requested_by, names).await?;
        let decider = match row.decided_by {
            Some(by) => Some(self.user_label(key, by, names).await?),
            None => None,
        };
        Ok(ExportRequestView {
            id: row.id,
            kind: row.kind.clone(),
            format: row.format.clone(),
            filters: serde_json::from_str(&row.filters).map_err(|_| CoreError::DataIntegrity {
                table: TABLE,
                column: "filters",
            })?,
            reason,
            estimated_rows: u64::try_from(row.estimated_rows).unwrap_or(0),
            status: status.to_owned(),
            requested_by: UserId(row.requested_by),
            requester,
            requested_at: from_millis(row.requested_at),
            decided_by: row.decided_by.map(UserId),
            decider,
            decided_at: row.decided_at.map(from_millis),
            decision_note,
            download_until: download_until.map(from_millis),
            downloaded_at: row.downloaded_at.map(from_millis),
            exported_rows: row.exported_rows.and_then(|r| u64::try_from(r).ok()),
            can_decide: decidable,
            can_withdraw: mine && status == "pending",
            can_download: mine && status == "approved",
        })
    }

    /// A user's display name, else their e-mail address; "(deleted user)" once they are gone.
    async fn user_label(
        &self,
        key: &DataKey,
        id: Uuid,
        names: &mut HashMap<Uuid, String>,
    ) -> Result<String, CoreError> {
        if let Some(name) = names.get(&id) {
            return Ok(name.clone());
        }
        let label = match repo::users::get_live(self.store().conn(), id).await? {
            Some(row) => {
                let (email, display_name) = self.open_identity(key, &row)?;
                display_name
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or(email)
            }
            None => "(deleted user)".to_owned(),
        };
        names.insert(id, label.clone());
        Ok(label)
    }

    async fn record_export_event(&self, actor: &Actor, detail: &str) -> Result<(), CoreError> {
        self.record_security_event(NewSecurityEvent {
            kind: SecurityEventKind::ExportApproval,
            user_id: Some(actor.user_id.as_uuid()),
            session_id: actor.session_id().map(|s| s.as_uuid()),
            client: None,
            detail: Some(detail.to_owned()),
        })
        .await
    }
}
