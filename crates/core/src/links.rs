//! Links from an activity or task to the CRM records it is about, and the rule for which key
//! encrypts its text: what someone wrote about a contact is that person's data, so it goes under
//! the contact's own key (erasing the contact erases it too); text about a company or deal alone
//! goes under the organisation key.

use crate::authz::{Action, RecordAction, RecordType};
use crate::record_access::{AccessRow, Territory};
use crate::{Actor, Core, CoreError};
use custodian_crypto::envelope::DataKey;
use custodian_domain::FieldError;
use custodian_domain::error::Validator;
use custodian_store::ConnectionTrait;
use custodian_store::repo;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use uuid::Uuid;

/// The kinds of record that have a timeline and can be linked to.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Contact,
    Company,
    Deal,
}

impl RecordKind {
    pub const ALL: [RecordKind; 3] = [RecordKind::Contact, RecordKind::Company, RecordKind::Deal];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Contact => "contact",
            RecordKind::Company => "company",
            RecordKind::Deal => "deal",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The records a new activity or task names directly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkInput {
    pub contact_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub deal_id: Option<Uuid>,
}

impl LinkInput {
    pub fn is_empty(&self) -> bool {
        self.contact_id.is_none() && self.company_id.is_none() && self.deal_id.is_none()
    }
}

/// Checked links, completed from what the named records point at (a deal's contact and
/// company, a contact's company) so the entry shows on every timeline it belongs to, and the
/// key its text is encrypted with.
#[derive(Debug, Clone)]
pub struct ResolvedLinks {
    pub contact_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub deal_id: Option<Uuid>,
    pub key: Arc<DataKey>,
    /// The territory and sensitivity of what the entry is about (the contact, else the
    /// company, else the deal), which the entry takes on.
    pub(crate) about: Option<Territory>,
}

impl Core {
    /// Checks that every named record exists, is live and is readable by the actor (422
    /// `unknown_contact`, `unknown_company`, `unknown_deal` otherwise: a record one may not
    /// read cannot be linked to, nor told apart from one that does not exist), fills in the
    /// records they imply, and picks the key. `required` refuses an entry linked to nothing
    /// (`link_required`).
    pub(crate) async fn resolve_links<C: ConnectionTrait>(
        &self,
        conn: &C,
        actor: &Actor,
        links: LinkInput,
        required: bool,
    ) -> Result<ResolvedLinks, CoreError> {
        let read = Action::Record(RecordAction::Read);
        let mut v = Validator::new();
        if required && links.is_empty() {
            v.push(FieldError::new(
                "contact_id",
                "link_required",
                "link this to a contact, a company or a deal",
            ));
        }
        let mut contact_id = links.contact_id;
        let mut company_id = links.company_id;
        let mut about = None;
        if let Some(id) = links.deal_id {
            match repo::deals::get(conn, id).await? {
                Some(deal)
                    if deal.deleted_at.is_none()
                        && self.permits_record(
                            actor,
                            read,
                            RecordType::Deal,
                            &deal.access_attrs(),
                        ) =>
                {
                    contact_id = contact_id.or(deal.contact_id);
                    company_id = company_id.or(deal.company_id);
                    about = Some(Territory::of(&deal.access_attrs()));
                }
                _ => v.push(FieldError::new(
                    "deal_id",
                    "unknown_deal",
                    "no deal with this id exists",
                )),
            }
        }
        let mut contact_dek = None;
        if let Some(id) = contact_id {
            let contact = match repo::contacts::get(conn, id).await? {
                Some(contact) if contact.deleted_at.is_none() => {
                    let attrs = self.contact_attrs_of(conn, &contact).await?;
                    // Only a contact the caller named must be readable; a deal's contact
                    // comes with the deal.
                    (links.contact_id.is_none()
                        || self.permits_record(actor, read, RecordType::Contact, &attrs))
                    .then_some((contact, attrs))
                }
                _ => None,
            };
            match contact {
                Some((contact, attrs)) => {
                    company_id = company_id.or(contact.company_id);
                    contact_dek = Some(contact.dek_id);
                    about = Some(Territory::of(&attrs));
                }
                // A deal's contact that was deleted since is dropped, not an error; a contact
                // named by the caller must exist.
                _ if links.contact_id.is_none() => contact_id = None,
                _ => v.push(FieldError::new(
                    "contact_id",
                    "unknown_contact",
                    "no contact with this id exists",
                )),
            }
        }
        if let Some(id) = company_id {
            let company = repo::companies::get(conn, id)
                .await?
                .filter(|c| c.deleted_at.is_none());
            let live = company.as_ref().is_some_and(|c| {
                links.company_id.is_none()
                    || self.permits_record(actor, read, RecordType::Company, &c.access_attrs())
            });
            if let Some(company) = company.filter(|_| live) {
                about = about.or_else(|| Some(Territory::of(&company.access_attrs())));
            }
            if !live {
                if links.company_id.is_some() {
                    v.push(FieldError::new(
                        "company_id",
                        "unknown_company",
                        "no company with this id exists",
                    ));
                } else {
                    company_id = None;
                }
            }
        }
        v.finish()?;
        let key = match contact_dek {
            Some(dek) => self.keys().data_key(conn, dek).await?,
            None => self.keys().org_key(conn).await?,
        };
        Ok(ResolvedLinks {
            contact_id,
            company_id,
            deal_id: links.deal_id,
            key,
            about,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_kinds_round_trip_through_their_names() {
        for kind in RecordKind::ALL {
            assert_eq!(RecordKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(RecordKind::parse("lead"), None);
    }
}
