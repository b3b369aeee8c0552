//! One-time codes sent by e-mail or SMS: proving an address or phone number, and — once the
//! user turns a proven channel on — as a second factor at sign-in and step-up.
//!
//! Six digits, valid for [`CODE_TTL_MS`], used at most once, at most [`CODE_ATTEMPT_LIMIT`]
//! guesses each; a new code retires the previous one for the same purpose. Sending is limited
//! per user (one a minute, [`CODES_PER_HOUR`] an hour) so the channel cannot be used to flood
//! someone. Only a keyed hash of a code is stored (HMAC under a key derived from the index
//! root, which is not in the database), so a copy of the database does not reveal live codes
//! even though six digits are few.
//!
//! SMS is the weakest factor offered (NIST SP 800-63B "restricted"): the account page says
//! so and offers an authenticator app first.

use crate::outbound::{Channel, is_chinese};
use crate::{Actor, Core, CoreError, messages};
use custodian_crypto::otp::{generate_sent_code, normalize_sent_code};
use custodian_crypto::token::constant_time_eq;
use custodian_domain::values::Phone;
use custodian_store::entities::{one_time_code, user};
use custodian_store::repo;
use secrecy::{ExposeSecret, SecretString};

/// How long a sent code works.
pub const CODE_TTL_MS: i64 = 10 * 60 * 1000;
/// Wrong guesses a code survives.
pub const CODE_ATTEMPT_LIMIT: i64 = 5;
/// The shortest gap between two codes sent to one user.
pub const RESEND_INTERVAL_MS: i64 = 60 * 1000;
/// Codes one user can be sent in an hour, all purposes and channels together.
pub const CODES_PER_HOUR: usize = 10;
const HOUR_MS: i64 = 60 * 60 * 1000;

/// What a code is for; a code only works for the purpose it was sent for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    SignIn,
    StepUp,
    VerifyEmail,
    VerifyPhone,
}

impl CodePurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::StepUp => "step_up",
            Self::VerifyEmail => "verify_email",
            Self::VerifyPhone => "verify_phone",
        }
    }
}

fn not_enabled() -> CoreError {
    CoreError::Rule {
        code: "channel_not_enabled",
        message: "codes by this channel are not turned on for this account; use another way to confirm, or turn it on from your security page",
    }
}

/// Seconds (rounded up, at least one) from `now` until `at`.
fn secs_until(at: i64, now: i64) -> i64 {
    ((at - now).max(1) + 999) / 1000
}

impl Core {
    fn code_hash(&self, id: uuid::Uuid, code: &str) -> Result<Vec<u8>, CoreError> {
        self.keys()
            .lookup("one_time_codes", "code", &format!("{id}:{code}"))
    }

    pub(crate) async fn user_phone(&self, user: &user::Model) -> Result<Option<String>, CoreError> {
        let Some(ct) = &user.phone_ct else {
            return Ok(None);
        };
        let org = self.keys().org_key(self.store().conn()).await?;
        self.keys()
            .decrypt_string(&org, "users", "phone", user.id, ct)
            .map(Some)
    }

    /// Refuses a send that would exceed the user's rate: 429 `too_many_codes` with the wait.
    async fn check_code_rate(&self, user_id: uuid::Uuid, now: i64) -> Result<(), CoreError> {
        let sent =
            repo::one_time_codes::sent_since(self.store().conn(), user_id, now - HOUR_MS).await?;
        if let Some(&newest) = sent.first()
            && newest > now - RESEND_INTERVAL_MS
        {
            return Err(CoreError::TooManyCodes {
                retry_after_secs: secs_until(newest + RESEND_INTERVAL_MS, now),
            });
        }
        if sent.len() >= CODES_PER_HOUR
            && let Some(&oldest) = sent.last()
        {
            return Err(CoreError::TooManyCodes {
                retry_after_secs: secs_until(oldest + HOUR_MS, now),
            });
        }
        Ok(())
    }

