//! One-time links sent by e-mail: invitations (an administrator adds a user, who chooses
//! their own password) and password resets.
//!
//! A link carries a 256-bit token in the URL *fragment* (`/invitation#token=…`): browsers
//! never send fragments to the server, so tokens stay out of access logs, proxies and Referer
//! headers; the page's script moves it into the form. Only the token's hash is stored, a link
//! works once and only until it expires, and a new link retires the previous one.
//!
//! A password reset signs nobody in and ends every session: the next sign-in still asks for
//! the second factor, so a reset cannot get round MFA (ASVS 6.4.3). Asking for a reset answers
//! the same whether or not the address has an account, and the work happens after the answer.

use crate::audit::AuditEvent;
use crate::auth::{STATUS_ACTIVE, parse_identity};
use crate::outbound::{Channel, is_chinese};
use crate::sessions::ClientInfo;
use crate::{Actor, Core, CoreError, messages};
use custodian_crypto::token::{generate_token, hash_token};
use custodian_domain::UserId;
use custodian_domain::audit::AuditCode;
use custodian_domain::values::Email;
use custodian_store::entities::{account_link, user};
use custodian_store::repo;
use secrecy::{ExposeSecret, SecretString};

/// The status of an invited user who has not chosen a password yet.
pub const STATUS_INVITED: &str = "invited";
const PURPOSE_INVITATION: &str = "invitation";
const PURPOSE_PASSWORD_RESET: &str = "password_reset";
const INVITATION_PREFIX: &str = "cus_i_";
const RESET_PREFIX: &str = "cus_r_";
/// Reset e-mails one account can be sent per hour (so the feature cannot flood an inbox).
const RESETS_PER_HOUR: u64 = 3;

/// A sent invitation.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, serde::Serialize)]
pub struct InvitationSent {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub user_id: UserId,
    /// When the link stops working (Unix milliseconds).
    pub expires_at: i64,
}

impl Core {
    /// Adds a user who is invited by e-mail to choose their own password (administrators).
    /// If the e-mail cannot be sent, the user is not added and the error says so.
    pub async fn invite_user(
        &self,
        actor: &Actor,
        email: &str,
        display_name: &str,
        roles: &[String],
    ) -> Result<InvitationSent, CoreError> {
        self.require(actor, crate::authz::SystemAction::ManageUsers)
            .await?;
        let roles = crate::users::check_roles("roles", roles)?;
        if !roles.is_empty() {
            self.require(actor, crate::authz::SystemAction::ManageRoles)
                .await?;
        }
        if !self.mail_configured() {
            return Err(CoreError::ChannelUnavailable(Channel::Email));
        }
        let (email, display_name) = parse_identity(email, display_name)?;
        let now = self.now();
        let txn = self.store().begin().await?;
        let user_id = self
            .insert_user(
                &txn,
                crate::auth::NewUser {
                    email: &email,
                    display_name: display_name.as_ref(),
                    password_hash: None,
                    roles: &roles,
                    status: STATUS_INVITED,
                },
                now,
            )
            .await?;
        let (token, expires_at) = self
            .new_link(
                &txn,
                user_id.as_uuid(),
                PURPOSE_INVITATION,
                Some(actor),
                now,
            )
            .await?;
        let event = AuditEvent::by(actor, AuditCode::UserCreate)
            .target("user", user_id.as_uuid())
            .detail("roles", roles.clone())
            .detail("invited", true);
        self.audit_in(&txn, vec![event]).await?;
        txn.commit().await?;
        if let Err(e) = self.send_invitation(&email, &token, None).await {
            // All or nothing for the administrator: a user nobody could reach is removed.
            let txn = self.store().begin().await?;
            repo::users::delete_invited(&txn, user_id.as_uuid()).await?;
            let event = AuditEvent::by(actor, AuditCode::UserDelete)
                .target("user", user_id.as_uuid())
                .detail("reason", "invitation_not_sent");
            self.audit_in(&txn, vec![event]).await?;
            txn.commit().await?;
            return Err(e);
        }
        Ok(InvitationSent {
            user_id,
            expires_at,
        })
    }

