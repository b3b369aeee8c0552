//! Passkeys (WebAuthn through webauthn-rs): several per user, named, renamed and removed; used
//! as the second factor after a password, for step-up, and on their own as a passwordless,
//! phishing-resistant sign-in. User verification (PIN or biometric) is always required, so a
//! passkey is two factors in one.
//!
//! The state of a ceremony (its challenge) never leaves the server: it is stored encrypted in
//! `webauthn_ceremonies`, bound to the user and session that started it, taken out exactly once
//! and only within [`CEREMONY_TTL_MS`]; a replayed or late answer finds nothing to finish.
//! The relying party is the host of the server's public URL (`server.public_url`); an IP
//! address cannot be one, so with such a URL passkeys are off and say why.

use crate::auth::{SessionGrant, SessionStage};
use crate::second_factor::{Factor, FactorAdded};
use crate::sessions::ClientInfo;
use crate::{Actor, Core, CoreError};
use base64::Engine as _;
use custodian_crypto::envelope::DataKey;
use custodian_domain::{FieldError, UserId};
use custodian_store::entities::{passkey, user};
use custodian_store::repo;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::{Arc, RwLock};
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Url, Webauthn,
    WebauthnBuilder,
};
use webauthn_rs_proto::ResidentKeyRequirement;
use zeroize::Zeroizing;

/// How long a started ceremony can be finished (the browser's prompt times out sooner).
const CEREMONY_TTL_MS: i64 = 5 * 60 * 1000;
/// Passkeys one user may register.
pub const MAX_PASSKEYS_PER_USER: usize = 20;
/// Passwordless sign-ins that may be open at once (each holds a row until it expires); beyond
/// it new ones wait, so an unauthenticated flood cannot grow the table without bound.
const MAX_OPEN_SIGN_INS: u64 = 10_000;
/// The longest name a passkey may be given, in characters.
pub const PASSKEY_NAME_MAX_CHARS: usize = 64;
/// The relying party's name, shown by some authenticators.
const RP_NAME: &str = "Custodian";

/// What a ceremony was started for; it can only be finished for the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ceremony {
    Register,
    SignIn,
    SecondFactor,
    StepUp,
}

impl Ceremony {
    fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::SignIn => "sign_in",
            Self::SecondFactor => "second_factor",
            Self::StepUp => "step_up",
        }
    }
}

/// The relying party built from the public URL, when that URL names a host.
#[derive(Debug, Default)]
pub(crate) struct RelyingParty {
    webauthn: RwLock<Option<Arc<Webauthn>>>,
}

impl RelyingParty {
    /// Builds the relying party for `public_url`; `None` (passkeys off) for an IP address or a
    /// URL that is not https.
    pub(crate) fn configure(&self, public_url: &str) {
        let webauthn = relying_party(public_url).map(Arc::new);
        if webauthn.is_none() {
            tracing::warn!(
                "passkeys are off: server.public_url must be https:// with a host name (not an IP address)"
            );
        }
        *self
            .webauthn
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = webauthn;
    }

