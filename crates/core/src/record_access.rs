//! Authorization of the records other than contacts (companies, deals, leads, orders,
//! activities, tasks, complaints, survey responses): each row's access attributes, where a new
//! record is placed (team, territory, sensitivity), object-level checks, field groups, and
//! lists whose policy condition is part of the query.

use crate::authz::fields::GroupAccess;
use crate::authz::{
    Action, FieldAccess, FieldGroup, RecordAction, RecordAttrs, RecordFilter, RecordType,
};
use crate::links::RecordKind;
use crate::{Actor, Core, CoreError};
use custodian_store::entities::{
    activity, company, complaint, deal, lead, order, survey_response, task,
};
use custodian_store::page::{After, KeyValue, Page};
use custodian_store::repo;
use uuid::Uuid;

/// A record row with the attributes policies evaluate.
pub(crate) trait AccessRow {
    const RECORD: RecordType;
    fn access_attrs(&self) -> RecordAttrs;
}

macro_rules! access_row {
    ($model:ty, $record:expr, optional $owner:ident) => {
        access_row!(@impl $model, $record, |row: &$model| row.$owner);
    };
    ($model:ty, $record:expr, required $owner:ident) => {
        access_row!(@impl $model, $record, |row: &$model| Some(row.$owner));
    };
    (@impl $model:ty, $record:expr, $owner:expr) => {
        impl AccessRow for $model {
            const RECORD: RecordType = $record;
            fn access_attrs(&self) -> RecordAttrs {
                let owner_of = $owner;
                RecordAttrs {
                    id: self.id,
                    owner: owner_of(self),
                    team: self.team.clone(),
                    region: self.region.clone(),
                    sensitivity: self.sensitivity,
                    deleted: self.deleted_at.is_some(),
                    case_handlers: Vec::new(),
                }
            }
        }
    };
}

access_row!(company::Model, RecordType::Company, optional owner_id);
access_row!(deal::Model, RecordType::Deal, optional owner_id);
access_row!(lead::Model, RecordType::Lead, optional owner_id);
access_row!(order::Model, RecordType::Order, optional owner_id);
access_row!(activity::Model, RecordType::Activity, optional owner_id);
access_row!(task::Model, RecordType::Task, required assignee_id);
access_row!(complaint::Model, RecordType::Complaint, optional assignee_id);
access_row!(survey_response::Model, RecordType::SurveyResponse, required recorded_by);

/// Where a new record sits for access: the creating user's team, and the territory and
/// sensitivity of the customer it is about (else the creator's territory), so a record about
/// a restricted or foreign-territory contact is as protected as the contact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Placement {
    pub team: Option<String>,
    pub region: Option<String>,
    pub sensitivity: i64,
}

/// The territory and sensitivity of the record something is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Territory {
    pub region: Option<String>,
    pub sensitivity: i64,
}

impl Territory {
    pub(crate) fn of(attrs: &RecordAttrs) -> Self {
        Territory {
            region: attrs.region.clone(),
            sensitivity: attrs.sensitivity,
        }
    }
}

impl Placement {
    pub(crate) fn new(actor: &Actor, about: Option<&Territory>) -> Self {
        match about {
            Some(about) => Placement {
                team: actor.principal.team.clone(),
                region: about
                    .region
                    .clone()
                    .or_else(|| actor.principal.region.clone()),
                sensitivity: about.sensitivity,
            },
            None => Placement {
                team: actor.principal.team.clone(),
                region: actor.principal.region.clone(),
                sensitivity: 0,
            },
        }
    }
}

impl Placement {
    /// An existing record's placement (kept by updates).
    pub(crate) fn of<R: AccessRow>(row: &R) -> Self {
        let attrs = row.access_attrs();
        Placement {
            team: attrs.team,
            region: attrs.region,
            sensitivity: attrs.sensitivity,
        }
    }
}

/// Pages read at most while filling one page under policies the query cannot express.
pub(crate) const MAX_FILL_ROUNDS: usize = 20;

