//! SeaORM entities. Columns ending in `_ct` hold field ciphertext (self-describing, bound to
//! table, column and row); `*_lookup` and search tokens hold blind indexes. Timestamps are Unix
//! milliseconds (UTC), identical on both backends.

macro_rules! entity_prelude {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub mod account_link;
pub mod activity;
pub mod alert;
pub mod alert_delivery;
pub mod alert_note;
pub mod api_token;
pub mod audit_checkpoint;
pub mod audit_cursor;
pub mod audit_event;
pub mod audit_head;
pub mod auth_throttle;
pub mod company;
pub mod complaint;
pub mod complaint_status_change;
pub mod contact;
pub mod contact_preference;
pub mod custom_field;
pub mod custom_field_value;
pub mod data_key;
pub mod deal;
pub mod deal_stage_change;
pub mod export_request;
pub mod key_version;
pub mod lead;
pub mod mfa_requirement;
pub mod notification;
pub mod notification_delivery;
pub mod one_time_code;
pub mod order;
pub mod order_counter;
pub mod order_line;
pub mod passkey;
pub mod pipeline;
pub mod pipeline_stage;
pub mod policy_version;
pub mod product;
pub mod product_interest;
pub mod record_tag;
pub mod recovery_code;
pub mod saved_view;
pub mod search_token;
pub mod security_event;
pub mod session;
pub mod setup_code;
pub mod sso_login;
pub mod survey_response;
pub mod task;
pub mod user;
pub mod user_role;
pub mod user_totp;
pub mod webauthn_ceremony;
