//! Every field of every entity carries a classification, and the classification decides
//! storage: personal and sensitive fields are encrypted under the data subject's key and never
//! stored in plaintext; public and internal fields may be stored plainly and used to list, sort
//! and filter.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    /// May be shown to anyone who can see the record.
    Public,
    /// Business data that identifies no person (owner, tags, region).
    Internal,
    /// Identifies or relates to a person (GDPR personal data, PIPL 个人信息).
    Personal,
    /// Personal data whose exposure is especially harmful (free-text notes, complaints).
    Sensitive,
}

impl Classification {
    /// Whether values of this class must be encrypted at rest.
    pub const fn encrypted_at_rest(self) -> bool {
        matches!(self, Classification::Personal | Classification::Sensitive)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FieldSpec {
    pub name: &'static str,
    pub classification: Classification,
}

const fn field(name: &'static str, classification: Classification) -> FieldSpec {
    FieldSpec {
        name,
        classification,
    }
}

use Classification::{Internal, Personal, Public, Sensitive};

/// Contact fields. A contact is a data subject: its encrypted fields use its own data key, so
/// destroying that key erases the person (crypto-shredding).
pub const CONTACT_FIELDS: &[FieldSpec] = &[
    field("id", Public),
    field("name", Personal),
    field("emails", Personal),
    field("phones", Personal),
    field("job_title", Personal),
    field("company_id", Internal),
    field("address", Personal),
    field("notes", Sensitive),
    field("owner_id", Internal),
    field("team", Internal),
    field("tags", Internal),
    field("created_at", Internal),
    field("updated_at", Internal),
    field("deleted_at", Internal),
    field("version", Internal),
];

/// Company fields. A company is not a data subject, but its address may locate a sole trader,
/// so it is encrypted under the organisation data key; the name stays sortable.
pub const COMPANY_FIELDS: &[FieldSpec] = &[
    field("id", Public),
    field("name", Internal),
    field("industry", Internal),
    field("size", Internal),
    field("region", Internal),
    field("address", Personal),
    field("website", Internal),
    field("owner_id", Internal),
    field("tags", Internal),
    field("created_at", Internal),
    field("updated_at", Internal),
    field("deleted_at", Internal),
    field("version", Internal),
];

/// Deal fields. Amounts are financial data (their own field group for authorization) but
/// identify no person, so they stay plain for pipeline totals; the won/lost reason is free
/// text that may name people, encrypted under the organisation data key.
pub const DEAL_FIELDS: &[FieldSpec] = &[
    field("id", Public),
    field("title", Internal),
    field("pipeline_id", Internal),
    field("stage_id", Internal),
    field("status", Internal),
    field("amount", Internal),
    field("currency", Internal),
    field("expected_close_on", Internal),
    field("owner_id", Internal),
    field("company_id", Internal),
    field("contact_id", Internal),
    field("outcome_reason", Personal),
    field("closed_at", Internal),
    field("stage_entered_at", Internal),
    field("created_at", Internal),
    field("updated_at", Internal),
    field("deleted_at", Internal),
    field("version", Internal),
];

/// Lead fields. A lead is a prospective contact and a data subject: its personal fields are
/// encrypted under its own data key, which conversion destroys once they have moved under the
/// new contact's key.
pub const LEAD_FIELDS: &[FieldSpec] = &[
    field("id", Public),
    field("name", Personal),
    field("email", Personal),
    field("phone", Personal),
    field("job_title", Personal),
    field("company_name", Internal),
    field("notes", Sensitive),
    field("source", Internal),
    field("status", Internal),
    field("score", Internal),
    field("status_reason", Personal),
    field("owner_id", Internal),
    field("converted_contact_id", Internal),
    field("converted_company_id", Internal),
    field("converted_deal_id", Internal),
    field("converted_at", Internal),
    field("created_at", Internal),
    field("updated_at", Internal),
    field("deleted_at", Internal),
    field("version", Internal),
];

/// Activities (calls, meetings, e-mails, notes). What staff write about an interaction is
/// about the people in it: subject and body are encrypted under the linked contact's key (the
/// organisation key when no contact is linked), so erasing the contact erases them too.
pub const ACTIVITY_FIELDS: &[FieldSpec] = &[
    field("id", Public),
    field("kind", Internal),
    field("direction", Internal),
    field("outcome", Internal),
    field("subject", Personal),
    field("body", Sensitive),
    field("duration_minutes", Internal),
    field("occurred_at", Internal),
    field("owner_id", Internal),
    field("contact_id", Internal),
    field("company_id", Internal),
    field("deal_id", Internal),
    field("created_by", Internal),
    field("created_at", Internal),
    field("updated_at", Internal),
    field("deleted_at", Internal),
    field("version", Internal),
];

/// Pipelines and their stages are configuration: names, order and probabilities.
pub const PIPELINE_FIELDS: &[FieldSpec] = &[
    field("id", Public),
    field("name", Internal),
    field("stages", Internal),
    field("created_at", Internal),
    field("updated_at", Internal),
    field("version", Internal),
];

/// Staff users are data subjects too: their e-mail and display name are encrypted under the
/// organisation data key and found by a full-length blind index.
pub const USER_FIELDS: &[FieldSpec] = &[
    field("id", Public),
    field("email", Personal),
    field("display_name", Personal),
    field("password_hash", Sensitive),
    field("role", Internal),
    field("locale", Internal),
    field("status", Internal),
    field("team", Internal),
    field("department", Internal),
    field("region", Internal),
    field("created_at", Internal),
];

/// Sessions: the client they came from (IP address, user agent) is personal data, encrypted
/// under the organisation key; the token is stored only as a hash.
pub const SESSION_FIELDS: &[FieldSpec] = &[
    field("id", Public),
    field("token_hash", Sensitive),
    field("user_id", Internal),
    field("stage", Internal),
    field("auth_methods", Internal),
    field("client", Personal),
    field("created_at", Internal),
    field("last_seen_at", Internal),
    field("reauthenticated_at", Internal),
    field("factor_failures", Internal),
    field("revoked_at", Internal),
    field("end_reason", Internal),
];

/// Second factors: the TOTP secret is encrypted; recovery codes exist only as hashes.
pub const SECOND_FACTOR_FIELDS: &[FieldSpec] = &[
    field("user_id", Internal),
    field("totp_secret", Sensitive),
    field("totp_last_used_step", Internal),
    field("recovery_code_hash", Sensitive),
    field("confirmed_at", Internal),
    field("used_at", Internal),
];

/// Task fields. The title and notes are free text about people ("call Mr Zhao about…"):
/// encrypted under the linked contact's key when a contact is linked (erasing the contact
/// erases them), else under the organisation key. Everything lists sort and filter on is
/// internal.
pub const TASK_FIELDS: &[FieldSpec] = &[
    field("id", Public),
    field("title", Personal),
    field("notes", Sensitive),
    field("assignee_id", Internal),
    field("status", Internal),
    field("priority", Internal),
    field("due_at", Internal),
    field("due_all_day", Internal),
    field("remind_at", Internal),
    field("reminded_at", Internal),
    field("contact_id", Internal),
    field("company_id", Internal),
    field("deal_id", Internal),
    field("completed_at", Internal),
    field("created_by", Internal),
    field("created_at", Internal),
    field("updated_at", Internal),
    field("deleted_at", Internal),
    field("version", Internal),
];

/// Catalogue products are business data that identify no one.
pub const PRODUCT_FIELDS: &[FieldSpec] = &[
    field("id", Public),
    field("sku", Internal),
    field("name", Internal),
    field("description", Internal),
    field("category", Internal),
    field("list_price", Internal),
    field("currency", Internal),
    field("unit", Internal),
    field("active", Internal),
    field("created_at", Internal),
    field("updated_at", Internal),
    field("deleted_at", Internal),
    field("version", Internal),
];

/// Notifications hold references only (kind, task id, who caused it); the text they show is
/// read from the task at display time, so no personal text is copied into them.
pub const NOTIFICATION_FIELDS: &[FieldSpec] = &[
    field("id", Public),
    field("user_id", Internal),
    field("kind", Internal),
    field("task_id", Internal),
    field("actor_id", Internal),
    field("created_at", Internal),
    field("read_at", Internal),
];

/// Orders. Amounts, lines and status are financial data that identify no one by themselves
/// (plain, so totals are sums in the database); the free-text notes may name people and are
/// encrypted under the contact's key when a contact is the customer, else the organisation
/// key (the rule of `core::links`).
pub const ORDER_FIELDS: &[FieldSpec] = &[
    field("id", Public),
    field("number", Internal),
    field("status", Internal),
    field("currency", Internal),
    field("ordered_on", Internal),
    field("contact_id", Internal),
    field("company_id", Internal),
    field("deal_id", Internal),
    field("owner_id", Internal),
    field("notes", Sensitive),
    field("subtotal", Internal),
    field("discount_total", Internal),
    field("total", Internal),
    field("lines", Internal),
    field("placed_at", Internal),
    field("paid_at", Internal),
    field("fulfilled_at", Internal),
    field("cancelled_at", Internal),
    field("refunded_at", Internal),
    field("created_at", Internal),
    field("updated_at", Internal),
    field("deleted_at", Internal),
    field("version", Internal),
];

/// Order lines: what was sold, how many, at what price. The description is a product name or
/// a short item text (personal remarks belong in the order's encrypted notes).
pub const ORDER_LINE_FIELDS: &[FieldSpec] = &[
    field("id", Public),
    field("order_id", Internal),
    field("position", Internal),
    field("product_id", Internal),
    field("description", Internal),
    field("quantity", Internal),
    field("unit_price", Internal),
    field("discount", Internal),
    field("gross", Internal),
    field("discount_amount", Internal),
    field("total", Internal),
];

/// A contact's interest in a product is marketing data about a person: the level is encrypted
/// under the contact's key; the link itself (which product) stays plain for segmentation.
pub const PRODUCT_INTEREST_FIELDS: &[FieldSpec] = &[
    field("id", Public),
    field("contact_id", Internal),
    field("product_id", Internal),
    field("level", Personal),
    field("recorded_by", Internal),
    field("recorded_at", Internal),
];

/// Custom field definitions are configuration (labels, type, options): nothing personal. The
/// classification of each field's *values* is chosen by the administrator and stored on the
/// definition; it decides storage exactly as for built-in fields (see `CUSTOM_FIELD_VALUE_FIELDS`).
pub const CUSTOM_FIELD_FIELDS: &[FieldSpec] = &[
    field("id", Public),
    field("entity", Internal),
    field("key", Internal),
    field("label_en", Internal),
    field("label_zh", Internal),
    field("help_en", Internal),
    field("help_zh", Internal),
    field("kind", Internal),
    field("max_length", Internal),
    field("decimals", Internal),
    field("min", Internal),
    field("max", Internal),
    field("options", Internal),
    field("classification", Internal),
    field("required", Internal),
    field("position", Internal),
    field("archived", Internal),
    field("created_at", Internal),
    field("updated_at", Internal),
    field("version", Internal),
];

/// Communication preferences (one per contact). The enumerations that campaigns filter and
/// suppress on — channel, language, frequency, per-channel opt-outs and above all the
/// do-not-contact flag and its date — are **internal**: they say how to reach a person, not
/// who the person is, and they must be plain so a campaign can exclude do-not-contact
/// contacts in the database (an encrypted flag could only be honoured after decrypting every
/// contact, which is how suppressions get missed). Alone they identify no one; joined to the
/// contact they are as protected as the contact's id. The reason someone asked not to be
/// contacted is free text in their own words: personal, encrypted under the contact's key.
pub const CONTACT_PREFERENCE_FIELDS: &[FieldSpec] = &[
    field("id", Public),
    field("contact_id", Internal),
    field("channel", Internal),
    field("language", Internal),
    field("frequency", Internal),
    field("opt_outs", Internal),
    field("do_not_contact", Internal),
    field("do_not_contact_since", Internal),
    field("do_not_contact_reason", Personal),
    field("updated_by", Internal),
    field("created_at", Internal),
    field("updated_at", Internal),
    field("version", Internal),
];

/// A custom field value row. `value` takes the classification of its definition: public or
/// internal values are stored plain (`value_text` / `value_number`, filterable); personal or
/// sensitive ones only as `value_ct`, under the record's data key (a contact's own key, the
/// organisation key for companies and deals). The entry below is the strictest case.
pub const CUSTOM_FIELD_VALUE_FIELDS: &[FieldSpec] = &[
    field("record_id", Internal),
    field("field_id", Internal),
    field("entity", Internal),
    field("value", Sensitive),
    field("updated_at", Internal),
];

/// Survey responses. Kind, score, channel and time are internal so NPS and CSAT are computed
/// in the database; the comment is the person's own words about us (personal, often naming
/// staff or circumstances), encrypted under the contact's key.
pub const SURVEY_RESPONSE_FIELDS: &[FieldSpec] = &[
    field("id", Public),
    field("contact_id", Internal),
    field("company_id", Internal),
    field("deal_id", Internal),
    field("order_id", Internal),
    field("kind", Internal),
    field("score", Internal),
    field("comment", Personal),
    field("channel", Internal),
    field("responded_at", Internal),
    field("recorded_by", Internal),
    field("created_at", Internal),
    field("updated_at", Internal),
    field("deleted_at", Internal),
    field("version", Internal),
];

/// Complaints. What the customer complains about and how it was resolved are sensitive
/// (grievances, health or money trouble, named staff): subject, description and resolution are
/// encrypted under the contact's key. Category, severity, status, links, assignee and the
/// response due moment are internal: the complaint queue filters and sorts on them.
pub const COMPLAINT_FIELDS: &[FieldSpec] = &[
    field("id", Public),
    field("contact_id", Internal),
    field("company_id", Internal),
    field("order_id", Internal),
    field("product_id", Internal),
    field("deal_id", Internal),
    field("subject", Sensitive),
    field("description", Sensitive),
    field("category", Internal),
    field("severity", Internal),
    field("status", Internal),
    field("assignee_id", Internal),
    field("resolution", Sensitive),
    field("response_due_at", Internal),
    field("resolved_at", Internal),
    field("closed_at", Internal),
    field("created_by", Internal),
    field("created_at", Internal),
    field("updated_at", Internal),
    field("deleted_at", Internal),
    field("version", Internal),
];

/// A complaint's status history: who moved it from which status to which, when.
pub const COMPLAINT_STATUS_CHANGE_FIELDS: &[FieldSpec] = &[
    field("id", Public),
    field("complaint_id", Internal),
    field("from_status", Internal),
    field("to_status", Internal),
    field("changed_by", Internal),
    field("changed_at", Internal),
];

/// The classification of a named field of an entity, if the field exists.
pub fn classify(fields: &[FieldSpec], name: &str) -> Option<Classification> {
    fields
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.classification)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_contact_fields_are_encrypted() {
        for name in ["name", "emails", "phones", "job_title", "address", "notes"] {
            let class = classify(CONTACT_FIELDS, name);
            assert!(
                class.is_some_and(Classification::encrypted_at_rest),
                "{name} must be encrypted at rest"
            );
        }
        assert_eq!(classify(CONTACT_FIELDS, "tags"), Some(Internal));
        assert_eq!(classify(CONTACT_FIELDS, "nope"), None);
        for name in ["title", "notes"] {
            assert!(classify(TASK_FIELDS, name).is_some_and(Classification::encrypted_at_rest));
        }
        for (fields, name) in [
            (CONTACT_PREFERENCE_FIELDS, "do_not_contact_reason"),
            (SURVEY_RESPONSE_FIELDS, "comment"),
            (COMPLAINT_FIELDS, "subject"),
            (COMPLAINT_FIELDS, "description"),
            (COMPLAINT_FIELDS, "resolution"),
        ] {
            assert!(classify(fields, name).is_some_and(Classification::encrypted_at_rest));
        }
        assert_eq!(
            classify(CONTACT_PREFERENCE_FIELDS, "do_not_contact"),
            Some(Internal)
        );
        assert_eq!(classify(SESSION_FIELDS, "client"), Some(Personal));
        assert!(
            classify(SECOND_FACTOR_FIELDS, "totp_secret")
                .is_some_and(Classification::encrypted_at_rest)
        );
        assert!(
            NOTIFICATION_FIELDS
                .iter()
                .all(|f| !f.classification.encrypted_at_rest()),
            "notifications hold references, never personal text"
        );
    }

    #[test]
    fn field_names_are_unique() {
        for fields in [
            CONTACT_FIELDS,
            COMPANY_FIELDS,
            DEAL_FIELDS,
            LEAD_FIELDS,
            ACTIVITY_FIELDS,
            PIPELINE_FIELDS,
            USER_FIELDS,
            TASK_FIELDS,
            NOTIFICATION_FIELDS,
            PRODUCT_FIELDS,
            ORDER_FIELDS,
            ORDER_LINE_FIELDS,
            PRODUCT_INTEREST_FIELDS,
            CUSTOM_FIELD_FIELDS,
            CUSTOM_FIELD_VALUE_FIELDS,
            CONTACT_PREFERENCE_FIELDS,
            SURVEY_RESPONSE_FIELDS,
            COMPLAINT_FIELDS,
            COMPLAINT_STATUS_CHANGE_FIELDS,
            SESSION_FIELDS,
            SECOND_FACTOR_FIELDS,
        ] {
            let mut names: Vec<_> = fields.iter().map(|f| f.name).collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len());
        }
    }
}
