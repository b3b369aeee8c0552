//! Policy administration: the authorization policies as versioned Cedar text in the database,
//! each change validated against the generated schema, refused if it would lock every
//! administrator out, carrying a reason and a diff, and (by default) approved by a second
//! administrator before it takes effect. Every server checks the version in force on each
//! request, so a change applies on the next request everywhere. "Explain" answers why a user
//! may or may not do something, naming the deciding policies; "who can read" lists the users a
//! record is visible to.

use crate::authz::model::{DEFAULT_POLICIES, ROLE_ADMINISTRATOR as ROLE_ADMIN};
use crate::authz::{
    Action, Authz, Explanation, Principal, RecordAction, RecordAttrs, RecordType, Resource,
    SystemAction,
};
use crate::record_access::AccessRow;
use crate::security_events::{NewSecurityEvent, SecurityEventKind};
use crate::{Actor, Core, CoreError};
use custodian_domain::clock::from_millis;
use custodian_domain::{FieldError, UserId};
use custodian_store::entities::policy_version;
use custodian_store::repo;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Longest policy text accepted.
pub const MAX_POLICY_BYTES: usize = 256 * 1024;
const MAX_REASON_CHARS: usize = 500;
/// Versions shown in the history.
const HISTORY: u64 = 50;
/// Lines above which a diff is not computed line by line (quadratic).
const MAX_DIFF_LINES: usize = 4000;

/// A proposed change of the policies.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
pub struct ProposePolicies {
    /// The whole policy set, Cedar text.
    pub text: String,
    /// Why: shown in the history and the audit trail.
    pub reason: String,
}

/// One version of the policies.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct PolicyVersionView {
    pub version: i64,
    /// `proposed`, `active`, `superseded` or `rejected`.
    pub status: String,
    pub reason: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub proposed_by: UserId,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub proposed_at: time::OffsetDateTime,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub decided_by: Option<UserId>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub decided_at: Option<time::OffsetDateTime>,
}

/// A version with its text and its difference from the version in force before it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct PolicyVersionDetail {
    #[serde(flatten)]
    pub version: PolicyVersionView,
    pub text: String,
    /// Against the policies in force when it was proposed (or now, for a proposal).
    pub diff: Vec<DiffLine>,
}

/// One line of a diff: `+` added, `-` removed, ` ` unchanged.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    pub op: char,
    pub text: String,
}

/// The policies in force and their history.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct PolicyOverview {
    /// 0: the built-in defaults.
    pub active_version: i64,
    pub text: String,
    /// A change needs a second administrator's approval.
    pub two_person_rule: bool,
    pub history: Vec<PolicyVersionView>,
}

/// An authorization question: may `user` do `action` to `resource`? `Debug` leaves out the
/// user (an e-mail address).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Deserialize)]
pub struct ExplainRequest {
    /// The user's e-mail address or id.
    pub user: String,
    /// An action id, e.g. `read`, `contact_details.reveal`, `admin.users`.
    pub action: String,
    /// `Type:id` (`Contact:0190…`), `Collection:contacts` or `System`.
    pub resource: String,
}

impl std::fmt::Debug for ExplainRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExplainRequest")
            .field("action", &self.action)
            .field("resource", &self.resource)
            .finish_non_exhaustive()
    }
}

/// The answer, with the policies that decided it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct ExplainView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub user_id: UserId,
    pub action: String,
    pub resource: String,
    pub allowed: bool,
    /// The permits that allowed it, or the forbids that denied it; empty when nothing
    /// permitted it (deny by default).
    pub policies: Vec<String>,
    /// Policies that failed to evaluate for this request.
    pub errors: Vec<String>,
    pub policy_version: i64,
}

/// A user who may read a record, and how much of each field group. `Debug` leaves out the
/// display name (personal data).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize)]
pub struct ReaderView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub user_id: UserId,
    pub display_name: String,
    pub roles: Vec<String>,
    /// The permits that let them read it.
    pub policies: Vec<String>,
    pub field_groups: crate::authz::fields::FieldGroups,
}