impl Core {
    /// Object level for a loaded row: 404 if the actor may not read it, 403 if they may read
    /// it but not do `action`.
    pub(crate) async fn authorize_row<R: AccessRow>(
        &self,
        actor: &Actor,
        row: &R,
        action: RecordAction,
    ) -> Result<RecordAttrs, CoreError> {
        let attrs = row.access_attrs();
        self.require_record(actor, Action::Record(action), R::RECORD, &attrs)
            .await?;
        Ok(attrs)
    }

    /// A loaded row the actor may do `action` to: 404 if there is none or they may not read
    /// it, 403 if they may read it but not do `action`.
    pub(crate) async fn authorized<R: AccessRow>(
        &self,
        actor: &Actor,
        row: Option<R>,
        action: RecordAction,
    ) -> Result<R, CoreError> {
        let row = row.ok_or(CoreError::NotFound {
            entity: R::RECORD.entity_name(),
        })?;
        self.authorize_row(actor, &row, action).await?;
        Ok(row)
    }

    /// 404 unless the contact, company or deal exists, is live and the actor may read it
    /// (timelines, lists scoped to one record).
    pub(crate) async fn require_live_record(
        &self,
        actor: &Actor,
        kind: RecordKind,
        id: Uuid,
    ) -> Result<(), CoreError> {
        let conn = self.store().conn();
        let read = RecordAction::Read;
        match kind {
            RecordKind::Contact => {
                let row = repo::contacts::get(conn, id)
                    .await?
                    .filter(|r| r.deleted_at.is_none())
                    .ok_or(CoreError::NotFound {
                        entity: kind.as_str(),
                    })?;
                let attrs = self.contact_attrs_of(conn, &row).await?;
                self.require_record(actor, Action::Record(read), RecordType::Contact, &attrs)
                    .await
            }
            RecordKind::Company => {
                let row = repo::companies::get(conn, id).await?;
                let live = row.filter(|r| r.deleted_at.is_none());
                self.authorized(actor, live, read).await.map(|_| ())
            }
            RecordKind::Deal => {
                let row = repo::deals::get(conn, id).await?;
                let live = row.filter(|r| r.deleted_at.is_none());
                self.authorized(actor, live, read).await.map(|_| ())
            }
        }
    }

    /// A new record's placement must be one the actor may create (a sales user creates
    /// records they own or their team's). Safe inside a transaction: the denial is recorded
    /// by [`Core::recording_denials`].
    pub(crate) fn authorize_new<R: AccessRow>(
        &self,
        actor: &Actor,
        row: &R,
    ) -> Result<(), CoreError> {
        let attrs = row.access_attrs();
        let create = Action::Record(RecordAction::Create);
        if self.permits_record(actor, create, R::RECORD, &attrs) {
            return Ok(());
        }
        Err(denial(
            create,
            format!("{}::{}", R::RECORD.cedar_type(), attrs.id),
            CoreError::Forbidden,
        ))
    }

    /// After an update, the record must still be one the actor may update (no moving a record
    /// out of one's own reach, or into another territory). Safe inside a transaction.
    pub(crate) fn authorize_changed<R: AccessRow>(
        &self,
        actor: &Actor,
        before: &RecordAttrs,
        row: &R,
    ) -> Result<(), CoreError> {
        let after = row.access_attrs();
        let update = Action::Record(RecordAction::Update);
        if after == *before || self.permits_record(actor, update, R::RECORD, &after) {
            return Ok(());
        }
        let field = crate::contact_access::changed_access_attribute(before, &after);
        Err(denial(
            update,
            format!("{}::{} {field}", R::RECORD.cedar_type(), after.id),
            CoreError::Forbidden,
        ))
    }

    /// Records the denial a use case decided inside its transaction, now that the transaction
    /// has ended, and answers with the error it carries.
    pub(crate) async fn recording_denials<T>(
        &self,
        actor: &Actor,
        result: Result<T, CoreError>,
    ) -> Result<T, CoreError> {
        match result {
            Err(CoreError::Denied {
                action,
                target,
                error,
            }) => {
                self.record_denial(actor, &action, &target).await?;
                Err(*error)
            }
            other => other,
        }
    }

    /// The policies' condition on `record` rows the actor may read, for a list query.
    pub(crate) fn read_filter(
        &self,
        actor: &Actor,
        record: RecordType,
    ) -> Result<RecordFilter, CoreError> {
        self.action_filter(actor, Action::Record(RecordAction::Read), record)
    }