    fn get(&self) -> Option<Arc<Webauthn>> {
        self.webauthn
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

fn relying_party(public_url: &str) -> Option<Webauthn> {
    let origin = Url::parse(public_url).ok()?;
    if origin.scheme() != "https" {
        return None;
    }
    // `domain()` is None for IP addresses, which cannot be a WebAuthn RP ID.
    let rp_id = origin.domain()?.to_owned();
    WebauthnBuilder::new(&rp_id, &origin)
        .ok()?
        .rp_name(RP_NAME)
        .build()
        .ok()
}

/// A passkey as its owner sees it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct PasskeyView {
    pub id: uuid::Uuid,
    pub name: String,
    /// Unix milliseconds.
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A started ceremony: the id to send back with the answer, and the options to hand to
/// `navigator.credentials.create()` or `.get()` (WebAuthn's JSON form, `{"publicKey": …}`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct PasskeyChallenge {
    pub ceremony_id: uuid::Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub options: serde_json::Value,
}

/// A stored passkey, decrypted.
struct StoredPasskey {
    row: passkey::Model,
    credential: Passkey,
}

fn parse_credential<T: DeserializeOwned>(credential: serde_json::Value) -> Result<T, CoreError> {
    serde_json::from_value(credential).map_err(|_| {
        CoreError::Validation(vec![FieldError::new(
            "credential",
            "invalid_credential",
            "this is not a WebAuthn credential response; use the browser's passkey prompt",
        )])
    })
}

fn parse_passkey_name(name: &str) -> Result<String, CoreError> {
    let name = name.trim();
    let problem = if name.is_empty() {
        Some((
            "required",
            "give the passkey a name, such as the device it is on",
        ))
    } else if name.chars().count() > PASSKEY_NAME_MAX_CHARS {
        Some(("too_long", "use at most 64 characters"))
    } else if name.chars().any(char::is_control) {
        Some((
            "invalid",
            "use letters, digits, spaces and punctuation only",
        ))
    } else {
        None
    };
    match problem {
        Some((code, message)) => Err(CoreError::Validation(vec![FieldError::new(
            "name", code, message,
        )])),
        None => Ok(name.to_owned()),
    }
}

fn too_many_passkeys() -> CoreError {
    CoreError::Rule {
        code: "too_many_passkeys",
        message: "you have the most passkeys an account may have (20); remove one you no longer use first",
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<serde_json::Value, CoreError> {
    serde_json::to_value(value)
        .map_err(|_| CoreError::Internal("WebAuthn options not serialisable"))
}

impl Core {
    fn webauthn(&self) -> Result<Arc<Webauthn>, CoreError> {
        self.inner
            .relying_party
            .get()
            .ok_or(CoreError::PasskeysUnavailable)
    }

    /// Whether this server can use passkeys (its public URL names a host).
    pub fn passkeys_available(&self) -> bool {
        self.inner.relying_party.get().is_some()
    }

    fn credential_lookup(&self, credential_id: &[u8]) -> Result<Vec<u8>, CoreError> {
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(credential_id);
        self.keys().lookup("passkeys", "credential_id", &encoded)
    }

    async fn store_ceremony<S: Serialize>(
        &self,
        ceremony: Ceremony,
        user_id: Option<uuid::Uuid>,
        session_id: Option<uuid::Uuid>,
        state: &S,
    ) -> Result<uuid::Uuid, CoreError> {
        let now = self.now();
        let id = custodian_domain::ids::uuid_at(now);
        let state = Zeroizing::new(
            serde_json::to_vec(state)
                .map_err(|_| CoreError::Internal("WebAuthn state not serialisable"))?,
        );
        let org = self.keys().org_key(self.store().conn()).await?;
        let state_ct =
            self.keys()
                .encrypt(&org, "webauthn_ceremonies", "state", id, &state, self.rng())?;
        repo::passkeys::insert_ceremony(
            self.store().writer(),
            custodian_store::entities::webauthn_ceremony::Model {
                id,
                purpose: ceremony.as_str().to_owned(),
                user_id,
                session_id,
                state_ct,
                created_at: now,
                expires_at: now + CEREMONY_TTL_MS,
            },
        )
        .await?;
        Ok(id)
    }

    /// Takes a ceremony out for finishing: only once, before it expires, for the purpose, user
    /// and session that started it.
    async fn take_ceremony<S: DeserializeOwned>(
        &self,
        id: uuid::Uuid,
        ceremony: Ceremony,
        user_id: Option<uuid::Uuid>,
        session_id: Option<uuid::Uuid>,
    ) -> Result<S, CoreError> {
        let row =
            repo::passkeys::take_ceremony(self.store().writer(), id, ceremony.as_str(), self.now())
                .await?
                .filter(|row| row.user_id == user_id && row.session_id == session_id)
                .ok_or(CoreError::PasskeyRequestExpired)?;
        let org = self.keys().org_key(self.store().conn()).await?;
        let state =
            self.keys()
                .decrypt(&org, "webauthn_ceremonies", "state", row.id, &row.state_ct)?;
        serde_json::from_slice(&state).map_err(|_| CoreError::DataIntegrity {
            table: "webauthn_ceremonies",
            column: "state_ct",
        })
    }

    fn open_passkey(&self, org: &DataKey, row: passkey::Model) -> Result<StoredPasskey, CoreError> {
        let json =
            self.keys()
                .decrypt(org, "passkeys", "credential", row.id, &row.credential_ct)?;
        let credential = serde_json::from_slice(&json).map_err(|_| CoreError::DataIntegrity {
            table: "passkeys",
            column: "credential_ct",
        })?;
        Ok(StoredPasskey { row, credential })
    }

    async fn stored_passkeys(&self, user_id: uuid::Uuid) -> Result<Vec<StoredPasskey>, CoreError> {
        let rows = repo::passkeys::for_user(self.store().conn(), user_id).await?;
        let org = self.keys().org_key(self.store().conn()).await?;
        rows.into_iter()
            .map(|row| self.open_passkey(&org, row))
            .collect()
    }

    /// The registered passkey with this credential ID, opened (one decryption, found by its
    /// blind index).
    async fn passkey_by_credential(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<StoredPasskey>, CoreError> {
        let lookup = self.credential_lookup(credential_id)?;
        let Some(row) = repo::passkeys::by_credential_lookup(self.store().conn(), &lookup).await?
        else {
            return Ok(None);
        };
        let org = self.keys().org_key(self.store().conn()).await?;
        self.open_passkey(&org, row).map(Some)
    }

    async fn seal_passkey(
        &self,
        id: uuid::Uuid,
        credential: &Passkey,
    ) -> Result<Vec<u8>, CoreError> {
        let json = Zeroizing::new(
            serde_json::to_vec(credential)
                .map_err(|_| CoreError::Internal("passkey not serialisable"))?,
        );
        let org = self.keys().org_key(self.store().conn()).await?;
        self.keys()
            .encrypt(&org, "passkeys", "credential", id, &json, self.rng())
    }

    async fn seal_passkey_name(&self, id: uuid::Uuid, name: &str) -> Result<Vec<u8>, CoreError> {
        let org = self.keys().org_key(self.store().conn()).await?;
        self.keys()
            .encrypt(&org, "passkeys", "name", id, name.as_bytes(), self.rng())
    }

    /// The signed-in user's passkeys, oldest first (only their names are decrypted).
    pub async fn list_passkeys(&self, actor: &Actor) -> Result<Vec<PasskeyView>, CoreError> {
        let user = self.active_user(actor.user_id.as_uuid()).await?;
        let org = self.keys().org_key(self.store().conn()).await?;
        repo::passkeys::for_user(self.store().conn(), user.id)
            .await?
            .into_iter()
            .map(|row| {
                Ok(PasskeyView {
                    name: self.keys().decrypt_string(
                        &org,
                        "passkeys",
                        "name",
                        row.id,
                        &row.name_ct,
                    )?,
                    id: row.id,
                    created_at: row.created_at,
                    last_used_at: row.last_used_at,
                })
            })
            .collect()
    }

    /// Starts registering a passkey for the signed-in user (step-up required). The options ask
    /// for user verification and, where the authenticator can, a discoverable credential (so
    /// the passkey can also sign in without a password); passkeys already registered are
    /// excluded.
    pub async fn begin_passkey_registration(
        &self,
        actor: &Actor,
    ) -> Result<PasskeyChallenge, CoreError> {
        self.require_recent_auth(actor)?;
        let session = actor.session_id().ok_or(CoreError::Forbidden)?;
        let webauthn = self.webauthn()?;
        let user = self.active_user(actor.user_id.as_uuid()).await?;
        let existing = self.stored_passkeys(user.id).await?;
        if existing.len() >= MAX_PASSKEYS_PER_USER {
            return Err(too_many_passkeys());
        }
        let org = self.keys().org_key(self.store().conn()).await?;
        let (email, display_name) = self.open_identity(&org, &user)?;
        let exclude = existing
            .iter()
            .map(|p| p.credential.cred_id().clone())
            .collect();
        let (mut options, state): (CreationChallengeResponse, PasskeyRegistration) = webauthn
            .start_passkey_registration(
                user.id,
                &email,
                display_name.as_deref().unwrap_or(&email),
                Some(exclude),
            )
            .map_err(|_| CoreError::Internal("WebAuthn registration could not start"))?;
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            selection.resident_key = Some(ResidentKeyRequirement::Preferred);
        }
        let ceremony_id = self
            .store_ceremony(
                Ceremony::Register,
                Some(user.id),
                Some(session.as_uuid()),
                &state,
            )
            .await?;
        Ok(PasskeyChallenge {
            ceremony_id,
            options: to_json(&options)?,
        })
    }

    /// Finishes a registration with the browser's answer and stores the passkey under `name`.
    /// As with any first second factor, the user gets recovery codes, and a session limited to
    /// enrolment by the MFA policy becomes a full one.
    pub async fn finish_passkey_registration(
        &self,
        actor: &Actor,
        ceremony_id: uuid::Uuid,
        name: &str,
        credential: serde_json::Value,
    ) -> Result<FactorAdded, CoreError> {
        self.require_recent_auth(actor)?;
        let session = actor.session_id().ok_or(CoreError::Forbidden)?;
        let name = parse_passkey_name(name)?;
        let credential: RegisterPublicKeyCredential = parse_credential(credential)?;
        let webauthn = self.webauthn()?;
        let user = self.active_user(actor.user_id.as_uuid()).await?;
        let state: PasskeyRegistration = self
            .take_ceremony(
                ceremony_id,
                Ceremony::Register,
                Some(user.id),
                Some(session.as_uuid()),
            )
            .await?;
        let passkey = webauthn
            .finish_passkey_registration(&credential, &state)
            .map_err(|_| CoreError::PasskeyRejected)?;
        if repo::passkeys::count_for_user(self.store().conn(), user.id).await?
            >= MAX_PASSKEYS_PER_USER as u64
        {
            return Err(too_many_passkeys());
        }
        let now = self.now();
        let id = custodian_domain::ids::uuid_at(now);
        let row = passkey::Model {
            id,
            user_id: user.id,
            credential_lookup: self.credential_lookup(passkey.cred_id())?,
            name_ct: self.seal_passkey_name(id, &name).await?,
            credential_ct: self.seal_passkey(id, &passkey).await?,
            created_at: now,
            last_used_at: None,
        };
        let txn = self.store().begin().await?;
        match repo::passkeys::insert(&txn, row).await {
            Err(e) if e.is_unique_violation() => {
                return Err(CoreError::Conflict(
                    "this passkey is already registered to an account",
                ));
            }
            other => other?,
        }
        let added = self
            .finish_factor_enrolment(&txn, actor, user.id, "password+passkey", now)
            .await?;
        txn.commit().await?;
        self.after_factor_enrolment(actor, &added);
        Ok(added)
    }

    pub async fn rename_passkey(
        &self,
        actor: &Actor,
        id: uuid::Uuid,
        name: &str,
    ) -> Result<(), CoreError> {
        let name = parse_passkey_name(name)?;
        let user = self.active_user(actor.user_id.as_uuid()).await?;
        let name_ct = self.seal_passkey_name(id, &name).await?;
        if !repo::passkeys::rename(self.store().writer(), user.id, id, name_ct).await? {
            return Err(CoreError::NotFound { entity: "passkey" });
        }
        Ok(())
    }

    /// Removes a passkey (step-up required; refused while the MFA policy covers the user and it
    /// is their last second factor). The recovery codes go with the last second factor.
    pub async fn remove_passkey(&self, actor: &Actor, id: uuid::Uuid) -> Result<(), CoreError> {
        self.require_recent_auth(actor)?;
        let user = self.active_user(actor.user_id.as_uuid()).await?;
        let mut left = self.second_factors(&user).await?;
        left.passkeys = left.passkeys.saturating_sub(1);
        if !left.any() && self.mfa_required_for(&user).await? {
            return Err(CoreError::Rule {
                code: "second_factor_required",
                message: "your organisation requires two-step verification; set up another second factor before removing this passkey",
            });
        }
        let txn = self.store().begin().await?;
        if !repo::passkeys::delete(&txn, user.id, id).await? {
            return Err(CoreError::NotFound { entity: "passkey" });
        }
        if !left.any() {
            repo::second_factors::delete_recovery_codes(&txn, user.id).await?;
        }
        self.audit_in(
            &txn,
            vec![
                crate::second_factor::mfa_change(actor, user.id, "passkey", "removed")
                    .detail("passkey", id.to_string())
                    .detail("recovery_codes_removed", !left.any()),
            ],
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Checks an assertion against the user's passkeys for a ceremony started with them, and
    /// records the use (the signature counter moves on; a counter that went back is refused by
    /// webauthn-rs as a possible clone).
    async fn verify_passkey_assertion(
        &self,
        user_id: uuid::Uuid,
        state: &PasskeyAuthentication,
        credential: &PublicKeyCredential,
    ) -> Result<bool, CoreError> {
        let webauthn = self.webauthn()?;
        let Ok(result) = webauthn.finish_passkey_authentication(credential, state) else {
            return Ok(false);
        };
        let Some(mut used) = self
            .passkey_by_credential(result.cred_id())
            .await?
            .filter(|p| p.row.user_id == user_id)
        else {
            return Ok(false);
        };
        let changed = used.credential.update_credential(&result) == Some(true);
        self.record_passkey_use(&used, changed).await?;
        Ok(true)
    }

    async fn record_passkey_use(
        &self,
        used: &StoredPasskey,
        credential_changed: bool,
    ) -> Result<(), CoreError> {
        let credential_ct = if credential_changed {
            Some(self.seal_passkey(used.row.id, &used.credential).await?)
        } else {
            None
        };
        repo::passkeys::record_use(
            self.store().writer(),
            used.row.id,
            credential_ct,
            self.now(),
        )
        .await?;
        Ok(())
    }

    async fn start_assertion(
        &self,
        user: &user::Model,
        ceremony: Ceremony,
        session_id: uuid::Uuid,
    ) -> Result<PasskeyChallenge, CoreError> {
        let webauthn = self.webauthn()?;
        let passkeys: Vec<Passkey> = self
            .stored_passkeys(user.id)
            .await?
            .into_iter()
            .map(|p| p.credential)
            .collect();
        if passkeys.is_empty() {
            return Err(CoreError::Rule {
                code: "no_passkeys",
                message: "this account has no passkey; use another way to confirm it is you",
            });
        }
        let (options, state) = webauthn
            .start_passkey_authentication(&passkeys)
            .map_err(|_| CoreError::Internal("WebAuthn authentication could not start"))?;
        let ceremony_id = self
            .store_ceremony(ceremony, Some(user.id), Some(session_id), &state)
            .await?;
        Ok(PasskeyChallenge {
            ceremony_id,
            options: to_json(&options)?,
        })
    }

    /// Starts a passkey as the second step of a sign-in waiting for it.
    pub async fn begin_passkey_second_factor(
        &self,
        pending_token: &SecretString,
    ) -> Result<PasskeyChallenge, CoreError> {
        let pending = self.pending_sign_in(pending_token.expose_secret()).await?;
        let user = self.active_user(pending.user_id).await?;
        self.start_assertion(&user, Ceremony::SecondFactor, pending.id)
            .await
    }

    /// Finishes the second step of a sign-in with a passkey; a failed assertion counts as a
    /// wrong code against the sign-in.
    pub async fn complete_sign_in_with_passkey(
        &self,
        pending_token: &SecretString,
        ceremony_id: uuid::Uuid,
        credential: serde_json::Value,
        client: &ClientInfo,
    ) -> Result<SessionGrant, CoreError> {
        let credential: PublicKeyCredential = parse_credential(credential)?;
        let pending = self.pending_sign_in(pending_token.expose_secret()).await?;
        let user = self.active_user(pending.user_id).await?;
        let throttle = self.throttle_keys(&self.user_email(&user).await?, client.ip)?;
        self.check_throttle(&throttle).await?;
        let state: PasskeyAuthentication = self
            .take_ceremony(
                ceremony_id,
                Ceremony::SecondFactor,
                Some(user.id),
                Some(pending.id),
            )
            .await?;
        if !self
            .verify_passkey_assertion(user.id, &state, &credential)
            .await?
        {
            self.record_failure(&throttle, true).await?;
            self.record_second_factor_failure(user.id, pending.id, "passkey", Some(client))
                .await?;
            return Err(passkey_failure(self.wrong_code(pending.id).await?));
        }
        self.finish_sign_in(&pending, Factor::Passkey, &throttle, client)
            .await
    }

    /// Starts a passkey step-up for the signed-in user.
    pub async fn begin_passkey_step_up(
        &self,
        actor: &Actor,
    ) -> Result<PasskeyChallenge, CoreError> {
        let session = actor.session_id().ok_or(CoreError::Forbidden)?;
        let user = self.active_user(actor.user_id.as_uuid()).await?;
        self.start_assertion(&user, Ceremony::StepUp, session.as_uuid())
            .await
    }

    /// Step-up with a passkey.
    pub async fn reauthenticate_with_passkey(
        &self,
        actor: &Actor,
        ceremony_id: uuid::Uuid,
        credential: serde_json::Value,
    ) -> Result<(), CoreError> {
        let credential: PublicKeyCredential = parse_credential(credential)?;
        let session = actor.session_id().ok_or(CoreError::Forbidden)?;
        let user = self.active_user(actor.user_id.as_uuid()).await?;
        let state: PasskeyAuthentication = self
            .take_ceremony(
                ceremony_id,
                Ceremony::StepUp,
                Some(user.id),
                Some(session.as_uuid()),
            )
            .await?;
        if !self
            .verify_passkey_assertion(user.id, &state, &credential)
            .await?
        {
            self.record_second_factor_failure(user.id, session.as_uuid(), "passkey", None)
                .await?;
            return Err(passkey_failure(self.wrong_code(session.as_uuid()).await?));
        }
        self.mark_step_up(session).await
    }

    /// Starts a passwordless sign-in: the browser offers the passkeys it holds for this site
    /// and the answer names the account. The client's network is throttled like a password
    /// sign-in's.
    pub async fn begin_passkey_sign_in(
        &self,
        client: &ClientInfo,
    ) -> Result<PasskeyChallenge, CoreError> {
        let webauthn = self.webauthn()?;
        self.check_throttle(&self.network_throttle_keys(client.ip)?)
            .await?;
        let open = repo::passkeys::live_ceremonies(
            self.store().conn(),
            Ceremony::SignIn.as_str(),
            self.now(),
        )
        .await?;
        if open >= MAX_OPEN_SIGN_INS {
            return Err(CoreError::Throttled {
                retry_after_secs: 60,
            });
        }
        let (mut options, state): (_, DiscoverableAuthentication) = webauthn
            .start_discoverable_authentication()
            .map_err(|_| CoreError::Internal("WebAuthn authentication could not start"))?;
        // The page asks on a button press (the browser's own prompt), not inside the e-mail
        // field's autofill.
        options.mediation = None;
        let ceremony_id = self
            .store_ceremony(Ceremony::SignIn, None, None, &state)
            .await?;
        Ok(PasskeyChallenge {
            ceremony_id,
            options: to_json(&options)?,
        })
    }

    /// Finishes a passwordless sign-in. A passkey with user verification is phishing-resistant
    /// multi-factor authentication, so the session is complete (no further code, and the MFA
    /// policy is met). An account locked by password guesses can still sign in this way: a
    /// passkey cannot be guessed, and the lock must not become a way to shut its owner out.
    pub async fn finish_passkey_sign_in(
        &self,
        ceremony_id: uuid::Uuid,
        credential: serde_json::Value,
        client: &ClientInfo,
    ) -> Result<SessionGrant, CoreError> {
        let credential: PublicKeyCredential = parse_credential(credential)?;
        let throttle = self.network_throttle_keys(client.ip)?;
        self.check_throttle(&throttle).await?;
        let state: DiscoverableAuthentication = self
            .take_ceremony(ceremony_id, Ceremony::SignIn, None, None)
            .await?;
        let Some(user_id) = self.verify_discoverable(state, &credential, client).await? else {
            self.record_failure(&throttle, true).await?;
            return Err(CoreError::PasskeyRejected);
        };
        let now = self.now();
        let txn = self.store().begin().await?;
        let grant = self
            .new_session(
                &txn,
                UserId(user_id),
                SessionStage::Active,
                "passkey",
                client,
                now,
            )
            .await?;
        txn.commit().await?;
        self.forget_sessions(&grant.ended);
        self.after_sign_in(user_id, &grant, client, 0).await?;
        Ok(grant)
    }

    /// The active user a discoverable assertion proves, if it does: the credential must be
    /// registered, to the user the authenticator named, and its signature must verify. A
    /// registered passkey that fails is a security event of its owner.
    async fn verify_discoverable(
        &self,
        state: DiscoverableAuthentication,
        credential: &PublicKeyCredential,
        client: &ClientInfo,
    ) -> Result<Option<uuid::Uuid>, CoreError> {
        let webauthn = self.webauthn()?;
        let Ok((user_handle, credential_id)) =
            webauthn.identify_discoverable_authentication(credential)
        else {
            return Ok(None);
        };
        let Some(mut used) = self.passkey_by_credential(credential_id).await? else {
            return Ok(None);
        };
        let owner = used.row.user_id;
        let result = if owner == user_handle && self.active_user(owner).await.is_ok() {
            webauthn
                .finish_discoverable_authentication_v2(credential, state, &used.credential)
                .ok()
        } else {
            None
        };
        let Some(result) = result else {
            self.record_security_event(crate::security_events::NewSecurityEvent {
                kind: crate::security_events::SecurityEventKind::SignInFailed,
                user_id: Some(owner),
                session_id: None,
                client: Some(client),
                detail: Some("passkey".to_owned()),
            })
            .await?;
            return Ok(None);
        };
        let changed = used.credential.update_credential(&result) == Some(true);
        self.record_passkey_use(&used, changed).await?;
        Ok(Some(owner))
    }
}

/// A failed passkey answers as such, unless it ended the sign-in or session.
fn passkey_failure(error: CoreError) -> CoreError {
    match error {
        CoreError::InvalidCode => CoreError::PasskeyRejected,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_relying_party_is_the_public_host() {
        let rp = relying_party("https://crm.example.com").unwrap();
        assert_eq!(
            rp.get_allowed_origins()[0].as_str(),
            "https://crm.example.com/"
        );
        assert!(relying_party("https://localhost:8443").is_some());
        assert!(
            relying_party("https://127.0.0.1:8443").is_none(),
            "an IP is no RP ID"
        );
        assert!(relying_party("https://[::1]:8443").is_none());
        assert!(
            relying_party("http://crm.example.com").is_none(),
            "https only"
        );
        assert!(relying_party("not a url").is_none());
    }

    #[test]
    fn passkey_names_are_trimmed_and_bounded() {
        assert_eq!(parse_passkey_name("  MacBook  ").unwrap(), "MacBook");
        assert_eq!(parse_passkey_name("办公室电脑").unwrap(), "办公室电脑");
        for bad in ["", "   ", "a\u{7}b", &"x".repeat(65)] {
            assert!(
                matches!(parse_passkey_name(bad), Err(CoreError::Validation(_))),
                "{bad:?} accepted"
            );
        }
        assert!(parse_passkey_name(&"字".repeat(64)).is_ok());
    }
}