impl std::fmt::Debug for ReaderView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReaderView")
            .field("user_id", &self.user_id)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

/// Checks policy text against the schema without storing it (`custodian policy check`).
pub fn check_policy_text(text: &str) -> Result<(), CoreError> {
    Authz::new(DEFAULT_POLICIES, 0)?
        .validate(text)
        .map_err(CoreError::InvalidPolicy)
}

fn version_view(row: &policy_version::Model) -> PolicyVersionView {
    PolicyVersionView {
        version: row.version,
        status: row.status.clone(),
        reason: row.reason.clone(),
        proposed_by: UserId(row.proposed_by),
        proposed_at: from_millis(row.proposed_at),
        decided_by: row.decided_by.map(UserId),
        decided_at: row.decided_at.map(from_millis),
    }
}

/// A line diff (longest common subsequence); beyond [`MAX_DIFF_LINES`] the old text is shown
/// removed and the new one added.
pub fn line_diff(old: &str, new: &str) -> Vec<DiffLine> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let line = |op, text: &str| DiffLine {
        op,
        text: text.to_owned(),
    };
    if a.len() > MAX_DIFF_LINES || b.len() > MAX_DIFF_LINES {
        return a
            .iter()
            .map(|l| line('-', l))
            .chain(b.iter().map(|l| line('+', l)))
            .collect();
    }
    // lcs[i][j]: common lines of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            out.push(line(' ', a[i]));
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            out.push(line('-', a[i]));
            i += 1;
        } else {
            out.push(line('+', b[j]));
            j += 1;
        }
    }
    out.extend(a[i..].iter().map(|l| line('-', l)));
    out.extend(b[j..].iter().map(|l| line('+', l)));
    out
}

/// `Type:id`, `Collection:name` or `System` as a record type and id.
enum Target {
    Record(RecordType, Uuid),
    Collection(RecordType),
    System,
}

fn parse_target(raw: &str) -> Result<Target, CoreError> {
    let invalid = || {
        CoreError::from(FieldError::new(
            "resource",
            "invalid_resource",
            "write the resource as Type:id (Contact:<uuid>), Collection:<name> (Collection:contacts) or System",
        ))
    };
    let raw = raw.trim();
    if raw == "System" {
        return Ok(Target::System);
    }
    let (kind, rest) = raw.split_once(':').ok_or_else(invalid)?;
    let rest = rest.trim_start_matches(':').trim_matches('"');
    if kind == "Collection" {
        return RecordType::ALL
            .into_iter()
            .find(|r| r.collection() == rest)
            .map(Target::Collection)
            .ok_or_else(invalid);
    }
    let record = RecordType::ALL
        .into_iter()
        .find(|r| r.cedar_type() == kind)
        .ok_or_else(invalid)?;
    let id = Uuid::parse_str(rest).map_err(|_| invalid())?;
    Ok(Target::Record(record, id))
}

impl Core {
    /// Installs the policies in force if another server (or this one) changed them since
    /// they were loaded: called on every authenticated request, one indexed read.
    pub async fn refresh_policies(&self) -> Result<(), CoreError> {
        let conn = self.store().conn();
        let version = repo::policy_versions::active_version(conn)
            .await?
            .unwrap_or(0);
        if version == self.authz().version() {
            return Ok(());
        }
        let text = match version {
            0 => DEFAULT_POLICIES.to_owned(),
            v => {
                repo::policy_versions::get(conn, v)
                    .await?
                    .ok_or(CoreError::Internal("active policy version missing"))?
                    .policy_text
            }
        };
        // Stored text was validated when it was accepted; a failure here means the schema
        // changed under it, and the old policies stay in force (logged, never silently open).
        if let Err(e) = self.authz().install(&text, version) {
            tracing::error!(version, error = %e, "stored policies no longer validate; keeping the previous ones");
        }
        Ok(())
    }

