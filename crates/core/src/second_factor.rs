//! Second factors: TOTP authenticators (RFC 6238) and recovery codes, the second step of
//! signing in, and step-up re-authentication.
//!
//! A code is checked against the TOTP enrolment when it is six digits and against the recovery
//! codes when it has their shape, so one input field takes either. Wrong codes count against the
//! session they were tried on: at [`FACTOR_FAILURE_LIMIT`] the session ends, so a session cannot
//! be used to guess codes.

use crate::auth::SessionStage;
use crate::outbound::Channel;
use crate::sent_codes::CodePurpose;
use crate::sessions::ClientInfo;
use crate::{Actor, Core, CoreError};
use custodian_crypto::otp::{
    RECOVERY_CODE_COUNT, TotpSecret, generate_recovery_code, hash_recovery_code,
};
use custodian_crypto::token::hash_token;
use custodian_domain::UserId;
use custodian_store::entities::{recovery_code, session, user, user_totp};
use custodian_store::repo;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

/// Wrong codes a session may see (second step of sign-in or step-up) before it ends.
pub const FACTOR_FAILURE_LIMIT: i64 = 5;
/// How long the second step of a sign-in may take.
pub const SECOND_FACTOR_WINDOW_MS: i64 = 5 * 60 * 1000;
/// The issuer authenticator apps show next to the account.
const TOTP_ISSUER: &str = "Custodian";

/// The user's second factors, as the account page shows them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct SecondFactorStatus {
    /// An authenticator app is confirmed and asked for at sign-in.
    pub totp_enabled: bool,
    /// An enrolment was started but not confirmed with a code.
    pub totp_pending: bool,
    pub recovery_codes_left: u64,
    /// Passkeys registered.
    pub passkeys: u64,
    /// This server can use passkeys (its public URL names a host).
    pub passkeys_available: bool,
    /// The account's e-mail address was proven (an invitation, a reset link or a code).
    pub email_verified: bool,
    /// Sign-in and step-up accept a code sent by e-mail.
    pub email_codes_enabled: bool,
    /// The last two digits of the phone number on file, if any.
    pub phone_hint: Option<String>,
    pub phone_verified: bool,
    /// Sign-in and step-up accept a code sent by SMS.
    pub sms_codes_enabled: bool,
    /// This server can send e-mail / SMS (an administrator configured a transport).
    pub email_available: bool,
    pub sms_available: bool,
}

/// A started TOTP enrolment: shown once, on the page that confirms it.
pub struct TotpEnrolment {
    /// Base32, for typing into an app.
    pub key: SecretString,
    /// `otpauth://` URI, for the QR code.
    pub uri: SecretString,
}
crate::redacted_debug!(TotpEnrolment);

/// The outcome of adding a second factor (an authenticator, e-mail or SMS codes).
pub struct FactorAdded {
    /// The first recovery codes, when the user had none (shown once).
    pub recovery_codes: Option<Vec<SecretString>>,
    /// The full session replacing an enrolment-only one.
    pub new_session: Option<crate::auth::SessionGrant>,
}
crate::redacted_debug!(FactorAdded);

/// Which factor finished a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Factor {
    Totp,
    RecoveryCode,
    EmailCode,
    SmsCode,
    Passkey,
}

impl Factor {
    fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::RecoveryCode => "recovery_code",
            Self::EmailCode => "email_code",
            Self::SmsCode => "sms_code",
            Self::Passkey => "passkey",
        }
    }
}

/// The second factors a user has set up.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SecondFactors {
    pub totp: bool,
    pub passkeys: u64,
    pub email_codes: bool,
    pub sms_codes: bool,
}

impl SecondFactors {
    pub(crate) fn any(self) -> bool {
        self.totp || self.passkeys > 0 || self.email_codes || self.sms_codes
    }
}

