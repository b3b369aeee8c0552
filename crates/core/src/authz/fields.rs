//! Field-level access: how much of a field group a caller gets (all of it, a masked form, or
//! nothing), and the masks. A mask never shows more than its pattern: two characters of an
//! e-mail's local part and one of its domain, a phone's country code and last four digits.

use super::{Action, FieldAccess, FieldGroup, RecordAttrs, RecordType};
use crate::{Actor, Core};
use serde::Serialize;
use std::collections::BTreeMap;

/// What a caller gets of one field group.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupAccess {
    Full,
    /// The values exist and are shown masked; `reveal` shows them in full.
    Masked,
    /// Withheld: the fields are empty in the response.
    Hidden,
}

/// Per field group of a record, what the caller gets (`{"contact_details": "masked", …}`).
pub type FieldGroups = BTreeMap<&'static str, GroupAccess>;

impl Core {
    /// How much of `group` of this record the actor may read.
    pub(crate) fn group_access(
        &self,
        actor: &Actor,
        record: RecordType,
        attrs: &RecordAttrs,
        group: FieldGroup,
    ) -> GroupAccess {
        self.field_groups(actor, record, attrs, &[group])
            .remove(group.code())
            .unwrap_or(GroupAccess::Hidden)
    }

    /// `group_access` for each of `groups`, decided together (one set of request entities).
    pub(crate) fn field_groups(
        &self,
        actor: &Actor,
        record: RecordType,
        attrs: &RecordAttrs,
        groups: &[FieldGroup],
    ) -> FieldGroups {
        let actions: Vec<Action> = groups
            .iter()
            .flat_map(|g| {
                [
                    Action::Field(*g, FieldAccess::Read),
                    Action::Field(*g, FieldAccess::ReadMasked),
                ]
            })
            .collect();
        let ctx = self.request_context(actor);
        let allowed = self
            .authz()
            .allowed_actions(
                &actor.principal,
                &actions,
                super::Resource::Record(record, attrs),
                &ctx,
            )
            .unwrap_or_default();
        groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let full = allowed.get(2 * i).copied().unwrap_or(false);
                let masked = allowed.get(2 * i + 1).copied().unwrap_or(false);
                let access = if full {
                    GroupAccess::Full
                } else if masked {
                    GroupAccess::Masked
                } else {
                    GroupAccess::Hidden
                };
                (g.code(), access)
            })
            .collect()
    }
}

/// `zhang.wei@example.com` → `zh***@e***.com`.
pub fn mask_email(email: &str) -> String {
    let (local, domain) = email.rsplit_once('@').unwrap_or((email, ""));
    let head: String = local.chars().take(2).collect();
    let (host, tld) = domain.rsplit_once('.').unwrap_or((domain, ""));
    let host_head: String = host.chars().take(1).collect();
    if tld.is_empty() {
        format!("{head}***@{host_head}***")
    } else {
        format!("{head}***@{host_head}***.{tld}")
    }
}

/// Calling codes of one and two digits (ITU-T E.164 assignments); all others have three.
const SHORT_CALLING_CODES: &[&str] = &[
    "1", "7", "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45",
    "46", "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
    "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
];

/// `+8613812341234` → `+86 *** **** 1234`.
pub fn mask_phone(phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let code_len = SHORT_CALLING_CODES
        .iter()
        .filter(|c| digits.starts_with(*c))
        .map(|c| c.len())
        .max()
        .unwrap_or(3);
    // Never show so much that little is hidden: at least four digits stay masked.
    if digits.len() < code_len + 8 {
        return "+*** **** ****".to_owned();
    }
    let last: String = digits[digits.len() - 4..].to_owned();
    format!("+{} *** **** {last}", &digits[..code_len])
}

/// A masked address says only that one exists.
pub const MASKED_ADDRESS: &str = "***";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_keep_two_letters_one_domain_letter_and_the_top_level_domain() {
        assert_eq!(mask_email("zhang.wei@example.com"), "zh***@e***.com");
        assert_eq!(mask_email("a@b.cn"), "a***@b***.cn");
        assert_eq!(mask_email("王@例子.中国"), "王***@例***.中国");
        assert_eq!(mask_email("odd"), "od***@***");
    }

    #[test]
    fn phones_keep_the_country_code_and_last_four_digits() {
        assert_eq!(mask_phone("+8613812341234"), "+86 *** **** 1234");
        assert_eq!(mask_phone("+14155550123"), "+1 *** **** 0123");
        assert_eq!(mask_phone("+97143001234"), "+971 *** **** 1234");
        assert_eq!(mask_phone("+4930123"), "+*** **** ****");
    }

    #[test]
    fn a_mask_never_contains_the_hidden_digits() {
        let phone = "+8613812345678";
        let masked = mask_phone(phone);
        for hidden in ["138", "1234", "8123"] {
            assert!(!masked.contains(hidden), "{masked}");
        }
        let masked = mask_email("secretname@hiddenhost.com");
        assert!(
            !masked.contains("cret") && !masked.contains("idden"),
            "{masked}"
        );
    }
}