    /// The policies in force and the history of changes.
    pub async fn policy_overview(&self, actor: &Actor) -> Result<PolicyOverview, CoreError> {
        self.require(actor, SystemAction::ManagePolicies).await?;
        self.refresh_policies().await?;
        let conn = self.store().conn();
        let active_version = self.authz().version();
        let text = self.policy_text(active_version).await?;
        let history = repo::policy_versions::history(conn, HISTORY)
            .await?
            .iter()
            .map(version_view)
            .collect();
        Ok(PolicyOverview {
            active_version,
            text,
            two_person_rule: self.settings().policy_two_person_rule,
            history,
        })
    }

    async fn policy_text(&self, version: i64) -> Result<String, CoreError> {
        if version == 0 {
            return Ok(DEFAULT_POLICIES.to_owned());
        }
        Ok(repo::policy_versions::get(self.store().conn(), version)
            .await?
            .ok_or(CoreError::NotFound {
                entity: "policy version",
            })?
            .policy_text)
    }

    /// One version with its diff against the version before it.
    pub async fn policy_version(
        &self,
        actor: &Actor,
        version: i64,
    ) -> Result<PolicyVersionDetail, CoreError> {
        self.require(actor, SystemAction::ManagePolicies).await?;
        let conn = self.store().conn();
        let row = repo::policy_versions::get(conn, version)
            .await?
            .ok_or(CoreError::NotFound {
                entity: "policy version",
            })?;
        // A proposal is compared with what is in force now; a decided version with the
        // version that preceded it.
        let base = if row.status == "proposed" {
            self.authz().version()
        } else {
            let mut base = 0;
            for v in (1..row.version).rev() {
                if let Some(prev) = repo::policy_versions::get(conn, v).await?
                    && prev.status != "rejected"
                    && prev.status != "proposed"
                {
                    base = v;
                    break;
                }
            }
            base
        };
        let old = self.policy_text(base).await?;
        Ok(PolicyVersionDetail {
            version: version_view(&row),
            diff: line_diff(&old, &row.policy_text),
            text: row.policy_text,
        })
    }