/// The audit event of a second factor added, removed or renewed: which kind, never a secret.
pub(crate) fn mfa_change(
    actor: &Actor,
    user_id: uuid::Uuid,
    factor: &str,
    change: &str,
) -> crate::audit::AuditEvent {
    crate::audit::AuditEvent::by(actor, custodian_domain::audit::AuditCode::AuthnMfaChange)
        .target("user", user_id)
        .detail("factor", factor)
        .detail("change", change)
}

impl Core {
    fn unix_secs(&self) -> u64 {
        u64::try_from(self.now() / 1000).unwrap_or(0)
    }

    async fn totp_secret(&self, row: &user_totp::Model) -> Result<TotpSecret, CoreError> {
        let org = self.keys().org_key(self.store().conn()).await?;
        let bytes =
            self.keys()
                .decrypt(&org, "user_totp", "secret", row.user_id, &row.secret_ct)?;
        TotpSecret::from_bytes(bytes).map_err(|_| CoreError::DataIntegrity {
            table: "user_totp",
            column: "secret_ct",
        })
    }

    /// Checks `code` as a recovery code, a TOTP code, or a code sent by e-mail or SMS for
    /// `purpose`, and uses it up.
    async fn verify_second_factor(
        &self,
        user_id: UserId,
        code: &str,
        purpose: CodePurpose,
    ) -> Result<Option<Factor>, CoreError> {
        let code = code.trim();
        if let Some(hash) = hash_recovery_code(code) {
            let used = repo::second_factors::use_recovery_code(
                self.store().writer(),
                user_id.as_uuid(),
                &hash,
                self.now(),
            )
            .await?;
            return Ok(used.then_some(Factor::RecoveryCode));
        }
        if self.verify_totp(user_id, code).await? {
            return Ok(Some(Factor::Totp));
        }
        Ok(
            match self
                .verify_sent_code(user_id.as_uuid(), purpose, code)
                .await?
            {
                Some(Channel::Email) => Some(Factor::EmailCode),
                Some(Channel::Sms) => Some(Factor::SmsCode),
                None => None,
            },
        )
    }

    /// Checks `code` against the user's confirmed authenticator and uses its time step up.
    async fn verify_totp(&self, user_id: UserId, code: &str) -> Result<bool, CoreError> {
        let Some(row) = repo::second_factors::totp(self.store().conn(), user_id.as_uuid())
            .await?
            .filter(|t| t.confirmed_at.is_some())
        else {
            return Ok(false);
        };
        let secret = self.totp_secret(&row).await?;
        let Some(step) = secret.verify(code, self.unix_secs()) else {
            return Ok(false);
        };
        let step = i64::try_from(step).map_err(|_| CoreError::Internal("TOTP step overflow"))?;
        Ok(repo::second_factors::use_totp_step(
            self.store().writer(),
            user_id.as_uuid(),
            step,
            None,
        )
        .await?)
    }

    /// Counts a wrong code against a session and ends it at the limit.
    pub(crate) async fn wrong_code(&self, session_id: uuid::Uuid) -> Result<CoreError, CoreError> {
        let failures =
            repo::sessions::add_factor_failure(self.store().writer(), session_id).await?;
        if failures >= FACTOR_FAILURE_LIMIT {
            repo::sessions::end(
                self.store().writer(),
                session_id,
                self.now(),
                "too_many_wrong_codes",
            )
            .await?;
            self.forget_sessions(&[session_id]);
            return Ok(CoreError::SignInExpired);
        }
        Ok(CoreError::InvalidCode)
    }

    pub(crate) async fn pending_sign_in(&self, token: &str) -> Result<session::Model, CoreError> {
        let row = repo::sessions::by_token_hash(self.store().conn(), &hash_token(token))
            .await?
            .ok_or(CoreError::SignInExpired)?;
        let expired = self.now() - row.created_at > SECOND_FACTOR_WINDOW_MS;
        if row.revoked_at.is_some() || expired || row.stage != SessionStage::SecondFactor.as_str() {
            return Err(CoreError::SignInExpired);
        }
        Ok(row)
    }

