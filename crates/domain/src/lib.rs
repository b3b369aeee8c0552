//! Pure domain types for Custodian: typed IDs, value objects parsed once, the field
//! classification of every entity, and the injected clock. No I/O, no async, no crypto.

pub mod audit;
pub mod classification;
pub mod clock;
pub mod custom_fields;
pub mod error;
pub mod feedback;
pub mod ids;
pub mod money;
pub mod password_policy;
pub mod purchases;
pub mod search;
pub mod token_scope;
pub mod values;

pub use classification::{Classification, FieldSpec};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{DomainError, FieldError};
pub use ids::{
    ActivityId, ApiTokenId, CompanyId, ComplaintId, ContactId, CustomFieldId, DataKeyId, DealId,
    LeadId, NotificationId, OrderId, PipelineId, ProductId, SessionId, StageId, SurveyResponseId,
    TaskId, UserId,
};
