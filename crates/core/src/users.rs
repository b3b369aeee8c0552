//! User administration: creating staff users, their team, department and region (attributes
//! authorization will evaluate), disabling (which ends every session at once) and enabling,
//! and resetting a user's second factors after a lost phone (with the administrator's own
//! step-up). Invitations by e-mail arrive with the mail transport.

use crate::audit::AuditEvent;
use crate::auth::ROLE_ADMIN;
use crate::authz::SystemAction;
use crate::{Actor, Core, CoreError};
use custodian_crypto::envelope::DataKey;
use custodian_domain::UserId;
use custodian_domain::audit::AuditCode;
use custodian_store::entities::user;
use custodian_store::repo;
use secrecy::SecretString;

/// At most this many roles per user.
const MAX_ROLES: usize = 20;

/// Refuses roles that do not exist, sorted and without repeats on success.
pub(crate) fn check_roles(field: &str, roles: &[String]) -> Result<Vec<String>, CoreError> {
    let mut checked = Vec::with_capacity(roles.len());
    for role in roles {
        let role = role.trim();
        if !crate::authz::model::BUILTIN_ROLES.contains(&role) {
            return Err(custodian_domain::FieldError::new(
                field,
                "invalid_role",
                format!(
                    "unknown role; the roles are: {}",
                    crate::authz::model::BUILTIN_ROLES.join(", ")
                ),
            )
            .into());
        }
        checked.push(role.to_owned());
    }
    if checked.len() > MAX_ROLES {
        return Err(custodian_domain::FieldError::new(
            field,
            "too_many",
            format!("at most {MAX_ROLES} roles"),
        )
        .into());
    }
    checked.sort();
    checked.dedup();
    Ok(checked)
}

impl Core {
    /// Creates an active user with `roles`. Administrators only; the password policy of
    /// sign-up applies. A taken e-mail is a 409 `conflict`.
    pub async fn create_user(
        &self,
        actor: &Actor,
        email: &str,
        display_name: &str,
        roles: &[String],
        password: SecretString,
    ) -> Result<UserId, CoreError> {
        self.require(actor, SystemAction::ManageUsers).await?;
        let roles = check_roles("roles", roles)?;
        if !roles.is_empty() {
            self.require(actor, SystemAction::ManageRoles).await?;
        }
        let (email, display_name) = crate::auth::parse_identity(email, display_name)?;
        let password = self.check_password_policy(password, &email)?;
        let hash = self.hash_password(password).await?;
        let now = self.now();
        let txn = self.store().begin().await?;
        let id = self
            .insert_user(
                &txn,
                crate::auth::NewUser {
                    email: &email,
                    display_name: display_name.as_ref(),
                    password_hash: Some(hash),
                    roles: &roles,
                    status: crate::auth::STATUS_ACTIVE,
                },
                now,
            )
            .await?;
        self.audit_in(
            &txn,
            vec![
                AuditEvent::by(actor, AuditCode::UserCreate)
                    .target("user", id.as_uuid())
                    .detail("roles", roles.clone()),
            ],
        )
        .await?;
        txn.commit().await?;
        Ok(id)
    }
}

/// The status of a user who may not sign in.
pub const STATUS_DISABLED: &str = "disabled";

/// A user as administrators see them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, serde::Serialize)]
pub struct UserAdminView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: UserId,
    pub email: String,
    pub display_name: Option<String>,
    pub roles: Vec<String>,
    /// `active`, `invited` (has not chosen a password yet) or `disabled`.
    pub status: String,
    pub team: Option<String>,
    pub department: Option<String>,
    pub region: Option<String>,
    /// An authenticator app is set up.
    pub second_factor: bool,
    pub created_at: i64,
}
crate::redacted_debug!(UserAdminView);

/// The organisational attributes of a user; `None` clears one.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserAttributes {
    pub team: Option<String>,
    pub department: Option<String>,
    pub region: Option<String>,
}

impl Core {
    /// Any user not deleted (active, invited or disabled), or 404.
    pub(crate) async fn user_row(&self, id: UserId) -> Result<user::Model, CoreError> {
        repo::users::get_live(self.store().conn(), id.as_uuid())
            .await?
            .ok_or(CoreError::NotFound { entity: "user" })
    }