    /// The second step of signing in: a TOTP or recovery code for the sign-in `pending_token`
    /// opened. Success ends that sign-in and opens a session with a new token.
    pub async fn complete_sign_in(
        &self,
        pending_token: &SecretString,
        code: &str,
        client: &ClientInfo,
    ) -> Result<crate::auth::SessionGrant, CoreError> {
        let pending = self.pending_sign_in(pending_token.expose_secret()).await?;
        let user = self.active_user(pending.user_id).await?;
        let user_id = UserId(user.id);
        let throttle = self.throttle_keys(&self.user_email(&user).await?, client.ip)?;
        self.check_throttle(&throttle).await?;
        let Some(factor) = self
            .verify_second_factor(user_id, code, CodePurpose::SignIn)
            .await?
        else {
            self.record_failure(&throttle, true).await?;
            self.record_second_factor_failure(user.id, pending.id, "code", Some(client))
                .await?;
            return Err(self.wrong_code(pending.id).await?);
        };
        self.finish_sign_in(&pending, factor, &throttle, client)
            .await
    }

    /// Ends the waiting sign-in whose second factor was proved and opens the session.
    pub(crate) async fn finish_sign_in(
        &self,
        pending: &session::Model,
        factor: Factor,
        throttle: &crate::throttle::ThrottleKeys,
        client: &ClientInfo,
    ) -> Result<crate::auth::SessionGrant, CoreError> {
        let now = self.now();
        let txn = self.store().begin().await?;
        if !repo::sessions::end(&txn, pending.id, now, "second_factor_completed").await? {
            return Err(CoreError::SignInExpired);
        }
        let methods = format!("{}+{}", pending.auth_methods, factor.as_str());
        let grant = self
            .new_session(
                &txn,
                UserId(pending.user_id),
                SessionStage::Active,
                &methods,
                client,
                now,
            )
            .await?;
        txn.commit().await?;
        self.forget_sessions(&grant.ended);
        let failures = self.clear_account_throttle(throttle).await?;
        self.after_sign_in(pending.user_id, &grant, client, failures)
            .await?;
        Ok(grant)
    }

    /// Step-up: proves the user is present again. With a second factor it takes a code (TOTP,
    /// recovery, or one sent by e-mail or SMS); otherwise the password.
    pub async fn reauthenticate(
        &self,
        actor: &Actor,
        password: Option<SecretString>,
        code: Option<&str>,
    ) -> Result<(), CoreError> {
        let Some(session_id) = actor.session_id() else {
            return Err(CoreError::Forbidden);
        };
        let user = self.active_user(actor.user_id.as_uuid()).await?;
        let has_factor = self.has_second_factor(&user).await?;
        let proved = if has_factor {
            match code {
                Some(code) => self
                    .verify_second_factor(actor.user_id, code, CodePurpose::StepUp)
                    .await?
                    .is_some(),
                None => false,
            }
        } else {
            match password {
                Some(password) => self.verify_own_password(&user, password).await?,
                None => false,
            }
        };
        if !proved {
            let how = if has_factor { "code" } else { "password" };
            self.record_second_factor_failure(user.id, session_id.as_uuid(), how, None)
                .await?;
            return Err(match self.wrong_code(session_id.as_uuid()).await? {
                CoreError::InvalidCode if !has_factor => CoreError::InvalidCredentials,
                other => other,
            });
        }
        self.mark_step_up(session_id).await
    }

    /// Records a successful step-up on the session.
    pub(crate) async fn mark_step_up(
        &self,
        session_id: custodian_domain::SessionId,
    ) -> Result<(), CoreError> {
        repo::sessions::mark_reauthenticated(
            self.store().writer(),
            session_id.as_uuid(),
            self.now(),
        )
        .await?;
        self.forget_sessions(&[session_id.as_uuid()]);
        Ok(())
    }