    /// Sends a new invitation link to a user who has not accepted yet; the old link stops
    /// working.
    pub async fn resend_invitation(
        &self,
        actor: &Actor,
        id: UserId,
    ) -> Result<InvitationSent, CoreError> {
        self.require(actor, crate::authz::SystemAction::ManageUsers)
            .await?;
        let user = self.user_row(id).await?;
        if user.status != STATUS_INVITED {
            return Err(CoreError::Conflict(
                "this user already accepted the invitation",
            ));
        }
        if !self.mail_configured() {
            return Err(CoreError::ChannelUnavailable(Channel::Email));
        }
        let now = self.now();
        let txn = self.store().begin().await?;
        let (token, expires_at) = self
            .new_link(&txn, user.id, PURPOSE_INVITATION, Some(actor), now)
            .await?;
        txn.commit().await?;
        let email = Email::parse("email", &self.user_email(&user).await?)?;
        self.send_invitation(&email, &token, user.locale.as_deref())
            .await?;
        Ok(InvitationSent {
            user_id: id,
            expires_at,
        })
    }

    async fn send_invitation(
        &self,
        email: &Email,
        token: &SecretString,
        locale: Option<&str>,
    ) -> Result<(), CoreError> {
        let link = format!(
            "{}/invitation#token={}",
            self.public_url(),
            token.expose_secret()
        );
        let days = self.settings().invitation_ttl_secs / (24 * 60 * 60);
        self.send_mail(messages::invitation_mail(
            email.as_str().to_owned(),
            &link,
            days.max(1),
            is_chinese(locale),
        ))
        .await
    }

    /// Retires the user's earlier links for `purpose` and makes a new one.
    async fn new_link<C: custodian_store::ConnectionTrait>(
        &self,
        conn: &C,
        user_id: uuid::Uuid,
        purpose: &str,
        created_by: Option<&Actor>,
        now: i64,
    ) -> Result<(SecretString, i64), CoreError> {
        let (prefix, ttl_secs) = if purpose == PURPOSE_INVITATION {
            (INVITATION_PREFIX, self.settings().invitation_ttl_secs)
        } else {
            (RESET_PREFIX, self.settings().password_reset_ttl_secs)
        };
        let token = generate_token(prefix, self.rng())?;
        let expires_at = now + ttl_secs * 1000;
        repo::account_links::retire(conn, user_id, purpose, now).await?;
        repo::account_links::insert(
            conn,
            account_link::Model {
                id: custodian_domain::ids::uuid_at(now),
                user_id,
                purpose: purpose.to_owned(),
                token_hash: hash_token(token.expose_secret()).to_vec(),
                created_at: now,
                expires_at,
                used_at: None,
                created_by: created_by.map(|a| a.user_id.as_uuid()),
            },
        )
        .await?;
        Ok((token, expires_at))
    }

    /// The live link for `token` and `purpose` with its user, or 400 `invalid_link` (recorded as
    /// a security event, at most once a minute per network).
    async fn live_link(
        &self,
        token: &SecretString,
        purpose: &'static str,
        ip: Option<std::net::IpAddr>,
    ) -> Result<(account_link::Model, user::Model), CoreError> {
        let token = token.expose_secret();
        let conn = self.store().conn();
        let link = if token.len() > 128 {
            None
        } else {
            repo::account_links::by_token_hash(conn, &hash_token(token))
                .await?
                .filter(|l| l.purpose == purpose && l.used_at.is_none())
                .filter(|l| l.expires_at > self.now())
        };
        let user = match &link {
            Some(link) => repo::users::get(conn, link.user_id).await?,
            None => None,
        };
        match (link, user) {
            (Some(link), Some(user)) => Ok((link, user)),
            _ => {
                self.record_anonymous_refusal(
                    crate::security_events::SecurityEventKind::InvalidLink,
                    ip,
                    purpose,
                )
                .await?;
                Err(CoreError::InvalidLink)
            }
        }
    }

