//! The MFA policy: administrators require a second factor of everyone, of a role or of a
//! team. A user it covers who has no authenticator yet is signed in to a restricted session
//! that can do nothing but set one up (the web layer enforces the restriction on every route);
//! confirming the authenticator replaces that session with a full one under a new token. A user
//! it covers cannot remove their authenticator, and an administrator's reset sends them through
//! enrolment again at their next sign-in.

use crate::audit::AuditEvent;
use crate::{Actor, Core, CoreError};
use custodian_domain::FieldError;
use custodian_domain::audit::AuditCode;
use custodian_store::entities::{mfa_requirement, user};
use custodian_store::repo;
use serde::{Deserialize, Serialize};

pub const SCOPE_EVERYONE: &str = "everyone";
pub const SCOPE_ROLE: &str = "role";
pub const SCOPE_TEAM: &str = "team";
const TARGET: &str = "mfa_requirement";

/// The event of a change of the policy: which rule, its scope and (for a role) the role; a
/// team's name is left out.
fn policy_event(actor: &Actor, row: &mfa_requirement::Model, change: &str) -> AuditEvent {
    let event = AuditEvent::by(actor, AuditCode::ConfigChange)
        .target(TARGET, row.id)
        .detail("setting", "mfa_policy")
        .detail("change", change)
        .detail("scope", row.scope.clone());
    if row.scope == SCOPE_ROLE {
        event.detail("role", row.value.clone())
    } else {
        event
    }
}

/// One rule of the policy.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct MfaRequirement {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: uuid::Uuid,
    /// `everyone`, `role` or `team`.
    pub scope: String,
    /// The role or team; empty for everyone.
    pub value: String,
    pub created_at: i64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaRequirementInput {
    pub scope: String,
    #[serde(default)]
    pub value: String,
}

fn view(row: mfa_requirement::Model) -> MfaRequirement {
    MfaRequirement {
        id: row.id,
        scope: row.scope,
        value: row.value,
        created_at: row.created_at,
    }
}

/// Whether `rules` cover `user`, who holds `roles`.
pub(crate) fn covers(
    rules: &[mfa_requirement::Model],
    user: &user::Model,
    roles: &[String],
) -> bool {
    rules.iter().any(|r| match r.scope.as_str() {
        SCOPE_EVERYONE => true,
        SCOPE_ROLE => roles.contains(&r.value),
        SCOPE_TEAM => user.team.as_deref() == Some(r.value.as_str()),
        _ => false,
    })
}

impl Core {
    pub async fn mfa_policy(&self, actor: &Actor) -> Result<Vec<MfaRequirement>, CoreError> {
        self.require(actor, crate::authz::SystemAction::ManageUsers)
            .await?;
        Ok(repo::mfa_requirements::all(self.store().conn())
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    /// Adds a rule (administrators, after their step-up: it changes how people sign in).
    pub async fn add_mfa_requirement(
        &self,
        actor: &Actor,
        input: MfaRequirementInput,
    ) -> Result<MfaRequirement, CoreError> {
        self.require(actor, crate::authz::SystemAction::ManageUsers)
            .await?;
        self.require_recent_auth(actor)?;
        let value = match input.scope.as_str() {
            SCOPE_EVERYONE => String::new(),
            SCOPE_ROLE => {
                let role = input.value.trim();
                crate::users::check_roles("value", &[role.to_owned()])?;
                role.to_owned()
            }
            SCOPE_TEAM => custodian_domain::values::Team::parse("value", &input.value)?
                .as_str()
                .to_owned(),
            _ => {
                return Err(FieldError::new(
                    "scope",
                    "invalid_choice",
                    "must be everyone, role or team",
                )
                .into());
            }
        };
        let now = self.now();
        let row = mfa_requirement::Model {
            id: custodian_domain::ids::uuid_at(now),
            scope: input.scope,
            value,
            created_by: actor.user_id.as_uuid(),
            created_at: now,
        };
        let txn = self.store().begin().await?;
        match repo::mfa_requirements::insert(&txn, row.clone()).await {
            Err(e) if e.is_unique_violation() => {
                return Err(CoreError::Conflict("this requirement exists already"));
            }
            other => other?,
        }
        self.audit_in(&txn, vec![policy_event(actor, &row, "create")])
            .await?;
        txn.commit().await?;
        Ok(view(row))
    }

    /// Removes a rule (administrators, after their step-up).
    pub async fn remove_mfa_requirement(
        &self,
        actor: &Actor,
        id: uuid::Uuid,
    ) -> Result<(), CoreError> {
        self.require(actor, crate::authz::SystemAction::ManageUsers)
            .await?;
        self.require_recent_auth(actor)?;
        let txn = self.store().begin().await?;
        let rule = repo::mfa_requirements::all(&txn)
            .await?
            .into_iter()
            .find(|r| r.id == id);
        let Some(rule) = rule else {
            return Err(CoreError::NotFound {
                entity: "MFA requirement",
            });
        };
        if !repo::mfa_requirements::delete(&txn, id).await? {
            return Err(CoreError::NotFound {
                entity: "MFA requirement",
            });
        }
        self.audit_in(&txn, vec![policy_event(actor, &rule, "delete")])
            .await?;
        txn.commit().await?;
        Ok(())
    }

    pub(crate) async fn mfa_required_for(&self, user: &user::Model) -> Result<bool, CoreError> {
        let conn = self.store().conn();
        let rules = repo::mfa_requirements::all(conn).await?;
        let roles = repo::users::roles(conn, user.id).await?;
        Ok(covers(&rules, user, &roles))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(scope: &str, value: &str) -> mfa_requirement::Model {
        mfa_requirement::Model {
            id: uuid::Uuid::nil(),
            scope: scope.to_owned(),
            value: value.to_owned(),
            created_by: uuid::Uuid::nil(),
            created_at: 0,
        }
    }

    fn user(team: Option<&str>) -> user::Model {
        user::Model {
            id: uuid::Uuid::nil(),
            email_lookup: Vec::new(),
            email_ct: Vec::new(),
            display_name_ct: None,
            password_hash: None,
            locale: None,
            status: "active".to_owned(),
            created_at: 0,
            updated_at: 0,
            team: team.map(str::to_owned),
            department: None,
            region: None,
            email_verified_at: None,
            phone_ct: None,
            phone_verified_at: None,
            email_codes_at: None,
            sms_codes_at: None,
            deleted_at: None,
            clearance: 0,
        }
    }

    #[test]
    fn rules_cover_everyone_a_role_or_a_team() {
        let north = user(Some("North"));
        let sales = ["sales".to_owned(), "marketing".to_owned()];
        assert!(!covers(&[], &north, &sales));
        assert!(covers(&[rule("everyone", "")], &north, &sales));
        assert!(covers(&[rule("role", "marketing")], &north, &sales));
        assert!(!covers(&[rule("role", "administrator")], &north, &sales));
        assert!(covers(&[rule("team", "North")], &north, &sales));
        assert!(!covers(&[rule("team", "South")], &north, &sales));
        assert!(!covers(&[rule("team", "North")], &user(None), &sales));
    }
}