    /// The user has a confirmed authenticator (sign-in asks for a code).
    pub(crate) async fn totp_enabled(&self, user_id: uuid::Uuid) -> Result<bool, CoreError> {
        Ok(repo::second_factors::totp(self.store().conn(), user_id)
            .await?
            .is_some_and(|t| t.confirmed_at.is_some()))
    }

    /// The second factors the user has set up.
    pub(crate) async fn second_factors(
        &self,
        user: &user::Model,
    ) -> Result<SecondFactors, CoreError> {
        Ok(SecondFactors {
            totp: self.totp_enabled(user.id).await?,
            passkeys: repo::passkeys::count_for_user(self.store().conn(), user.id).await?,
            email_codes: user.email_codes_at.is_some(),
            sms_codes: user.sms_codes_at.is_some(),
        })
    }

    /// The user has some second factor: sign-in and step-up ask for it.
    pub(crate) async fn has_second_factor(&self, user: &user::Model) -> Result<bool, CoreError> {
        Ok(self.second_factors(user).await?.any())
    }

    pub async fn second_factor_status(
        &self,
        actor: &Actor,
    ) -> Result<SecondFactorStatus, CoreError> {
        let conn = self.store().conn();
        let user = self.active_user(actor.user_id.as_uuid()).await?;
        let totp = repo::second_factors::totp(conn, actor.user_id.as_uuid()).await?;
        let phone_hint = self.user_phone(&user).await?.map(|p| {
            let digits: Vec<char> = p.chars().collect();
            digits[digits.len().saturating_sub(2)..].iter().collect()
        });
        Ok(SecondFactorStatus {
            email_verified: user.email_verified_at.is_some(),
            email_codes_enabled: user.email_codes_at.is_some(),
            phone_hint,
            phone_verified: user.phone_verified_at.is_some(),
            sms_codes_enabled: user.sms_codes_at.is_some(),
            email_available: self.mail_configured(),
            sms_available: self.sms_configured(),
            passkeys: repo::passkeys::count_for_user(conn, user.id).await?,
            passkeys_available: self.passkeys_available(),
            totp_enabled: totp.as_ref().is_some_and(|t| t.confirmed_at.is_some()),
            totp_pending: totp.as_ref().is_some_and(|t| t.confirmed_at.is_none()),
            recovery_codes_left: repo::second_factors::unused_recovery_codes(
                conn,
                actor.user_id.as_uuid(),
            )
            .await?,
        })
    }

    /// Starts enrolling an authenticator app (step-up required). An unconfirmed enrolment is
    /// replaced; a confirmed one must be removed first.
    pub async fn begin_totp_enrolment(&self, actor: &Actor) -> Result<TotpEnrolment, CoreError> {
        self.require_recent_auth(actor)?;
        let user = self.active_user(actor.user_id.as_uuid()).await?;
        let existing = repo::second_factors::totp(self.store().conn(), user.id).await?;
        if existing.is_some_and(|t| t.confirmed_at.is_some()) {
            return Err(CoreError::Rule {
                code: "totp_already_enabled",
                message: "an authenticator app is already set up; remove it before setting up another",
            });
        }
        let secret = TotpSecret::generate(self.rng())?;
        let org = self.keys().org_key(self.store().conn()).await?;
        let secret_ct = self.keys().encrypt(
            &org,
            "user_totp",
            "secret",
            user.id,
            secret.as_bytes(),
            self.rng(),
        )?;
        repo::second_factors::replace_totp(
            self.store().writer(),
            user_totp::Model {
                user_id: user.id,
                secret_ct,
                created_at: self.now(),
                confirmed_at: None,
                last_used_step: None,
            },
        )
        .await?;
        let email = self.user_email(&user).await?;
        Ok(TotpEnrolment {
            key: secret.to_base32(),
            uri: secret.provisioning_uri(TOTP_ISSUER, &email),
        })
    }

