//! Staff users beyond the first administrator. This is the narrowest seam: an administrator
//! creates an active staff user with a password. User administration (invitations, roles,
//! deactivation, MFA) is the identity issue's, which extends this module.

use crate::auth::ROLE_ADMIN;
use crate::{Actor, Core, CoreError};
use custodian_domain::UserId;
use secrecy::SecretString;

/// The role of an ordinary CRM user.
pub const ROLE_STAFF: &str = "staff";

impl Core {
    /// Creates an active user with `role` (`staff` or `administrator`). Administrators only;
    /// the password policy of sign-up applies. A taken e-mail is a 409 `conflict`.
    pub async fn create_user(
        &self,
        actor: &Actor,
        email: &str,
        display_name: &str,
        role: &str,
        password: SecretString,
    ) -> Result<UserId, CoreError> {
        if !actor.is_admin() {
            return Err(CoreError::Forbidden);
        }
        if role != ROLE_STAFF && role != ROLE_ADMIN {
            return Err(custodian_domain::FieldError::new(
                "role",
                "invalid_role",
                "must be staff or administrator",
            )
            .into());
        }
        let (email, display_name) = crate::auth::parse_identity(email, display_name)?;
        let password = self.check_password_policy(password, &email)?;
        let hash = self.hash_password(password).await?;
        let now = self.now();
        let txn = self.store().begin().await?;
        let id = self
            .insert_user(&txn, &email, display_name.as_ref(), hash, role, now)
            .await?;
        txn.commit().await?;
        Ok(id)
    }
}