    /// A user's e-mail address and display name, decrypted.
    pub(crate) fn open_identity(
        &self,
        org: &DataKey,
        row: &user::Model,
    ) -> Result<(String, Option<String>), CoreError> {
        let email = self
            .keys()
            .decrypt_string(org, "users", "email", row.id, &row.email_ct)?;
        let display_name = row
            .display_name_ct
            .as_deref()
            .map(|ct| {
                self.keys()
                    .decrypt_string(org, "users", "display_name", row.id, ct)
            })
            .transpose()?;
        Ok((email, display_name))
    }

    fn admin_view(
        &self,
        org: &DataKey,
        row: user::Model,
        roles: Vec<String>,
        second_factor: bool,
    ) -> Result<UserAdminView, CoreError> {
        let (email, display_name) = self.open_identity(org, &row)?;
        Ok(UserAdminView {
            id: UserId(row.id),
            email,
            display_name,
            second_factor,
            roles,
            status: row.status,
            team: row.team,
            department: row.department,
            region: row.region,
            created_at: row.created_at,
        })
    }

    /// Every user with their attributes and second-factor state (administrators).
    pub async fn list_users(&self, actor: &Actor) -> Result<Vec<UserAdminView>, CoreError> {
        self.require(actor, crate::authz::SystemAction::ManageUsers)
            .await?;
        let conn = self.store().conn();
        let rows = repo::users::all(conn).await?;
        let with_totp: std::collections::HashSet<uuid::Uuid> =
            repo::second_factors::users_with_totp(conn)
                .await?
                .into_iter()
                .collect();
        let mut roles: std::collections::HashMap<uuid::Uuid, Vec<String>> =
            std::collections::HashMap::new();
        for (user, role) in repo::users::all_roles(conn).await? {
            roles.entry(user).or_default().push(role);
        }
        let org = self.keys().org_key(conn).await?;
        rows.into_iter()
            .map(|row| {
                let second_factor = with_totp.contains(&row.id)
                    || row.email_codes_at.is_some()
                    || row.sms_codes_at.is_some();
                let roles = roles.remove(&row.id).unwrap_or_default();
                self.admin_view(&org, row, roles, second_factor)
            })
            .collect()
    }

    /// One user as administrators see them.
    pub async fn user_for_admin(
        &self,
        actor: &Actor,
        id: UserId,
    ) -> Result<UserAdminView, CoreError> {
        self.require(actor, crate::authz::SystemAction::ManageUsers)
            .await?;
        let row = self.user_row(id).await?;
        let second_factor = self.has_second_factor(&row).await?;
        let conn = self.store().conn();
        let roles = repo::users::roles(conn, row.id).await?;
        let org = self.keys().org_key(conn).await?;
        self.admin_view(&org, row, roles, second_factor)
    }

    /// Replaces a user's roles (administrators, after their step-up: it changes what someone
    /// may see). Removing the administrator role from the last active administrator is refused,
    /// so the organisation never locks itself out. Effective on the user's next request.
    pub async fn set_user_roles(
        &self,
        actor: &Actor,
        id: UserId,
        roles: &[String],
    ) -> Result<Vec<String>, CoreError> {
        self.require(actor, SystemAction::ManageRoles).await?;
        self.require_recent_auth(actor)?;
        let roles = check_roles("roles", roles)?;
        let row = self.user_row(id).await?;
        let txn = self.store().begin().await?;
        let before = repo::users::roles(&txn, row.id).await?;
        let loses_admin =
            before.iter().any(|r| r == ROLE_ADMIN) && !roles.iter().any(|r| r == ROLE_ADMIN);
        if loses_admin
            && row.status == crate::auth::STATUS_ACTIVE
            && repo::users::count_active_with_role(&txn, ROLE_ADMIN).await? <= 1
        {
            return Err(CoreError::Rule {
                code: "last_administrator",
                message: "this is the last active administrator; make someone else an administrator first",
            });
        }
        repo::users::set_roles(&txn, row.id, &roles, self.now()).await?;
        self.audit_in(
            &txn,
            vec![
                AuditEvent::by(actor, AuditCode::AuthzRoleChange)
                    .target("user", row.id)
                    .detail("before", before.clone())
                    .detail("after", roles.clone()),
            ],
        )
        .await?;
        txn.commit().await?;
        tracing::info!(
            target: "security",
            user_id = %row.id,
            by = %actor.user_id,
            before = %before.join(" "),
            after = %roles.join(" "),
            "roles changed"
        );
        self.inner.auth_cache.forget_user(id);
        Ok(roles)
    }