    /// The enrolment still waiting for its confirming code, to show its key and QR code again
    /// (within the step-up window of starting it: the key is a secret).
    pub async fn pending_totp_enrolment(
        &self,
        actor: &Actor,
    ) -> Result<Option<TotpEnrolment>, CoreError> {
        self.require_recent_auth(actor)?;
        let user = self.active_user(actor.user_id.as_uuid()).await?;
        let Some(row) = repo::second_factors::totp(self.store().conn(), user.id)
            .await?
            .filter(|t| t.confirmed_at.is_none())
        else {
            return Ok(None);
        };
        let secret = self.totp_secret(&row).await?;
        let email = self.user_email(&user).await?;
        Ok(Some(TotpEnrolment {
            key: secret.to_base32(),
            uri: secret.provisioning_uri(TOTP_ISSUER, &email),
        }))
    }

    /// Confirms the enrolment with a current code; from now on sign-in asks for one. Returns a
    /// first set of recovery codes when the user has none left (shown once), and, when the
    /// session was restricted to enrolment by the MFA policy, the full session that replaces
    /// it (a new token: the privilege changed).
    pub async fn confirm_totp(&self, actor: &Actor, code: &str) -> Result<FactorAdded, CoreError> {
        // Confirming adds a factor to the account: the same step-up as starting.
        self.require_recent_auth(actor)?;
        let user = self.active_user(actor.user_id.as_uuid()).await?;
        let row = repo::second_factors::totp(self.store().conn(), user.id)
            .await?
            .filter(|t| t.confirmed_at.is_none())
            .ok_or(CoreError::Rule {
                code: "no_totp_enrolment",
                message: "there is no authenticator set-up to confirm; start the set-up again",
            })?;
        let secret = self.totp_secret(&row).await?;
        let step = secret
            .verify(code, self.unix_secs())
            .and_then(|s| i64::try_from(s).ok())
            .ok_or(CoreError::InvalidCode)?;
        let now = self.now();
        let txn = self.store().begin().await?;
        if !repo::second_factors::use_totp_step(&txn, user.id, step, Some(now)).await? {
            return Err(CoreError::InvalidCode);
        }
        let added = self
            .finish_factor_enrolment(&txn, actor, user.id, "password+totp", now)
            .await?;
        txn.commit().await?;
        self.after_factor_enrolment(actor, &added);
        Ok(added)
    }

    /// Inside the transaction adding a factor: first recovery codes when the user has none,
    /// and — when the session was restricted to enrolment by the MFA policy — the full session
    /// replacing it (a new token: the privilege changed).
    pub(crate) async fn finish_factor_enrolment<C: custodian_store::ConnectionTrait>(
        &self,
        txn: &C,
        actor: &Actor,
        user_id: uuid::Uuid,
        methods: &str,
        now: i64,
    ) -> Result<FactorAdded, CoreError> {
        let recovery_codes =
            if repo::second_factors::unused_recovery_codes(txn, user_id).await? == 0 {
                Some(self.store_new_recovery_codes(txn, user_id, now).await?)
            } else {
                None
            };
        let factor = methods.strip_prefix("password+").unwrap_or(methods);
        self.audit_in(
            txn,
            vec![
                mfa_change(actor, user_id, factor, "added")
                    .detail("recovery_codes_issued", recovery_codes.is_some()),
            ],
        )
        .await?;
        let new_session = match actor.session_id() {
            Some(session) if actor.enrolment_required => {
                repo::sessions::end(txn, session.as_uuid(), now, "second_factor_enrolled").await?;
                let client = self.session_client(session).await?;
                Some(
                    self.new_session(
                        txn,
                        UserId(user_id),
                        SessionStage::Active,
                        methods,
                        &client,
                        now,
                    )
                    .await?,
                )
            }
            _ => None,
        };
        Ok(FactorAdded {
            recovery_codes,
            new_session,
        })
    }

