//! Typed identifiers (UUIDv7: time-ordered, so they double as a stable pagination key).

use std::fmt;
use std::str::FromStr;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// A new time-ordered id. The timestamp comes from the injected clock so tests stay
            /// deterministic in ordering; the random bits come from the UUID crate's generator.
            pub fn new_at(unix_millis: i64) -> Self {
                Self(uuid_at(unix_millis))
            }

            pub fn as_uuid(&self) -> uuid::Uuid {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self)
            }
        }

        impl From<uuid::Uuid> for $name {
            fn from(u: uuid::Uuid) -> Self {
                Self(u)
            }
        }
    };
}

typed_id!(
    /// A contact: a person at a customer, and a data subject with a data key of its own.
    ContactId
);
typed_id!(
    /// A company (account).
    CompanyId
);
typed_id!(
    /// A custom field definition.
    CustomFieldId
);
typed_id!(
    /// A staff user of Custodian.
    UserId
);
typed_id!(
    /// A server-side session.
    SessionId
);
typed_id!(
    /// An API token.
    ApiTokenId
);
typed_id!(
    /// A data encryption key.
    DataKeyId
);
typed_id!(
    /// A sales pipeline: an ordered set of stages deals move through.
    PipelineId
);
typed_id!(
    /// A stage of a pipeline.
    StageId
);
typed_id!(
    /// A deal (opportunity).
    DealId
);
typed_id!(
    /// A lead: a prospective customer contact, a data subject with a data key of its own.
    LeadId
);
typed_id!(
    /// A logged call, meeting, e-mail or note on a contact, company or deal.
    ActivityId
);
typed_id!(
    /// A task: something a user has to do, optionally about a contact, company or deal.
    TaskId
);
typed_id!(
    /// An in-app notification for one user.
    NotificationId
);

typed_id!(
    /// A product of the catalogue.
    ProductId
);
typed_id!(
    /// A sales order (purchase history).
    OrderId
);
typed_id!(
    /// A satisfaction survey response (NPS or CSAT).
    SurveyResponseId
);
typed_id!(
    /// A customer complaint.
    ComplaintId
);

/// A time-ordered UUID for rows without a typed id of their own.
pub fn uuid_at(unix_millis: i64) -> uuid::Uuid {
    let millis = u64::try_from(unix_millis).unwrap_or(0);
    let ts = uuid::Timestamp::from_unix(
        uuid::NoContext,
        millis / 1000,
        ((millis % 1000) * 1_000_000) as u32,
    );
    uuid::Uuid::new_v7(ts)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ids_are_time_ordered() {
        let a = ContactId::new_at(1_000);
        let b = ContactId::new_at(2_000);
        assert!(a < b);
        assert_eq!(a.to_string().parse::<ContactId>().unwrap(), a);
    }
}
