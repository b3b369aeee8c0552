//! Global search across contacts, companies, deals and leads, within what the storage allows:
//!
//! - an e-mail address finds contacts and leads by their blind index (exact address);
//! - a phone number (starting with `+` or a digit) finds contacts by blind index (exact E.164);
//! - anything else is a name: contacts by whole words / Chinese two-character pieces of their
//!   encrypted name (blind index, then confirmed on the decrypted name), companies by the start
//!   of their (plain) name, deals by the start of their (plain) title.
//!
//! There is no substring or fuzzy search on encrypted fields, and leads cannot be found by
//! name (only their e-mail is indexed). A name shared by too many contacts (one common
//! surname) is reported as too broad instead of answered partially.

use crate::authz::{Action, CollectionAction, RecordType, Resource};
use crate::companies::{CompanyQuery, CompanyView};
use crate::contacts::{ContactQuery, ContactSummary};
use crate::deals::{DealQuery, DealView};
use crate::leads::{LeadQuery, LeadView};
use crate::{Actor, Core, CoreError};
use custodian_domain::FieldError;
use serde::Serialize;

/// Results per kind of record.
pub const RESULTS_PER_KIND: u64 = 10;
const MAX_QUERY_CHARS: usize = 200;

/// What a search box entry searches by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchKind {
    Email,
    Phone,
    Name,
}

/// `@` means an e-mail address; a leading `+` or digit means a phone number; anything else is
/// a name. Full-width characters from Chinese input methods count as their ASCII forms.
pub fn classify(q: &str) -> SearchKind {
    let q = q.trim();
    if q.contains(['@', '＠']) {
        SearchKind::Email
    } else if q
        .chars()
        .next()
        .is_some_and(|c| c == '+' || c == '＋' || c.is_ascii_digit() || ('０'..='９').contains(&c))
    {
        SearchKind::Phone
    } else {
        SearchKind::Name
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Default, Serialize)]
pub struct SearchResults {
    pub contacts: Vec<ContactSummary>,
    /// The name matches too many contacts to list; add another word.
    pub contacts_too_broad: bool,
    pub companies: Vec<CompanyView>,
    pub deals: Vec<DealView>,
    pub leads: Vec<LeadView>,
}

crate::redacted_debug!(SearchResults);

/// Normalises full-width digits and signs from Chinese keyboards in a phone number.
fn ascii_phone(q: &str) -> String {
    q.chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(u32::from(c) - 0xFF10 + u32::from('0')).unwrap_or(c),
            '＋' => '+',
            c => c,
        })
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect()
}

impl Core {
    /// Searches every kind of record the entry can find (see the module documentation).
    pub async fn search(&self, actor: &Actor, q: &str) -> Result<SearchResults, CoreError> {
        let q = q.trim();
        if q.is_empty() || q.chars().count() > MAX_QUERY_CHARS {
            return Err(FieldError::new(
                "q",
                "invalid_search",
                "enter an e-mail address, a phone number or a name (at most 200 characters)",
            )
            .into());
        }
        let mut out = SearchResults::default();
        // Each kind only for callers who may list it (an auditor's search finds nothing,
        // rather than failing).
        let may = |record| {
            self.permits(
                actor,
                Action::Collection(CollectionAction::List),
                Resource::Collection(record),
            )
        };
        let (contacts, leads, companies, deals) = (
            may(RecordType::Contact),
            may(RecordType::Lead),
            may(RecordType::Company),
            may(RecordType::Deal),
        );
        match classify(q) {
            SearchKind::Email => {
                let email = q.replace('＠', "@");
                if contacts {
                    let contacts = self
                        .list_contacts(
                            actor,
                            ContactQuery {
                                email: Some(email.clone()),
                                limit: Some(RESULTS_PER_KIND),
                                ..ContactQuery::default()
                            },
                        )
                        .await?;
                    out.contacts = contacts.items;
                }
                if leads {
                    let leads = self
                        .list_leads(
                            actor,
                            LeadQuery {
                                email: Some(email),
                                limit: Some(RESULTS_PER_KIND),
                                ..LeadQuery::default()
                            },
                        )
                        .await?;
                    out.leads = leads.items;
                }
            }
            SearchKind::Phone if contacts => {
                let contacts = self
                    .list_contacts(
                        actor,
                        ContactQuery {
                            phone: Some(ascii_phone(q)),
                            limit: Some(RESULTS_PER_KIND),
                            ..ContactQuery::default()
                        },
                    )
                    .await?;
                out.contacts = contacts.items;
            }
            SearchKind::Phone => {}
            SearchKind::Name => {
                if contacts {
                    let contacts = self
                        .list_contacts(
                            actor,
                            ContactQuery {
                                name: Some(q.to_owned()),
                                limit: Some(RESULTS_PER_KIND),
                                ..ContactQuery::default()
                            },
                        )
                        .await;
                    match contacts {
                        Ok(page) => out.contacts = page.items,
                        Err(CoreError::Validation(errors))
                            if errors.iter().any(|e| e.code == "too_many_matches") =>
                        {
                            out.contacts_too_broad = true;
                        }
                        // A query of punctuation only has no name words: no contacts, other kinds
                        // may still match by prefix.
                        Err(CoreError::Validation(errors))
                            if errors.iter().all(|e| e.code == "invalid_search") => {}
                        Err(e) => return Err(e),
                    }
                }
                if companies {
                    out.companies = self
                        .list_companies(
                            actor,
                            CompanyQuery {
                                q: Some(q.to_owned()),
                                limit: Some(RESULTS_PER_KIND),
                                ..CompanyQuery::default()
                            },
                        )
                        .await?
                        .items;
                }
                if deals {
                    out.deals = self
                        .list_deals(
                            actor,
                            DealQuery {
                                q: Some(q.to_owned()),
                                limit: Some(RESULTS_PER_KIND),
                                ..DealQuery::default()
                            },
                        )
                        .await?
                        .items;
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_classified_by_their_shape() {
        assert_eq!(classify("li.na@example.cn"), SearchKind::Email);
        assert_eq!(classify(" li＠example.cn"), SearchKind::Email);
        assert_eq!(classify("+86 138 0013 8000"), SearchKind::Phone);
        assert_eq!(classify("０086 138"), SearchKind::Phone);
        assert_eq!(classify("王小明"), SearchKind::Name);
        assert_eq!(ascii_phone("＋８６ 138-0013"), "+861380013");
    }
}