    /// Sends `user` a new code for `purpose` through `channel`, retiring the previous one.
    pub(crate) async fn send_code(
        &self,
        user: &user::Model,
        purpose: CodePurpose,
        channel: Channel,
    ) -> Result<(), CoreError> {
        let configured = match channel {
            Channel::Email => self.mail_configured(),
            Channel::Sms => self.sms_configured(),
        };
        if !configured {
            return Err(CoreError::ChannelUnavailable(channel));
        }
        let second_factor = matches!(purpose, CodePurpose::SignIn | CodePurpose::StepUp);
        let destination = match channel {
            Channel::Email
                if purpose == CodePurpose::VerifyEmail
                    || (second_factor && user.email_codes_at.is_some()) =>
            {
                self.user_email(user).await?
            }
            Channel::Sms
                if purpose == CodePurpose::VerifyPhone
                    || (second_factor && user.sms_codes_at.is_some()) =>
            {
                self.user_phone(user).await?.ok_or_else(not_enabled)?
            }
            _ => return Err(not_enabled()),
        };
        let now = self.now();
        self.check_code_rate(user.id, now).await?;
        let code = generate_sent_code(self.rng())?;
        let id = custodian_domain::ids::uuid_at(now);
        let txn = self.store().begin().await?;
        repo::one_time_codes::retire(&txn, user.id, purpose.as_str(), now).await?;
        repo::one_time_codes::insert(
            &txn,
            one_time_code::Model {
                id,
                user_id: user.id,
                purpose: purpose.as_str().to_owned(),
                channel: channel.as_str().to_owned(),
                code_hash: self.code_hash(id, code.expose_secret())?,
                created_at: now,
                expires_at: now + CODE_TTL_MS,
                attempts: 0,
                used_at: None,
            },
        )
        .await?;
        txn.commit().await?;
        let zh = is_chinese(user.locale.as_deref());
        let sent = match channel {
            Channel::Email => {
                self.send_mail(messages::code_mail(
                    destination,
                    code.expose_secret(),
                    purpose,
                    zh,
                ))
                .await
            }
            Channel::Sms => {
                self.send_sms(messages::code_sms(
                    destination,
                    code.expose_secret(),
                    purpose,
                    zh,
                ))
                .await
            }
        };
        if sent.is_err() {
            // Nobody received it: it must not count against the limit, so asking again at
            // once (the gateway may be back) is allowed.
            repo::one_time_codes::delete(self.store().writer(), id).await?;
        }
        sent
    }

    /// Checks `input` against the user's live code for `purpose` and uses it up; a wrong guess
    /// counts against the code. Returns the channel the code was sent through.
    pub(crate) async fn verify_sent_code(
        &self,
        user_id: uuid::Uuid,
        purpose: CodePurpose,
        input: &str,
    ) -> Result<Option<Channel>, CoreError> {
        let Some(code) = normalize_sent_code(input) else {
            return Ok(None);
        };
        let now = self.now();
        let Some(row) =
            repo::one_time_codes::live(self.store().writer(), user_id, purpose.as_str(), now)
                .await?
        else {
            return Ok(None);
        };
        let expected = self.code_hash(row.id, &code)?;
        if !constant_time_eq(&expected, &row.code_hash) {
            repo::one_time_codes::add_attempt(
                self.store().writer(),
                row.id,
                CODE_ATTEMPT_LIMIT,
                now,
            )
            .await?;
            return Ok(None);
        }
        let used = repo::one_time_codes::use_code(self.store().writer(), row.id, now).await?;
        Ok(used.then(|| Channel::parse(&row.channel)).flatten())
    }

    /// Sends a code for the sign-in waiting for its second factor (`pending_token`).
    pub async fn send_sign_in_code(
        &self,
        pending_token: &SecretString,
        channel: Channel,
    ) -> Result<(), CoreError> {
        let pending = self.pending_sign_in(pending_token.expose_secret()).await?;
        let user = self.active_user(pending.user_id).await?;
        self.send_code(&user, CodePurpose::SignIn, channel).await
    }

    /// The ways a waiting sign-in can be finished, for the page that asks for the code.
    pub async fn sign_in_options(
        &self,
        pending_token: &SecretString,
    ) -> Result<SignInOptions, CoreError> {
        let pending = self.pending_sign_in(pending_token.expose_secret()).await?;
        let user = self.active_user(pending.user_id).await?;
        self.code_options(&user).await
    }