    /// Proposes a new policy set: validated, refused if it would lock every administrator out
    /// of policies and roles, stored with its reason. In force at once, or after a second
    /// administrator approves it when the two-person rule is on.
    pub async fn propose_policies(
        &self,
        actor: &Actor,
        input: ProposePolicies,
    ) -> Result<PolicyVersionView, CoreError> {
        self.require(actor, SystemAction::ManagePolicies).await?;
        self.require_recent_auth(actor)?;
        let reason = input.reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
            return Err(FieldError::new(
                "reason",
                "reason_required",
                "say why the policies change (at most 500 characters)",
            )
            .into());
        }
        if input.text.len() > MAX_POLICY_BYTES {
            return Err(FieldError::new(
                "text",
                "too_long",
                "the policies must be at most 256 KiB",
            )
            .into());
        }
        let candidate = self
            .authz()
            .candidate(&input.text)
            .map_err(CoreError::InvalidPolicy)?;
        self.check_no_lockout(&candidate).await?;
        let now = self.now();
        let two_person = self.settings().policy_two_person_rule;
        let txn = self.store().begin().await?;
        let version = repo::policy_versions::next_version(&txn).await?;
        let row = policy_version::Model {
            version,
            policy_text: input.text,
            reason: reason.to_owned(),
            status: if two_person { "proposed" } else { "active" }.to_owned(),
            proposed_by: actor.user_id.as_uuid(),
            proposed_at: now,
            decided_by: (!two_person).then(|| actor.user_id.as_uuid()),
            decided_at: (!two_person).then_some(now),
        };
        repo::policy_versions::insert(&txn, row.clone()).await?;
        if !two_person {
            repo::policy_versions::supersede_before(&txn, version).await?;
        }
        txn.commit().await?;
        let event = if two_person { "proposed" } else { "activated" };
        self.record_policy_event(actor, &format!("{event} v{version}"))
            .await?;
        if !two_person {
            self.refresh_policies().await?;
        }
        Ok(version_view(&row))
    }

    /// A second administrator puts a proposal in force (never its proposer).
    pub async fn approve_policies(
        &self,
        actor: &Actor,
        version: i64,
    ) -> Result<PolicyVersionView, CoreError> {
        let row = self.pending_proposal(actor, version).await?;
        if row.proposed_by == actor.user_id.as_uuid() {
            return Err(CoreError::Rule {
                code: "second_approver_required",
                message: "another administrator must approve a policy change you proposed",
            });
        }
        // The world may have changed since the proposal (roles, users): check again.
        let candidate = self
            .authz()
            .candidate(&row.policy_text)
            .map_err(CoreError::InvalidPolicy)?;
        self.check_no_lockout(&candidate).await?;
        let now = self.now();
        let txn = self.store().begin().await?;
        if !repo::policy_versions::decide(&txn, version, "active", actor.user_id.as_uuid(), now)
            .await?
        {
            return Err(CoreError::Conflict("the proposal was decided meanwhile"));
        }
        repo::policy_versions::supersede_before(&txn, version).await?;
        txn.commit().await?;
        self.record_policy_event(actor, &format!("activated v{version}"))
            .await?;
        self.refresh_policies().await?;
        self.decided_view(version).await
    }

    /// Turns a proposal down (its proposer may withdraw it too).
    pub async fn reject_policies(
        &self,
        actor: &Actor,
        version: i64,
    ) -> Result<PolicyVersionView, CoreError> {
        self.pending_proposal(actor, version).await?;
        let txn = self.store().begin().await?;
        if !repo::policy_versions::decide(
            &txn,
            version,
            "rejected",
            actor.user_id.as_uuid(),
            self.now(),
        )
        .await?
        {
            return Err(CoreError::Conflict("the proposal was decided meanwhile"));
        }
        txn.commit().await?;
        self.record_policy_event(actor, &format!("rejected v{version}"))
            .await?;
        self.decided_view(version).await
    }

    async fn decided_view(&self, version: i64) -> Result<PolicyVersionView, CoreError> {
        repo::policy_versions::get(self.store().conn(), version)
            .await?
            .map(|row| version_view(&row))
            .ok_or(CoreError::Internal("decided policy version missing"))
    }

    async fn pending_proposal(
        &self,
        actor: &Actor,
        version: i64,
    ) -> Result<policy_version::Model, CoreError> {
        self.require(actor, SystemAction::ManagePolicies).await?;
        self.require_recent_auth(actor)?;
        let row = repo::policy_versions::get(self.store().conn(), version)
            .await?
            .ok_or(CoreError::NotFound {
                entity: "policy version",
            })?;
        if row.status != "proposed" {
            return Err(CoreError::Rule {
                code: "not_proposed",
                message: "only a proposed policy version can be approved or rejected",
            });
        }
        Ok(row)
    }

    async fn record_policy_event(&self, actor: &Actor, detail: &str) -> Result<(), CoreError> {
        self.record_security_event(NewSecurityEvent {
            kind: SecurityEventKind::PolicyChange,
            user_id: Some(actor.user_id.as_uuid()),
            session_id: actor.session_id().map(|s| s.as_uuid()),
            client: None,
            detail: Some(detail.to_owned()),
        })
        .await
    }

    /// Refuses a policy set under which no active administrator could still manage
    /// policies and roles (nobody could repair it).
    async fn check_no_lockout(&self, candidate: &Authz) -> Result<(), CoreError> {
        let conn = self.store().conn();
        let ctx = crate::authz::RequestContext {
            now_ms: self.now(),
            ip: None,
            session_age_secs: 0,
            stepped_up: true,
            via_token: false,
        };
        let admins: Vec<Uuid> = repo::users::all_roles(conn)
            .await?
            .into_iter()
            .filter(|(_, role)| role == ROLE_ADMIN)
            .map(|(user, _)| user)
            .collect();
        for id in admins {
            let Some(user) = repo::users::get_live(conn, id).await? else {
                continue;
            };
            if user.status != "active" {
                continue;
            }
            let principal = self.principal_of(&user).await?;
            let may = |action| {
                candidate
                    .is_allowed(&principal, Action::System(action), Resource::System, &ctx)
                    .unwrap_or(false)
            };
            if may(SystemAction::ManagePolicies) && may(SystemAction::ManageRoles) {
                return Ok(());
            }
        }
        Err(CoreError::Rule {
            code: "policy_lockout",
            message: "no administrator could manage policies and roles under these policies; keep a permit for admin.policies and admin.roles for the administrator role",
        })
    }

    /// Why may (or may not) a user do something? Names the deciding policies.
    pub async fn explain(
        &self,
        actor: &Actor,
        request: ExplainRequest,
    ) -> Result<ExplainView, CoreError> {
        self.require(actor, SystemAction::ManagePolicies).await?;
        let action = Action::parse(request.action.trim()).ok_or_else(|| {
            CoreError::from(FieldError::new(
                "action",
                "unknown_action",
                "no such action; see the schema (GET /api/v1/policies/schema)",
            ))
        })?;
        let user = self.user_by_email_or_id(request.user.trim()).await?;
        let principal = self.principal_of(&user).await?;
        let ctx = self.request_context(actor);
        let target = parse_target(&request.resource)?;
        let explanation = match target {
            Target::System => self
                .authz()
                .decide(&principal, action, Resource::System, &ctx)?,
            Target::Collection(record) => {
                self.authz()
                    .decide(&principal, action, Resource::Collection(record), &ctx)?
            }
            Target::Record(record, id) => {
                let attrs = self.record_attrs(record, id).await?;
                self.authz()
                    .decide(&principal, action, Resource::Record(record, &attrs), &ctx)?
            }
        };
        let Explanation {
            allowed,
            policies,
            errors,
        } = explanation;
        Ok(ExplainView {
            user_id: UserId(user.id),
            action: action.id(),
            resource: request.resource.trim().to_owned(),
            allowed,
            policies,
            errors,
            policy_version: self.authz().version(),
        })
    }

    /// The users who may read a record, with the policies that let them and their access
    /// to each field group.
    pub async fn who_can_read(
        &self,
        actor: &Actor,
        resource: &str,
    ) -> Result<Vec<ReaderView>, CoreError> {
        self.require(actor, SystemAction::ManagePolicies).await?;
        let Target::Record(record, id) = parse_target(resource)? else {
            return Err(FieldError::new(
                "resource",
                "invalid_resource",
                "name one record as Type:id, e.g. Contact:<uuid>",
            )
            .into());
        };
        let attrs = self.record_attrs(record, id).await?;
        let conn = self.store().conn();
        let ctx = self.request_context(actor);
        let org = self.keys().org_key(conn).await?;
        let mut out = Vec::new();
        for user in repo::users::all(conn).await? {
            if user.status != "active" || user.deleted_at.is_some() {
                continue;
            }
            let principal = self.principal_of(&user).await?;
            let read = self.authz().decide(
                &principal,
                Action::Record(RecordAction::Read),
                Resource::Record(record, &attrs),
                &ctx,
            )?;
            if !read.allowed {
                continue;
            }
            let field_groups = self.field_groups_for(&principal, record, &attrs, &ctx);
            let (email, name) = self.open_identity(&org, &user)?;
            out.push(ReaderView {
                user_id: UserId(user.id),
                display_name: name.unwrap_or(email),
                roles: principal.roles.clone(),
                policies: read.policies,
                field_groups,
            });
        }
        Ok(out)
    }

    /// A record's access attributes, whatever its type (404 if there is none).
    async fn record_attrs(&self, record: RecordType, id: Uuid) -> Result<RecordAttrs, CoreError> {
        let conn = self.store().conn();
        let missing = CoreError::NotFound {
            entity: record.entity_name(),
        };
        let attrs = match record {
            RecordType::Contact => {
                let row = repo::contacts::get(conn, id).await?.ok_or(missing)?;
                self.contact_attrs_of(conn, &row).await?
            }
            RecordType::Company => repo::companies::get(conn, id)
                .await?
                .ok_or(missing)?
                .access_attrs(),
            RecordType::Deal => repo::deals::get(conn, id)
                .await?
                .ok_or(missing)?
                .access_attrs(),
            RecordType::Lead => repo::leads::get(conn, id)
                .await?
                .ok_or(missing)?
                .access_attrs(),
            RecordType::Activity => repo::activities::get(conn, id)
                .await?
                .ok_or(missing)?
                .access_attrs(),
            RecordType::Task => repo::tasks::get(conn, id)
                .await?
                .ok_or(missing)?
                .access_attrs(),
            RecordType::Order => repo::orders::get(conn, id)
                .await?
                .ok_or(missing)?
                .access_attrs(),
            RecordType::Complaint => repo::complaints::get(conn, id)
                .await?
                .ok_or(missing)?
                .access_attrs(),
            RecordType::SurveyResponse => repo::surveys::get(conn, id)
                .await?
                .ok_or(missing)?
                .access_attrs(),
        };
        Ok(attrs)
    }

    async fn user_by_email_or_id(
        &self,
        user: &str,
    ) -> Result<custodian_store::entities::user::Model, CoreError> {
        let conn = self.store().conn();
        let found = match Uuid::parse_str(user) {
            Ok(id) => repo::users::get_live(conn, id).await?,
            Err(_) => match custodian_domain::values::Email::parse("user", user) {
                Ok(email) => {
                    let lookup = self.keys().lookup("users", "email", email.as_str())?;
                    repo::users::by_email_lookup(conn, &lookup).await?
                }
                Err(_) => None,
            },
        };
        found.ok_or_else(|| {
            FieldError::new("user", "unknown_user", "no user with this e-mail or id").into()
        })
    }

    fn field_groups_for(
        &self,
        principal: &Principal,
        record: RecordType,
        attrs: &RecordAttrs,
        ctx: &crate::authz::RequestContext,
    ) -> crate::authz::fields::FieldGroups {
        use crate::authz::fields::GroupAccess;
        use crate::authz::{FieldAccess, FieldGroup};
        FieldGroup::ALL
            .into_iter()
            .map(|group| {
                let may = |access| {
                    self.authz()
                        .is_allowed(
                            principal,
                            Action::Field(group, access),
                            Resource::Record(record, attrs),
                            ctx,
                        )
                        .unwrap_or(false)
                };
                let access = if may(FieldAccess::Read) {
                    GroupAccess::Full
                } else if may(FieldAccess::ReadMasked) {
                    GroupAccess::Masked
                } else {
                    GroupAccess::Hidden
                };
                (group.code(), access)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::PolicyError;

    #[test]
    fn diff_marks_added_and_removed_lines() {
        let diff = line_diff("a\nb\nc\n", "a\nc\nd\n");
        let ops: String = diff.iter().map(|l| l.op).collect();
        let text: Vec<&str> = diff.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(ops, " - +");
        assert_eq!(text, ["a", "b", "c", "d"]);
    }

    #[test]
    fn policy_text_is_checked_against_the_schema() {
        assert!(check_policy_text(DEFAULT_POLICIES).is_ok());
        assert!(matches!(
            check_policy_text("permit (principal, action, resource"),
            Err(CoreError::InvalidPolicy(PolicyError::Parse(_)))
        ));
        let unknown_action = "@id(\"x\")\npermit (principal, action == Action::\"fly\", resource);";
        assert!(matches!(
            check_policy_text(unknown_action),
            Err(CoreError::InvalidPolicy(PolicyError::Invalid(_)))
        ));
    }

    #[test]
    fn resources_are_parsed() {
        assert!(matches!(parse_target("System"), Ok(Target::System)));
        assert!(matches!(
            parse_target("Collection:contacts"),
            Ok(Target::Collection(RecordType::Contact))
        ));
        assert!(matches!(
            parse_target("Deal:00000000-0000-0000-0000-000000000001"),
            Ok(Target::Record(RecordType::Deal, _))
        ));
        assert!(parse_target("Dragon:1").is_err());
        assert!(parse_target("Contact:not-a-uuid").is_err());
    }
}