    /// Sets a user's team, department and region (administrators).
    pub async fn set_user_attributes(
        &self,
        actor: &Actor,
        id: UserId,
        attributes: UserAttributes,
    ) -> Result<(), CoreError> {
        self.require(actor, crate::authz::SystemAction::ManageUsers)
            .await?;
        let mut v = custodian_domain::error::Validator::new();
        let label = |v: &mut custodian_domain::error::Validator,
                     field: &str,
                     raw: Option<String>| {
            match raw.filter(|r| !r.trim().is_empty()) {
                None => Some(None),
                Some(raw) => v
                    .check(custodian_domain::values::Team::parse(field, &raw))
                    .map(|t| Some(t.as_str().to_owned())),
            }
        };
        let team = label(&mut v, "team", attributes.team);
        let department = label(&mut v, "department", attributes.department);
        let region = match attributes.region.filter(|r| !r.trim().is_empty()) {
            None => Some(None),
            Some(raw) => v
                .check(custodian_domain::values::Region::parse("region", &raw))
                .map(|r| Some(r.as_str().to_owned())),
        };
        v.finish()?;
        let (Some(team), Some(department), Some(region)) = (team, department, region) else {
            return Err(CoreError::Internal("validator accepted missing fields"));
        };
        let mut row = self.user_row(id).await?;
        row.team = team;
        row.department = department;
        row.region = region;
        row.updated_at = self.now();
        let event = AuditEvent::by(actor, AuditCode::UserUpdate)
            .target("user", row.id)
            .detail("fields", vec!["team", "department", "region"]);
        let txn = self.store().begin().await?;
        repo::users::update(&txn, row).await?;
        self.audit_in(&txn, vec![event]).await?;
        txn.commit().await?;
        self.inner.auth_cache.forget_user(id);
        Ok(())
    }

    /// Disables a user (administrators; never oneself): every session ends at once and no
    /// sign-in or API token works until enabled again. Returns the sessions ended.
    pub async fn disable_user(&self, actor: &Actor, id: UserId) -> Result<usize, CoreError> {
        self.require(actor, crate::authz::SystemAction::ManageUsers)
            .await?;
        if id == actor.user_id {
            return Err(CoreError::Rule {
                code: "cannot_disable_self",
                message: "you cannot disable your own account; ask another administrator",
            });
        }
        let now = self.now();
        let mut row = self.user_row(id).await?;
        row.status = STATUS_DISABLED.to_owned();
        row.updated_at = now;
        let txn = self.store().begin().await?;
        repo::users::update(&txn, row).await?;
        let ended =
            repo::sessions::end_all_of_user(&txn, id.as_uuid(), None, now, "user_disabled").await?;
        self.audit_in(
            &txn,
            vec![
                AuditEvent::by(actor, AuditCode::UserDisable)
                    .target("user", id.as_uuid())
                    .detail("sessions_ended", ended.len()),
            ],
        )
        .await?;
        txn.commit().await?;
        self.forget_sessions(&ended);
        self.inner.auth_cache.forget_user(id);
        Ok(ended.len())
    }