    pub(crate) async fn code_options(
        &self,
        user: &user::Model,
    ) -> Result<SignInOptions, CoreError> {
        Ok(SignInOptions {
            totp: self.totp_enabled(user.id).await?,
            email: user.email_codes_at.is_some() && self.mail_configured(),
            sms: user.sms_codes_at.is_some() && self.sms_configured(),
            passkey: self.passkeys_available()
                && repo::passkeys::count_for_user(self.store().conn(), user.id).await? > 0,
        })
    }

    /// Sends a step-up code to the signed-in user.
    pub async fn send_step_up_code(
        &self,
        actor: &Actor,
        channel: Channel,
    ) -> Result<(), CoreError> {
        let user = self.active_user(actor.user_id.as_uuid()).await?;
        self.send_code(&user, CodePurpose::StepUp, channel).await
    }

    /// Sends a code proving the user's own e-mail address.
    pub async fn start_email_verification(&self, actor: &Actor) -> Result<(), CoreError> {
        let user = self.active_user(actor.user_id.as_uuid()).await?;
        if user.email_verified_at.is_some() {
            return Err(CoreError::Conflict(
                "this e-mail address is already confirmed",
            ));
        }
        self.send_code(&user, CodePurpose::VerifyEmail, Channel::Email)
            .await
    }

    pub async fn confirm_email(&self, actor: &Actor, code: &str) -> Result<(), CoreError> {
        let mut user = self.active_user(actor.user_id.as_uuid()).await?;
        if self
            .verify_sent_code(user.id, CodePurpose::VerifyEmail, code)
            .await?
            .is_none()
        {
            return Err(CoreError::InvalidCode);
        }
        let now = self.now();
        user.email_verified_at = Some(now);
        user.updated_at = now;
        repo::users::update(self.store().writer(), user).await?;
        Ok(())
    }

    /// Sets the user's phone number (step-up required) and sends it a code; the number is
    /// unproven until [`Core::confirm_phone`]. Refused while SMS codes are on (turn them off
    /// first, so sign-in never depends on a number nobody proved).
    pub async fn set_phone(&self, actor: &Actor, phone: &str) -> Result<(), CoreError> {
        self.require_recent_auth(actor)?;
        let phone = Phone::parse("phone", phone)?;
        let mut user = self.active_user(actor.user_id.as_uuid()).await?;
        if user.sms_codes_at.is_some() {
            return Err(CoreError::Rule {
                code: "sms_codes_enabled",
                message: "SMS codes are on for this number; turn them off before changing it",
            });
        }
        if !self.sms_configured() {
            return Err(CoreError::ChannelUnavailable(Channel::Sms));
        }
        let org = self.keys().org_key(self.store().conn()).await?;
        let now = self.now();
        user.phone_ct = Some(self.keys().encrypt(
            &org,
            "users",
            "phone",
            user.id,
            phone.as_str().as_bytes(),
            self.rng(),
        )?);
        user.phone_verified_at = None;
        user.updated_at = now;
        repo::users::update(self.store().writer(), user.clone()).await?;
        self.send_code(&user, CodePurpose::VerifyPhone, Channel::Sms)
            .await
    }

    /// Sends the unproven phone number a new code.
    pub async fn resend_phone_code(&self, actor: &Actor) -> Result<(), CoreError> {
        let user = self.active_user(actor.user_id.as_uuid()).await?;
        if user.phone_ct.is_none() || user.phone_verified_at.is_some() {
            return Err(CoreError::Conflict(
                "there is no phone number waiting for its code",
            ));
        }
        self.send_code(&user, CodePurpose::VerifyPhone, Channel::Sms)
            .await
    }

    pub async fn confirm_phone(&self, actor: &Actor, code: &str) -> Result<(), CoreError> {
        let mut user = self.active_user(actor.user_id.as_uuid()).await?;
        if user.phone_ct.is_none() {
            return Err(CoreError::Conflict("there is no phone number to confirm"));
        }
        if self
            .verify_sent_code(user.id, CodePurpose::VerifyPhone, code)
            .await?
            .is_none()
        {
            return Err(CoreError::InvalidCode);
        }
        let now = self.now();
        user.phone_verified_at = Some(now);
        user.updated_at = now;
        repo::users::update(self.store().writer(), user).await?;
        Ok(())
    }