    /// The invitee chooses their password: the account becomes active and its e-mail address
    /// counts as proven. They sign in next (the MFA policy applies from there).
    pub async fn accept_invitation(
        &self,
        token: &SecretString,
        password: SecretString,
        ip: Option<std::net::IpAddr>,
    ) -> Result<UserId, CoreError> {
        let (link, mut user) = self.live_link(token, PURPOSE_INVITATION, ip).await?;
        if user.status != STATUS_INVITED {
            return Err(CoreError::InvalidLink);
        }
        let email = Email::parse("email", &self.user_email(&user).await?)?;
        let password = self.check_password_policy(password, &email)?;
        let hash = self.hash_password(password).await?;
        let now = self.now();
        let txn = self.store().begin().await?;
        if !repo::account_links::use_link(&txn, link.id, now).await? {
            return Err(CoreError::InvalidLink);
        }
        user.password_hash = Some(hash);
        user.status = STATUS_ACTIVE.to_owned();
        user.email_verified_at = Some(now);
        user.updated_at = now;
        repo::users::update(&txn, user.clone()).await?;
        let event = AuditEvent::for_user(Some(user.id), None, AuditCode::AuthnPasswordChange)
            .target("user", user.id)
            .client(&ClientInfo::new(ip, None))
            .detail("link", PURPOSE_INVITATION);
        self.audit_in(&txn, vec![event]).await?;
        txn.commit().await?;
        Ok(UserId(user.id))
    }

    /// Asks for a password-reset e-mail. Always succeeds from the caller's view: whether the
    /// address has an account is not revealed, and the work runs after the answer, so the
    /// answer takes the same time either way.
    pub fn request_password_reset(&self, email: &str) {
        let core = self.clone();
        let email = email.to_owned();
        tokio::spawn(async move {
            if let Err(e) = core.send_password_reset(&email).await {
                tracing::warn!(error = %e, "password reset e-mail not sent");
            }
        });
    }

    /// Sends a reset link to an active account with this address, within the hourly limit;
    /// anything else silently sends nothing.
    async fn send_password_reset(&self, email: &str) -> Result<(), CoreError> {
        let Ok(email) = Email::parse("email", email) else {
            return Ok(());
        };
        let lookup = self.keys().lookup("users", "email", email.as_str())?;
        let Some(user) = repo::users::by_email_lookup(self.store().conn(), &lookup).await? else {
            return Ok(());
        };
        if user.status != STATUS_ACTIVE {
            return Ok(());
        }
        let now = self.now();
        let recent = repo::account_links::made_since(
            self.store().conn(),
            user.id,
            PURPOSE_PASSWORD_RESET,
            now - 60 * 60 * 1000,
        )
        .await?;
        if recent >= RESETS_PER_HOUR {
            return Ok(());
        }
        let txn = self.store().begin().await?;
        let (token, _) = self
            .new_link(&txn, user.id, PURPOSE_PASSWORD_RESET, None, now)
            .await?;
        txn.commit().await?;
        let link = format!(
            "{}/password/reset#token={}",
            self.public_url(),
            token.expose_secret()
        );
        self.send_mail(messages::reset_mail(
            email.as_str().to_owned(),
            &link,
            self.settings().password_reset_ttl_secs / 60,
            is_chinese(user.locale.as_deref()),
        ))
        .await
    }

    /// Sets a new password from a reset link: the link is used up, every session of the user
    /// ends, and nobody is signed in (the second factor is still asked for at sign-in).
    pub async fn reset_password(
        &self,
        token: &SecretString,
        password: SecretString,
        ip: Option<std::net::IpAddr>,
    ) -> Result<(), CoreError> {
        let (link, mut user) = self.live_link(token, PURPOSE_PASSWORD_RESET, ip).await?;
        if user.status != STATUS_ACTIVE {
            return Err(CoreError::InvalidLink);
        }
        let email = Email::parse("email", &self.user_email(&user).await?)?;
        let password = self.check_password_policy(password, &email)?;
        let hash = self.hash_password(password).await?;
        let now = self.now();
        let txn = self.store().begin().await?;
        if !repo::account_links::use_link(&txn, link.id, now).await? {
            return Err(CoreError::InvalidLink);
        }
        user.password_hash = Some(hash);
        user.email_verified_at.get_or_insert(now);
        user.updated_at = now;
        repo::users::update(&txn, user.clone()).await?;
        let ended =
            repo::sessions::end_all_of_user(&txn, user.id, None, now, "password_reset").await?;
        let event = AuditEvent::for_user(Some(user.id), None, AuditCode::AuthnPasswordChange)
            .target("user", user.id)
            .client(&ClientInfo::new(ip, None))
            .detail("link", PURPOSE_PASSWORD_RESET)
            .detail("sessions_ended", ended.len());
        self.audit_in(&txn, vec![event]).await?;
        txn.commit().await?;
        self.forget_sessions(&ended);
        self.inner.auth_cache.forget_user(UserId(user.id));
        Ok(())
    }
}