    /// The policies' condition on `record` rows the actor may do `action` to (aggregates
    /// count only what each caller may read of each row).
    pub(crate) fn action_filter(
        &self,
        actor: &Actor,
        action: Action,
        record: RecordType,
    ) -> Result<RecordFilter, CoreError> {
        let ctx = self.request_context(actor);
        self.authz()
            .record_filter(&actor.principal, action, record, &ctx)
    }

    /// A page of readable rows. The condition is already in the query; when it is exact the
    /// page is the query's page. Otherwise each row is decided and further pages are read
    /// until this one is full, so pages stay full and the cursor exact.
    pub(crate) async fn readable_page<R: AccessRow, F>(
        &self,
        actor: &Actor,
        filter: &RecordFilter,
        limit: u64,
        mut after: Option<After>,
        mut fetch: impl FnMut(Option<After>) -> F,
        key_of: impl Fn(&R) -> (KeyValue, Uuid),
    ) -> Result<Page<R>, CoreError>
    where
        F: Future<Output = Result<Page<R>, custodian_store::StoreError>>,
    {
        if filter.exact {
            return Ok(fetch(after).await?);
        }
        let wanted = usize::try_from(limit).unwrap_or(usize::MAX);
        let read = Action::Record(RecordAction::Read);
        let mut items = Vec::new();
        for _ in 0..MAX_FILL_ROUNDS {
            let page = fetch(after.take()).await?;
            after = page.items.last().map(|last| {
                let (key, id) = key_of(last);
                After { key, id }
            });
            for row in page.items {
                if self.permits_record(actor, read, R::RECORD, &row.access_attrs()) {
                    items.push(row);
                    if items.len() == wanted {
                        return Ok(Page {
                            items,
                            has_more: true,
                        });
                    }
                }
            }
            if !page.has_more {
                return Ok(Page {
                    items,
                    has_more: false,
                });
            }
        }
        // Many rows in a row were not readable: a short page, and the cursor goes on from it.
        Ok(Page {
            items,
            has_more: true,
        })
    }

    /// Records the read of a list page of personal data: one event naming the kind of record
    /// and every id shown (none for an empty page).
    pub(crate) async fn audit_page_read(
        &self,
        actor: &Actor,
        kind: &'static str,
        ids: impl IntoIterator<Item = Uuid>,
    ) -> Result<(), CoreError> {
        let ids: Vec<String> = ids.into_iter().map(|id| id.to_string()).collect();
        if ids.is_empty() {
            return Ok(());
        }
        self.audit_read(
            crate::audit::AuditEvent::by(actor, custodian_domain::audit::AuditCode::DataRead)
                .detail("list", kind)
                .detail("count", ids.len())
                .detail("ids", ids),
        )
        .await
    }

    /// Whether the actor reads `group` of the row in full.
    pub(crate) fn reads_group<R: AccessRow>(
        &self,
        actor: &Actor,
        row: &R,
        group: FieldGroup,
    ) -> bool {
        self.group_access(actor, R::RECORD, &row.access_attrs(), group) == GroupAccess::Full
    }

    /// Refuses a write naming a field of `group` the actor may not update on the record
    /// (`field_not_permitted`). Safe inside a transaction.
    pub(crate) fn require_group_update<R: AccessRow>(
        &self,
        actor: &Actor,
        row: &R,
        field: &str,
        group: FieldGroup,
    ) -> Result<(), CoreError> {
        let attrs = row.access_attrs();
        let action = Action::Field(group, FieldAccess::Update);
        if self.permits_record(actor, action, R::RECORD, &attrs) {
            return Ok(());
        }
        Err(denial(
            action,
            format!("{}::{} {field}", R::RECORD.cedar_type(), attrs.id),
            CoreError::FieldNotPermitted {
                field: field.to_owned(),
                group: group.code(),
            },
        ))
    }
}

/// A denial to be recorded after the transaction (see [`Core::recording_denials`]).
pub(crate) fn denial(action: Action, target: String, error: CoreError) -> CoreError {
    CoreError::Denied {
        action: action.id(),
        target,
        error: Box::new(error),
    }
}