    /// Removes the phone number (step-up required; refused while SMS codes are on).
    pub async fn remove_phone(&self, actor: &Actor) -> Result<(), CoreError> {
        self.require_recent_auth(actor)?;
        let mut user = self.active_user(actor.user_id.as_uuid()).await?;
        if user.sms_codes_at.is_some() {
            return Err(CoreError::Rule {
                code: "sms_codes_enabled",
                message: "SMS codes are on for this number; turn them off before removing it",
            });
        }
        user.phone_ct = None;
        user.phone_verified_at = None;
        user.updated_at = self.now();
        repo::users::update(self.store().writer(), user).await?;
        Ok(())
    }

    /// Turns codes by `channel` on as a second factor (step-up required; the address or number
    /// must be proven). Returns first recovery codes when the user has none, and the full
    /// session replacing an enrolment-only one.
    pub async fn enable_sent_codes(
        &self,
        actor: &Actor,
        channel: Channel,
    ) -> Result<crate::second_factor::FactorAdded, CoreError> {
        self.require_recent_auth(actor)?;
        let mut user = self.active_user(actor.user_id.as_uuid()).await?;
        let now = self.now();
        match channel {
            Channel::Email if user.email_verified_at.is_some() => {
                user.email_codes_at.get_or_insert(now);
            }
            Channel::Sms if user.phone_verified_at.is_some() => {
                user.sms_codes_at.get_or_insert(now);
            }
            Channel::Email => {
                return Err(CoreError::Rule {
                    code: "email_not_verified",
                    message: "confirm your e-mail address with a code first",
                });
            }
            Channel::Sms => {
                return Err(CoreError::Rule {
                    code: "phone_not_verified",
                    message: "add your phone number and confirm it with a code first",
                });
            }
        }
        user.updated_at = now;
        let txn = self.store().begin().await?;
        repo::users::update(&txn, user.clone()).await?;
        let method = match channel {
            Channel::Email => "password+email_code",
            Channel::Sms => "password+sms_code",
        };
        let added = self
            .finish_factor_enrolment(&txn, actor, user.id, method, now)
            .await?;
        txn.commit().await?;
        self.after_factor_enrolment(actor, &added);
        Ok(added)
    }

    /// Turns codes by `channel` off (step-up required; refused when the MFA policy covers the
    /// user and it is their only second factor).
    pub async fn disable_sent_codes(
        &self,
        actor: &Actor,
        channel: Channel,
    ) -> Result<(), CoreError> {
        self.require_recent_auth(actor)?;
        let mut user = self.active_user(actor.user_id.as_uuid()).await?;
        match channel {
            Channel::Email => user.email_codes_at = None,
            Channel::Sms => user.sms_codes_at = None,
        }
        if !self.has_second_factor(&user).await? && self.mfa_required_for(&user).await? {
            return Err(CoreError::Rule {
                code: "second_factor_required",
                message: "your organisation requires two-step verification; set up another second factor before turning this one off",
            });
        }
        let now = self.now();
        user.updated_at = now;
        let txn = self.store().begin().await?;
        repo::users::update(&txn, user.clone()).await?;
        self.retire_factor_codes(&txn, user.id, now).await?;
        self.audit_in(
            &txn,
            vec![crate::second_factor::mfa_change(
                actor,
                user.id,
                match channel {
                    Channel::Email => "email_code",
                    Channel::Sms => "sms_code",
                },
                "removed",
            )],
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Codes already sent for sign-in or step-up stop working (a channel was turned off or an
    /// administrator reset the user's factors).
    pub(crate) async fn retire_factor_codes<C: custodian_store::ConnectionTrait>(
        &self,
        conn: &C,
        user_id: uuid::Uuid,
        now: i64,
    ) -> Result<(), CoreError> {
        for purpose in [CodePurpose::SignIn, CodePurpose::StepUp] {
            repo::one_time_codes::retire(conn, user_id, purpose.as_str(), now).await?;
        }
        Ok(())
    }
}

/// How a waiting sign-in can be finished (recovery codes always can).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct SignInOptions {
    /// A code from an authenticator app.
    pub totp: bool,
    /// A code sent by e-mail (ask for it first).
    pub email: bool,
    /// A code sent by SMS (ask for it first).
    pub sms: bool,
    /// A passkey (start its ceremony first).
    pub passkey: bool,
}
