//! How use cases ask the policies: the actor's request context, function-level checks, and
//! denials recorded as security events.

use super::{
    Action, CollectionAction, Principal, RecordAttrs, RecordType, RequestContext, Resource,
    SystemAction,
};
use crate::security_events::{NewSecurityEvent, SecurityEventKind};
use crate::{Actor, AuthMethod, Core, CoreError};
use custodian_store::repo;
use std::sync::Arc;

impl Core {
    pub(crate) fn authz(&self) -> &super::Authz {
        &self.inner.authz
    }

    /// The actor's request as policies see it.
    pub(crate) fn request_context(&self, actor: &Actor) -> RequestContext {
        let now = self.now();
        let stepped_up = self.require_recent_auth(actor).is_ok();
        RequestContext {
            now_ms: now,
            ip: actor.client_ip,
            session_age_secs: actor
                .session_started_at
                .map_or(0, |started| (now - started).max(0) / 1000),
            stepped_up,
            via_token: matches!(actor.method, AuthMethod::ApiToken(_)),
        }
    }

    /// The user's roles and attributes for policies.
    pub(crate) async fn principal_of(
        &self,
        user: &custodian_store::entities::user::Model,
    ) -> Result<Arc<Principal>, CoreError> {
        let conn = self.store().conn();
        let roles = repo::users::roles(conn, user.id).await?;
        let mfa = self.has_second_factor(user).await?;
        Ok(Arc::new(Principal {
            user_id: user.id,
            roles,
            team: user.team.clone(),
            department: user.department.clone(),
            region: user.region.clone(),
            mfa,
            clearance: user.clearance,
            training_current: false,
        }))
    }

    /// Whether the policies allow `action` on `resource` (no event; for deciding what to
    /// show). A failure to decide is a denial.
    pub fn permits(&self, actor: &Actor, action: Action, resource: Resource<'_>) -> bool {
        let ctx = self.request_context(actor);
        self.authz()
            .is_allowed(&actor.principal, action, resource, &ctx)
            .unwrap_or(false)
    }

    /// Whether the actor may use a system function (menus, pages).
    pub fn may(&self, actor: &Actor, action: SystemAction) -> bool {
        self.permits(actor, Action::System(action), Resource::System)
    }

    /// Records a denial and returns the error for it.
    pub(crate) async fn denied(
        &self,
        actor: &Actor,
        action: Action,
        target: &str,
    ) -> Result<CoreError, CoreError> {
        self.record_denial(actor, &action.id(), target).await?;
        Ok(CoreError::Forbidden)
    }

    /// Records an `authz_fail` security event. Never inside a transaction: on SQLite the
    /// event needs the one writer.
    pub(crate) async fn record_denial(
        &self,
        actor: &Actor,
        action: &str,
        target: &str,
    ) -> Result<(), CoreError> {
        self.record_security_event(NewSecurityEvent {
            kind: SecurityEventKind::AccessDenied,
            user_id: Some(actor.user_id.as_uuid()),
            session_id: actor.session_id().map(|s| s.as_uuid()),
            client: None,
            detail: Some(format!("{action} {target}")),
        })
        .await
    }

    /// Function level: refuses (and records) a system function the actor may not use.
    pub(crate) async fn require(
        &self,
        actor: &Actor,
        action: SystemAction,
    ) -> Result<(), CoreError> {
        if self.may(actor, action) {
            return Ok(());
        }
        Err(self
            .denied(actor, Action::System(action), "System::custodian")
            .await?)
    }

    /// Function level for a collection: list, export or import.
    pub(crate) async fn require_collection(
        &self,
        actor: &Actor,
        record: RecordType,
        action: CollectionAction,
    ) -> Result<(), CoreError> {
        if self.permits(
            actor,
            Action::Collection(action),
            Resource::Collection(record),
        ) {
            return Ok(());
        }
        Err(self
            .denied(
                actor,
                Action::Collection(action),
                &format!("Collection::{}", record.collection()),
            )
            .await?)
    }

    /// Whether the actor may do `action` to the record (no event).
    pub(crate) fn permits_record(
        &self,
        actor: &Actor,
        action: Action,
        record: RecordType,
        attrs: &RecordAttrs,
    ) -> bool {
        self.permits(actor, action, Resource::Record(record, attrs))
    }

    /// Object level: a record the actor may not read does not exist for them (404, so ids
    /// cannot be probed); one they may read but not change is a 403. Both are recorded.
    pub(crate) async fn require_record(
        &self,
        actor: &Actor,
        action: Action,
        record: RecordType,
        attrs: &RecordAttrs,
    ) -> Result<(), CoreError> {
        if self.permits_record(actor, action, record, attrs) {
            return Ok(());
        }
        let readable = action != Action::Record(super::RecordAction::Read)
            && self.permits_record(
                actor,
                Action::Record(super::RecordAction::Read),
                record,
                attrs,
            );
        let error = self
            .denied(
                actor,
                action,
                &format!("{}::{}", record.cedar_type(), attrs.id),
            )
            .await?;
        Err(if readable {
            error
        } else {
            CoreError::NotFound {
                entity: record.entity_name(),
            }
        })
    }
}
