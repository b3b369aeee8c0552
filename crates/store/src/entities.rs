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

pub mod key_version {
    use sea_orm::entity::prelude::*;

    /// Fingerprint of each key version, so a wrong key file is refused at start.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "key_versions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub kind: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub version: i64,
        pub fingerprint: String,
        pub created_at: i64,
    }
    entity_prelude!();
}

pub mod data_key {
    use sea_orm::entity::prelude::*;

    /// A data encryption key, wrapped by a root key version.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "data_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub scope: String,
        pub root_version: i64,
        pub wrapped: Option<Vec<u8>>,
        pub created_at: i64,
        pub destroyed_at: Option<i64>,
    }
    entity_prelude!();
}

pub mod user {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        #[sea_orm(unique)]
        pub email_lookup: Vec<u8>,
        pub email_ct: Vec<u8>,
        pub display_name_ct: Option<Vec<u8>>,
        pub password_hash: Option<String>,
        pub role: String,
        pub locale: Option<String>,
        pub status: String,
        pub created_at: i64,
        pub updated_at: i64,
    }
    entity_prelude!();
}

pub mod session {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "sessions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        #[sea_orm(unique)]
        pub token_hash: Vec<u8>,
        pub user_id: Uuid,
        pub created_at: i64,
        pub last_seen_at: i64,
        pub revoked_at: Option<i64>,
    }
    entity_prelude!();
}

pub mod api_token {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "api_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        #[sea_orm(unique)]
        pub token_hash: Vec<u8>,
        pub user_id: Uuid,
        pub name: String,
        pub created_at: i64,
        pub expires_at: Option<i64>,
        pub last_used_at: Option<i64>,
        pub revoked_at: Option<i64>,
    }
    entity_prelude!();
}

pub mod setup_code {
    use sea_orm::entity::prelude::*;

    /// One-time codes, e.g. the first administrator's setup link.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "setup_codes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        #[sea_orm(unique)]
        pub code_hash: Vec<u8>,
        pub purpose: String,
        pub created_at: i64,
        pub expires_at: i64,
        pub used_at: Option<i64>,
    }
    entity_prelude!();
}

pub mod company {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "companies")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        /// Lower-cased name, so sorting by name is case-insensitive and index-backed.
        pub name_sort: String,
        pub industry: Option<String>,
        pub size_band: Option<String>,
        pub region: Option<String>,
        pub website: Option<String>,
        pub address_ct: Option<Vec<u8>>,
        pub dek_id: Uuid,
        pub owner_id: Option<Uuid>,
        /// JSON array of tags, so a read needs no second query; `record_tags` serves filters.
        pub tags: String,
        pub created_at: i64,
        pub updated_at: i64,
        pub deleted_at: Option<i64>,
        pub version: i64,
    }
    entity_prelude!();
}

pub mod contact {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "contacts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// The contact's own data key: destroying it erases the person.
        pub dek_id: Uuid,
        pub name_ct: Vec<u8>,
        pub emails_ct: Option<Vec<u8>>,
        pub phones_ct: Option<Vec<u8>>,
        pub job_title_ct: Option<Vec<u8>>,
        pub address_ct: Option<Vec<u8>>,
        pub notes_ct: Option<Vec<u8>>,
        pub company_id: Option<Uuid>,
        pub owner_id: Option<Uuid>,
        pub team: Option<String>,
        /// JSON array of tags, so a read needs no second query; `record_tags` serves filters.
        pub tags: String,
        pub created_at: i64,
        pub updated_at: i64,
        pub deleted_at: Option<i64>,
        pub version: i64,
    }
    entity_prelude!();
}

pub mod search_token {
    use sea_orm::entity::prelude::*;

    /// Truncated blind-index tokens for searching encrypted fields.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "search_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub entity: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub field: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub token: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub entity_id: Uuid,
        pub index_version: i64,
    }
    entity_prelude!();
}

pub mod record_tag {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "record_tags")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub entity: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub tag: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub entity_id: Uuid,
    }
    entity_prelude!();
}

pub mod pipeline {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "pipelines")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        /// Display order among pipelines; the first is the default for new deals.
        pub position: i64,
        pub created_at: i64,
        pub updated_at: i64,
        pub version: i64,
    }
    entity_prelude!();
}

pub mod pipeline_stage {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "pipeline_stages")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub pipeline_id: Uuid,
        pub name: String,
        /// Order within the pipeline, from 0.
        pub position: i64,
        /// Win probability in whole percent.
        pub probability: i64,
    }
    entity_prelude!();
}

pub mod deal {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "deals")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub pipeline_id: Uuid,
        pub stage_id: Uuid,
        pub title: String,
        /// Lower-cased, normalised title for prefix search and sorting.
        pub title_sort: String,
        /// `open`, `won` or `lost`.
        pub status: String,
        /// In the currency's minor unit (fen, cents); set together with `currency`.
        pub amount_minor: Option<i64>,
        pub currency: Option<String>,
        /// `YYYY-MM-DD`.
        pub expected_close_on: Option<String>,
        pub owner_id: Option<Uuid>,
        pub company_id: Option<Uuid>,
        pub contact_id: Option<Uuid>,
        /// The organisation data key, which encrypts `outcome_reason_ct`.
        pub dek_id: Uuid,
        pub outcome_reason_ct: Option<Vec<u8>>,
        pub closed_at: Option<i64>,
        pub stage_entered_at: i64,
        pub created_at: i64,
        pub updated_at: i64,
        pub deleted_at: Option<i64>,
        pub version: i64,
    }
    entity_prelude!();
}

pub mod deal_stage_change {
    use sea_orm::entity::prelude::*;

    /// Append-only history of a deal's stage and status: who moved it where, and when.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "deal_stage_changes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub deal_id: Uuid,
        /// `None` for the change that created the deal.
        pub from_stage_id: Option<Uuid>,
        pub to_stage_id: Uuid,
        pub from_status: Option<String>,
        pub to_status: String,
        /// The user who made the change (kept even if the user is later removed).
        pub changed_by: Uuid,
        pub changed_at: i64,
    }
    entity_prelude!();
}

pub mod lead {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "leads")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// The lead's own data key; destroyed when the lead is converted.
        pub dek_id: Uuid,
        /// Personal fields: all `None` once the lead is converted (they moved to the contact).
        pub name_ct: Option<Vec<u8>>,
        pub email_ct: Option<Vec<u8>>,
        pub phone_ct: Option<Vec<u8>>,
        pub job_title_ct: Option<Vec<u8>>,
        pub notes_ct: Option<Vec<u8>>,
        pub status_reason_ct: Option<Vec<u8>>,
        pub company_name: Option<String>,
        pub source: String,
        pub status: String,
        pub score: i64,
        pub owner_id: Option<Uuid>,
        pub converted_contact_id: Option<Uuid>,
        pub converted_company_id: Option<Uuid>,
        pub converted_deal_id: Option<Uuid>,
        pub converted_at: Option<i64>,
        pub created_at: i64,
        pub updated_at: i64,
        pub deleted_at: Option<i64>,
        pub version: i64,
    }
    entity_prelude!();
}