    /// After the commit: cached credentials of replaced sessions go.
    pub(crate) fn after_factor_enrolment(&self, actor: &Actor, added: &FactorAdded) {
        if let Some(session) = actor.session_id() {
            self.forget_sessions(&[session.as_uuid()]);
        }
        if let Some(grant) = &added.new_session {
            self.forget_sessions(&grant.ended);
        }
    }

    /// Removes the authenticator app, and the recovery codes when no other second factor is
    /// left (step-up required; refused while the MFA policy covers the user and it is their
    /// only second factor).
    pub async fn remove_totp(&self, actor: &Actor) -> Result<(), CoreError> {
        self.require_recent_auth(actor)?;
        let user = self.active_user(actor.user_id.as_uuid()).await?;
        let mut left = self.second_factors(&user).await?;
        left.totp = false;
        let other_factor = left.any();
        if !other_factor && self.mfa_required_for(&user).await? {
            return Err(CoreError::Rule {
                code: "second_factor_required",
                message: "your organisation requires two-step verification; set up a new authenticator before removing this one, or ask an administrator to reset it",
            });
        }
        let user_id = actor.user_id.as_uuid();
        let txn = self.store().begin().await?;
        if !repo::second_factors::delete_totp(&txn, user_id).await? {
            return Err(CoreError::NotFound {
                entity: "authenticator",
            });
        }
        if !other_factor {
            repo::second_factors::delete_recovery_codes(&txn, user_id).await?;
        }
        self.audit_in(
            &txn,
            vec![
                mfa_change(actor, user_id, "totp", "removed")
                    .detail("recovery_codes_removed", !other_factor),
            ],
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Replaces the recovery codes with ten new ones (step-up required; only with an
    /// authenticator enrolled, since they stand in for it).
    pub async fn regenerate_recovery_codes(
        &self,
        actor: &Actor,
    ) -> Result<Vec<SecretString>, CoreError> {
        self.require_recent_auth(actor)?;
        let user = self.active_user(actor.user_id.as_uuid()).await?;
        if !self.has_second_factor(&user).await? {
            return Err(CoreError::Rule {
                code: "totp_not_enabled",
                message: "recovery codes stand in for a second factor; set one up first",
            });
        }
        let txn = self.store().begin().await?;
        let codes = self
            .store_new_recovery_codes(&txn, actor.user_id.as_uuid(), self.now())
            .await?;
        self.audit_in(
            &txn,
            vec![mfa_change(
                actor,
                actor.user_id.as_uuid(),
                "recovery_codes",
                "regenerated",
            )],
        )
        .await?;
        txn.commit().await?;
        Ok(codes)
    }

    async fn store_new_recovery_codes<C: custodian_store::ConnectionTrait>(
        &self,
        conn: &C,
        user_id: uuid::Uuid,
        now: i64,
    ) -> Result<Vec<SecretString>, CoreError> {
        let mut codes = Vec::with_capacity(RECOVERY_CODE_COUNT);
        let mut rows = Vec::with_capacity(RECOVERY_CODE_COUNT);
        for _ in 0..RECOVERY_CODE_COUNT {
            let code = generate_recovery_code(self.rng())?;
            let hash = hash_recovery_code(code.expose_secret()).ok_or(CoreError::Internal(
                "generated recovery code has a wrong shape",
            ))?;
            rows.push(recovery_code::Model {
                id: custodian_domain::ids::uuid_at(now),
                user_id,
                code_hash: hash.to_vec(),
                created_at: now,
                used_at: None,
            });
            codes.push(code);
        }
        repo::second_factors::replace_recovery_codes(conn, user_id, rows).await?;
        Ok(codes)
    }

    pub(crate) async fn user_email(
        &self,
        user: &custodian_store::entities::user::Model,
    ) -> Result<String, CoreError> {
        let org = self.keys().org_key(self.store().conn()).await?;
        self.keys()
            .decrypt_string(&org, "users", "email", user.id, &user.email_ct)
    }
}