    pub async fn enable_user(&self, actor: &Actor, id: UserId) -> Result<(), CoreError> {
        self.require(actor, crate::authz::SystemAction::ManageUsers)
            .await?;
        let mut row = self.user_row(id).await?;
        row.status = crate::auth::STATUS_ACTIVE.to_owned();
        row.updated_at = self.now();
        let txn = self.store().begin().await?;
        repo::users::update(&txn, row).await?;
        self.audit_in(
            &txn,
            vec![AuditEvent::by(actor, AuditCode::UserEnable).target("user", id.as_uuid())],
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Removes a user's second factors — authenticator, passkeys, recovery codes, e-mail and SMS codes
    /// (a lost phone) — and ends their sessions. Administrators only, after their own step-up.
    pub async fn reset_second_factors(&self, actor: &Actor, id: UserId) -> Result<(), CoreError> {
        self.require(actor, crate::authz::SystemAction::ManageUsers)
            .await?;
        self.require_recent_auth(actor)?;
        let mut row = self.user_row(id).await?;
        let now = self.now();
        let txn = self.store().begin().await?;
        repo::second_factors::delete_totp(&txn, id.as_uuid()).await?;
        repo::second_factors::delete_recovery_codes(&txn, id.as_uuid()).await?;
        repo::passkeys::delete_all_for_user(&txn, id.as_uuid()).await?;
        row.email_codes_at = None;
        row.sms_codes_at = None;
        row.updated_at = now;
        repo::users::update(&txn, row).await?;
        self.retire_factor_codes(&txn, id.as_uuid(), now).await?;
        let keep = (id == actor.user_id)
            .then(|| actor.session_id().map(|s| s.as_uuid()))
            .flatten();
        let ended =
            repo::sessions::end_all_of_user(&txn, id.as_uuid(), keep, now, "second_factor_reset")
                .await?;
        self.audit_in(
            &txn,
            vec![AuditEvent::by(actor, AuditCode::UserMfaReset).target("user", id.as_uuid())],
        )
        .await?;
        txn.commit().await?;
        self.forget_sessions(&ended);
        Ok(())
    }

    /// Deletes a user (administrators, after their own step-up; never oneself, never the last
    /// active administrator). What they owned or were assigned moves to `reassign_to`; their
    /// sign-in (sessions, tokens, factors, links), saved views and notifications go; the user
    /// row stays as a tombstone without personal data — the e-mail address is free again and
    /// history keeps a valid reference. Returns how many records moved.
    pub async fn delete_user(
        &self,
        actor: &Actor,
        id: UserId,
        reassign_to: UserId,
    ) -> Result<u64, CoreError> {
        self.require(actor, crate::authz::SystemAction::ManageUsers)
            .await?;
        self.require_recent_auth(actor)?;
        if id == actor.user_id {
            return Err(CoreError::Rule {
                code: "cannot_delete_self",
                message: "you cannot delete your own account; ask another administrator",
            });
        }
        if id == reassign_to {
            return Err(custodian_domain::FieldError::new(
                "reassign_to",
                "same_user",
                "choose another user to take over this user's records",
            )
            .into());
        }
        let mut row = self.user_row(id).await?;
        let heir = self.user_row(reassign_to).await.map_err(|_| {
            CoreError::from(custodian_domain::FieldError::new(
                "reassign_to",
                "unknown_user",
                "no user with this id exists",
            ))
        })?;
        if heir.status != crate::auth::STATUS_ACTIVE {
            return Err(custodian_domain::FieldError::new(
                "reassign_to",
                "inactive_user",
                "records can only move to an active user",
            )
            .into());
        }
        let now = self.now();
        let org = self.keys().org_key(self.store().conn()).await?;
        let txn = self.store().begin().await?;
        if repo::users::roles(&txn, row.id)
            .await?
            .iter()
            .any(|r| r == ROLE_ADMIN)
            && row.status == crate::auth::STATUS_ACTIVE
            && repo::users::count_active_with_role(&txn, ROLE_ADMIN).await? <= 1
        {
            return Err(CoreError::Rule {
                code: "last_administrator",
                message: "this is the last active administrator; make someone else an administrator first",
            });
        }
        let ended =
            repo::sessions::end_all_of_user(&txn, id.as_uuid(), None, now, "user_deleted").await?;
        let moved =
            repo::users::reassign_records(&txn, id.as_uuid(), reassign_to.as_uuid()).await?;
        repo::users::delete_credentials(&txn, id.as_uuid()).await?;
        row.email_lookup =
            custodian_crypto::token::hash_token(&format!("deleted-user:{}", row.id)).to_vec();
        row.email_ct = self
            .keys()
            .encrypt(&org, "users", "email", row.id, b"", self.rng())?;
        row.display_name_ct = None;
        row.phone_ct = None;
        row.phone_verified_at = None;
        row.email_verified_at = None;
        row.email_codes_at = None;
        row.sms_codes_at = None;
        row.password_hash = None;
        row.locale = None;
        row.status = STATUS_DELETED.to_owned();
        row.deleted_at = Some(now);
        row.updated_at = now;
        repo::users::update(&txn, row).await?;
        self.audit_in(
            &txn,
            vec![
                AuditEvent::by(actor, AuditCode::UserDelete)
                    .target("user", id.as_uuid())
                    .detail("reassigned_to", reassign_to.as_uuid().to_string())
                    .detail("records_moved", moved),
            ],
        )
        .await?;
        txn.commit().await?;
        self.forget_sessions(&ended);
        self.inner.auth_cache.forget_user(id);
        Ok(moved)
    }
}

/// The status of a deleted user's tombstone.
pub const STATUS_DELETED: &str = "deleted";
