//! Pipelines (administrator-defined ordered stages with win probabilities) and the deals that
//! move through them. Every stage or status change of a deal is recorded in an append-only
//! history with who and when, in the same transaction as the change.

use crate::audit::AuditEvent;
use crate::authz::{Action, CollectionAction, FieldGroup, RecordAction, RecordType};
use crate::cursor;
use crate::custom_fields::{self as cf, CustomValues};
use crate::patch;
use crate::record_access::{AccessRow, Placement, Territory};
use crate::{Actor, Core, CoreError};
use custodian_crypto::envelope::DataKey;
use custodian_domain::audit::AuditCode;
use custodian_domain::clock::from_millis;
use custodian_domain::custom_fields::FieldEntity;
use custodian_domain::error::Validator;
use custodian_domain::ids::uuid_at;
use custodian_domain::money::Currency;
use custodian_domain::search::normalize_for_match;
use custodian_domain::values::{
    CalendarDate, DealStatus, DealTitle, OutcomeReason, PipelineName, Probability, StageName,
    limits,
};
use custodian_domain::{CompanyId, ContactId, DealId, FieldError, PipelineId, StageId, UserId};
use custodian_store::ConnectionTrait;
use custodian_store::entities::{deal, deal_stage_change, pipeline, pipeline_stage};
use custodian_store::page::{After, Direction, KeyValue};
use custodian_store::repo::deals::Sort as DealSortKey;
use custodian_store::repo::{self, Deleted};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

const TABLE: &str = "deals";
const ENTITY: &str = "deal";
const PIPELINE: &str = "pipeline";

/// Deals shown per board column when the caller does not say.
pub const DEFAULT_BOARD_COLUMN: u64 = 20;
pub const MAX_BOARD_COLUMN: u64 = 100;
const HISTORY_SORT: &str = "history";

// ---------------------------------------------------------------------------------------------
// Pipelines

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageInput {
    /// An existing stage to keep (renamed, re-ordered or re-weighted); absent for a new one.
    #[serde(default)]
    pub id: Option<Uuid>,
    pub name: String,
    /// Win probability in whole percent (0–100).
    pub probability: i64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineInput {
    pub name: String,
    /// In board order, left to right.
    pub stages: Vec<StageInput>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelinePatch {
    pub version: i64,
    #[serde(default)]
    pub name: Option<String>,
    /// The complete new stage list in order. Stages left out are removed, which is refused
    /// while any deal (including deleted ones) is in them.
    #[serde(default)]
    pub stages: Option<Vec<StageInput>>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct StageView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: StageId,
    pub name: String,
    pub position: i64,
    pub probability: i64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct PipelineView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: PipelineId,
    pub name: String,
    pub position: i64,
    pub stages: Vec<StageView>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: time::OffsetDateTime,
    pub version: i64,
}

struct StagePlan {
    id: Option<Uuid>,
    name: StageName,
    probability: Probability,
}

fn parse_pipeline(
    name: &str,
    stages: &[StageInput],
) -> Result<(PipelineName, Vec<StagePlan>), CoreError> {
    let mut v = Validator::new();
    let name = v.check(PipelineName::parse("name", name));
    if stages.is_empty() || stages.len() > limits::STAGES {
        v.push(FieldError::new(
            "stages",
            "invalid_stage_count",
            format!("a pipeline needs between 1 and {} stages", limits::STAGES),
        ));
    }
    let mut names = HashSet::new();
    let mut ids = HashSet::new();
    let mut plans = Vec::new();
    for (i, stage) in stages.iter().enumerate() {
        let field = format!("stages[{i}]");
        let stage_name = v.check(StageName::parse(&format!("{field}.name"), &stage.name));
        let probability = v.check(Probability::parse(
            &format!("{field}.probability"),
            stage.probability,
        ));
        if let Some(n) = &stage_name
            && !names.insert(normalize_for_match(n.as_str()))
        {
            v.push(FieldError::new(
                format!("{field}.name"),
                "duplicate_stage",
                "stage names must differ within a pipeline",
            ));
        }
        if let Some(id) = stage.id
            && !ids.insert(id)
        {
            v.push(FieldError::new(
                format!("{field}.id"),
                "duplicate_stage",
                "a stage may appear only once",
            ));
        }
        if let (Some(name), Some(probability)) = (stage_name, probability) {
            plans.push(StagePlan {
                id: stage.id,
                name,
                probability,
            });
        }
    }
    v.finish()?;
    Ok((
        name.ok_or(CoreError::Internal("validated name missing"))?,
        plans,
    ))
}

fn pipeline_view(row: &pipeline::Model, stages: &[pipeline_stage::Model]) -> PipelineView {
    PipelineView {
        id: PipelineId(row.id),
        name: row.name.clone(),
        position: row.position,
        stages: stages
            .iter()
            .filter(|s| s.pipeline_id == row.id)
            .map(stage_view)
            .collect(),
        created_at: from_millis(row.created_at),
        updated_at: from_millis(row.updated_at),
        version: row.version,
    }
}

fn stage_view(s: &pipeline_stage::Model) -> StageView {
    StageView {
        id: StageId(s.id),
        name: s.name.clone(),
        position: s.position,
        probability: s.probability,
    }
}

// ---------------------------------------------------------------------------------------------
// Deals

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DealInput {
    pub title: String,
    /// Defaults to the first pipeline (or the stage's pipeline when `stage_id` is given).
    #[serde(default)]
    pub pipeline_id: Option<Uuid>,
    /// Defaults to the pipeline's first stage.
    #[serde(default)]
    pub stage_id: Option<Uuid>,
    /// A decimal string such as "125000.50"; requires `currency`.
    #[serde(default)]
    pub amount: Option<String>,
    /// ISO 4217 code such as "CNY"; requires `amount`.
    #[serde(default)]
    pub currency: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub expected_close_on: Option<String>,
    #[serde(default)]
    pub owner_id: Option<Uuid>,
    #[serde(default)]
    pub company_id: Option<Uuid>,
    #[serde(default)]
    pub contact_id: Option<Uuid>,
    /// Custom field values by key, each of the field's type.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub custom_fields: CustomValues,
}

/// Changes to a deal's own fields. Stage and status change through move, close and reopen,
/// which record history.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DealPatch {
    pub version: i64,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub amount: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub currency: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub expected_close_on: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub owner_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub company_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub contact_id: Option<Option<Uuid>>,
    /// Custom field values to change by key; `null` clears one, keys left out stay.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub custom_fields: Option<CustomValues>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveDeal {
    pub version: i64,
    /// A stage of any pipeline; moving to another pipeline's stage moves the deal there.
    pub stage_id: Uuid,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseDeal {
    pub version: i64,
    /// `won` or `lost`.
    pub outcome: String,
    /// Why, in your words (encrypted at rest).
    #[serde(default)]
    pub reason: Option<String>,
}

impl std::fmt::Debug for CloseDeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloseDeal")
            .field("version", &self.version)
            .field("outcome", &self.outcome)
            .finish_non_exhaustive()
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReopenDeal {
    pub version: i64,
    /// Where the reopened deal goes; defaults to the stage it was closed in.
    #[serde(default)]
    pub stage_id: Option<Uuid>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize)]
pub struct DealView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: DealId,
    pub title: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub pipeline_id: PipelineId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub stage_id: StageId,
    /// `open`, `won` or `lost`.
    pub status: String,
    /// Exact decimal string with the currency's decimals, e.g. "125000.50".
    pub amount: Option<String>,
    pub currency: Option<String>,
    pub expected_close_on: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub owner_id: Option<UserId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub company_id: Option<CompanyId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub contact_id: Option<ContactId>,
    /// Personal-classified free text: in the detail view only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub closed_at: Option<time::OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub stage_entered_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub deleted_at: Option<time::OffsetDateTime>,
    pub version: i64,
    /// Custom field values by key: all of them on the detail view, public and internal ones
    /// in lists; absent on board cards.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub custom_fields: Option<CustomValues>,
}

impl std::fmt::Debug for DealView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DealView")
            .field("id", &self.id)
            .field("stage_id", &self.stage_id)
            .field("status", &self.status)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct StageChangeView {
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub from_stage_id: Option<StageId>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub to_stage_id: StageId,
    pub from_status: Option<String>,
    pub to_status: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub changed_by: UserId,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub changed_at: time::OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct StageChangePage {
    pub items: Vec<StageChangeView>,
    pub next_cursor: Option<String>,
}

/// Open deals' value in one currency.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MoneyTotal {
    pub currency: String,
    pub amount: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct BoardColumn {
    pub stage: StageView,
    /// Open deals in the stage (all of them, not only those listed).
    pub open_deals: i64,
    /// Their value per currency (deals without an amount count in `open_deals` only).
    pub totals: Vec<MoneyTotal>,
    /// The most recently updated open deals of the stage.
    pub deals: Vec<DealView>,
    /// Present when the stage holds more open deals than listed; continue with the deal list
    /// (`stage_id`, `status=open`, `sort=-updated`, this cursor).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct BoardView {
    pub pipeline: PipelineView,
    pub columns: Vec<BoardColumn>,
}

crate::cursor::sort_orders!(
    DealSort: DealSortKey,
    "must be one of: updated, -updated, created, -created, title, -title",
    {
        UpdatedDesc = "-updated" => (Updated, Desc),
        UpdatedAsc = "updated" => (Updated, Asc),
        CreatedDesc = "-created" => (Created, Desc),
        CreatedAsc = "created" => (Created, Asc),
        TitleAsc = "title" => (Title, Asc),
        TitleDesc = "-title" => (Title, Desc),
    }
);

#[derive(Debug, Clone, Default)]
pub struct DealQuery {
    pub pipeline_id: Option<Uuid>,
    pub stage_id: Option<Uuid>,
    pub status: Option<String>,
    pub owner_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub close_from: Option<String>,
    pub close_to: Option<String>,
    /// Title prefix, case-insensitive.
    pub q: Option<String>,
    pub deleted: Deleted,
    pub sort: DealSort,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct DealPage {
    pub items: Vec<DealView>,
    pub next_cursor: Option<String>,
}

/// A deal's own fields, validated.
struct DealData {
    title: DealTitle,
    money: Option<(Currency, i64)>,
    expected_close_on: Option<CalendarDate>,
    owner_id: Option<Uuid>,
    company_id: Option<Uuid>,
    contact_id: Option<Uuid>,
}

fn present(raw: Option<&str>) -> Option<&str> {
    raw.filter(|s| !s.trim().is_empty())
}

impl DealData {
    fn parse(input: &DealInput) -> Result<Self, CoreError> {
        let mut v = Validator::new();
        let title = v.check(DealTitle::parse("title", &input.title));
        let money = match (
            present(input.amount.as_deref()),
            present(input.currency.as_deref()),
        ) {
            (None, None) => None,
            (Some(_), None) => {
                v.push(FieldError::new(
                    "currency",
                    "currency_required",
                    "give the currency of the amount, such as CNY",
                ));
                None
            }
            (None, Some(_)) => {
                v.push(FieldError::new(
                    "amount",
                    "amount_required",
                    "give an amount for the currency, or leave both empty",
                ));
                None
            }
            (Some(amount), Some(currency)) => v
                .check(Currency::parse("currency", currency))
                .and_then(|c| v.check(c.parse_amount("amount", amount)).map(|m| (c, m))),
        };
        let expected_close_on = present(input.expected_close_on.as_deref())
            .and_then(|d| v.check(CalendarDate::parse("expected_close_on", d)));
        v.finish()?;
        Ok(Self {
            title: title.ok_or(CoreError::Internal("validated title missing"))?,
            money,
            expected_close_on,
            owner_id: input.owner_id,
            company_id: input.company_id,
            contact_id: input.contact_id,
        })
    }
}

fn apply_patch(mut input: DealInput, patch: DealPatch) -> DealInput {
    if let Some(v) = patch.title {
        input.title = v;
    }
    if let Some(v) = patch.amount {
        input.amount = v;
    }
    if let Some(v) = patch.currency {
        input.currency = v;
    }
    if let Some(v) = patch.expected_close_on {
        input.expected_close_on = v;
    }
    if let Some(v) = patch.owner_id {
        input.owner_id = v;
    }
    if let Some(v) = patch.company_id {
        input.company_id = v;
    }
    if let Some(v) = patch.contact_id {
        input.contact_id = v;
    }
    input
}

fn to_input(view: &DealView) -> DealInput {
    DealInput {
        title: view.title.clone(),
        pipeline_id: Some(view.pipeline_id.as_uuid()),
        stage_id: Some(view.stage_id.as_uuid()),
        amount: view.amount.clone(),
        currency: view.currency.clone(),
        expected_close_on: view.expected_close_on.clone(),
        owner_id: view.owner_id.map(|u| u.as_uuid()),
        company_id: view.company_id.map(|c| c.as_uuid()),
        contact_id: view.contact_id.map(|c| c.as_uuid()),
        custom_fields: CustomValues::new(),
    }
}

fn rule(code: &'static str, message: &'static str) -> CoreError {
    CoreError::Rule { code, message }
}

fn unknown_stage(field: &str) -> CoreError {
    FieldError::new(
        field,
        "unknown_stage",
        "no stage with this id exists in the pipeline",
    )
    .into()
}

/// The fields a new deal sets (names only: an audit event never holds a value).
pub(crate) fn input_field_names(input: &DealInput) -> Vec<&'static str> {
    let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
    [
        ("title", true),
        ("pipeline_id", input.pipeline_id.is_some()),
        ("stage_id", input.stage_id.is_some()),
        ("amount", set(&input.amount)),
        ("currency", set(&input.currency)),
        ("expected_close_on", set(&input.expected_close_on)),
        ("owner_id", input.owner_id.is_some()),
        ("company_id", input.company_id.is_some()),
        ("contact_id", input.contact_id.is_some()),
        ("custom_fields", !input.custom_fields.is_empty()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

/// The fields a patch names.
fn patch_field_names(patch: &DealPatch) -> Vec<&'static str> {
    [
        ("title", patch.title.is_some()),
        ("amount", patch.amount.is_some()),
        ("currency", patch.currency.is_some()),
        ("expected_close_on", patch.expected_close_on.is_some()),
        ("owner_id", patch.owner_id.is_some()),
        ("company_id", patch.company_id.is_some()),
        ("contact_id", patch.contact_id.is_some()),
        ("custom_fields", patch.custom_fields.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

/// The event of a stage or status change: the fields it changed, the stages and statuses
/// before and after (ids and codes, never the outcome reason) and the versions.
fn transition_event(actor: &Actor, before: &deal::Model, after: &deal::Model) -> AuditEvent {
    let fields: Vec<&str> = [
        ("pipeline_id", before.pipeline_id != after.pipeline_id),
        ("stage_id", before.stage_id != after.stage_id),
        ("status", before.status != after.status),
        ("closed_at", before.closed_at != after.closed_at),
        (
            "outcome_reason",
            before.outcome_reason_ct.is_some() || after.outcome_reason_ct.is_some(),
        ),
    ]
    .into_iter()
    .filter_map(|(name, changed)| changed.then_some(name))
    .collect();
    AuditEvent::by(actor, AuditCode::DataUpdate)
        .target(ENTITY, after.id)
        .detail("fields", fields)
        .detail("stage_from", before.stage_id.to_string())
        .detail("stage_to", after.stage_id.to_string())
        .detail("status_from", before.status.clone())
        .detail("status_to", after.status.clone())
        .detail("from_version", before.version)
        .detail("to_version", after.version)
}

/// The event of a pipeline's creation or change.
fn pipeline_event(actor: &Actor, id: Uuid, change: &str) -> AuditEvent {
    AuditEvent::by(actor, AuditCode::ConfigChange)
        .target(PIPELINE, id)
        .detail("setting", PIPELINE)
        .detail("change", change)
}

impl Core {
    pub async fn create_pipeline(
        &self,
        actor: &Actor,
        input: PipelineInput,
    ) -> Result<PipelineView, CoreError> {
        self.require(actor, crate::authz::SystemAction::ManageSettings)
            .await?;
        let (name, plans) = parse_pipeline(&input.name, &input.stages)?;
        if plans.iter().any(|p| p.id.is_some()) {
            return Err(FieldError::new(
                "stages",
                "unknown_stage",
                "a new pipeline's stages have no ids yet",
            )
            .into());
        }
        let now = self.now();
        let txn = self.store().begin().await?;
        let row = pipeline::Model {
            id: PipelineId::new_at(now).as_uuid(),
            name: name.into_inner(),
            position: repo::pipelines::next_position(&txn).await?,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        repo::pipelines::insert(&txn, row.clone()).await?;
        let mut stages = Vec::new();
        for (position, plan) in (0_i64..).zip(plans) {
            let stage = pipeline_stage::Model {
                id: StageId::new_at(now).as_uuid(),
                pipeline_id: row.id,
                name: plan.name.into_inner(),
                position,
                probability: i64::from(plan.probability.percent()),
            };
            repo::pipelines::insert_stage(&txn, stage.clone()).await?;
            stages.push(stage);
        }
        let event = pipeline_event(actor, row.id, "create")
            .detail("fields", ["name", "stages"])
            .detail(
                "stages_added",
                stages.iter().map(|s| s.id.to_string()).collect::<Vec<_>>(),
            );
        self.audit_in(&txn, vec![event]).await?;
        txn.commit().await?;
        Ok(pipeline_view(&row, &stages))
    }

    pub async fn list_pipelines(&self, _actor: &Actor) -> Result<Vec<PipelineView>, CoreError> {
        let conn = self.store().conn();
        let rows = repo::pipelines::all(conn).await?;
        let ids: Vec<Uuid> = rows.iter().map(|p| p.id).collect();
        let stages = repo::pipelines::stages(conn, &ids).await?;
        Ok(rows.iter().map(|p| pipeline_view(p, &stages)).collect())
    }

    pub async fn get_pipeline(
        &self,
        _actor: &Actor,
        id: PipelineId,
    ) -> Result<PipelineView, CoreError> {
        load_pipeline(self.store().conn(), id.as_uuid()).await
    }

    /// Renames the pipeline and/or replaces its stage list (see [`PipelinePatch::stages`]).
    pub async fn update_pipeline(
        &self,
        actor: &Actor,
        id: PipelineId,
        patch: PipelinePatch,
    ) -> Result<PipelineView, CoreError> {
        self.require(actor, crate::authz::SystemAction::ManageSettings)
            .await?;
        let txn = self.store().begin().await?;
        let current = load_pipeline(&txn, id.as_uuid()).await?;
        if patch.version != current.version {
            return Err(CoreError::StaleVersion {
                current_version: current.version,
            });
        }
        let keep_stages: Vec<StageInput> = current
            .stages
            .iter()
            .map(|s| StageInput {
                id: Some(s.id.as_uuid()),
                name: s.name.clone(),
                probability: s.probability,
            })
            .collect();
        let named: Vec<&str> = [
            ("name", patch.name.is_some()),
            ("stages", patch.stages.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        let name = patch.name.unwrap_or_else(|| current.name.clone());
        let stage_inputs = patch.stages.unwrap_or(keep_stages);
        let (name, plans) = parse_pipeline(&name, &stage_inputs)?;
        let existing: HashMap<Uuid, &StageView> =
            current.stages.iter().map(|s| (s.id.as_uuid(), s)).collect();
        for (i, plan) in plans.iter().enumerate() {
            if plan.id.is_some_and(|id| !existing.contains_key(&id)) {
                return Err(unknown_stage(&format!("stages[{i}].id")));
            }
        }
        let kept: HashSet<Uuid> = plans.iter().filter_map(|p| p.id).collect();
        let mut removed = Vec::new();
        for stage in &current.stages {
            let stage_id = stage.id.as_uuid();
            if !kept.contains(&stage_id) {
                removed.push(stage_id.to_string());
                if repo::deals::stage_in_use(&txn, stage_id).await? {
                    return Err(rule(
                        "stage_in_use",
                        "a stage you removed still holds deals (deleted ones included); move them to another stage first",
                    ));
                }
                repo::pipelines::delete_stage(&txn, stage_id).await?;
            }
        }
        let now = self.now().max(crate::companies::to_ms(current.updated_at));
        let mut added = Vec::new();
        for (position, plan) in (0_i64..).zip(plans) {
            let row = pipeline_stage::Model {
                id: plan.id.unwrap_or_else(|| StageId::new_at(now).as_uuid()),
                pipeline_id: id.as_uuid(),
                name: plan.name.into_inner(),
                position,
                probability: i64::from(plan.probability.percent()),
            };
            if plan.id.is_some() {
                repo::pipelines::update_stage(&txn, row).await?;
            } else {
                added.push(row.id.to_string());
                repo::pipelines::insert_stage(&txn, row).await?;
            }
        }
        let row = pipeline::Model {
            id: id.as_uuid(),
            name: name.into_inner(),
            position: current.position,
            created_at: crate::companies::to_ms(current.created_at),
            updated_at: now,
            version: current.version + 1,
        };
        let outcome = repo::pipelines::update_versioned(&txn, row, current.version).await?;
        crate::versioned_write("pipeline", outcome)?;
        let view = load_pipeline(&txn, id.as_uuid()).await?;
        let event = pipeline_event(actor, id.as_uuid(), "update")
            .detail("fields", named)
            .detail("stages_added", added)
            .detail("stages_removed", removed)
            .detail("from_version", current.version)
            .detail("to_version", current.version + 1);
        self.audit_in(&txn, vec![event]).await?;
        txn.commit().await?;
        Ok(view)
    }

    pub async fn create_deal(
        &self,
        actor: &Actor,
        input: DealInput,
    ) -> Result<DealView, CoreError> {
        let result = async {
            let now = self.now();
            let txn = self.store().begin().await?;
            let fields = self.field_set(&txn, FieldEntity::Deal).await?;
            let custom = fields.check(&input.custom_fields, true);
            let ((row, key), custom) =
                cf::merge(self.insert_deal(&txn, actor, &input, now).await, custom)?;
            self.write_custom(&txn, FieldEntity::Deal, &key, row.id, &custom, now)
                .await?;
            let event = AuditEvent::by(actor, AuditCode::DataCreate)
                .target(ENTITY, row.id)
                .detail("fields", input_field_names(&input));
            self.audit_in(&txn, vec![event]).await?;
            txn.commit().await?;
            let mut view = self.publish_deal(actor, self.deal_view(Some(&key), &row)?, &row);
            view.custom_fields = Some(custom.values()?);
            Ok(view)
        }
        .await;
        self.recording_denials(actor, result).await
    }

    /// The view without the amount unless the actor reads the deal's financials.
    pub(crate) fn publish_deal(
        &self,
        actor: &Actor,
        mut view: DealView,
        row: &deal::Model,
    ) -> DealView {
        if !self.reads_group(actor, row, FieldGroup::Financials) {
            view.amount = None;
            view.currency = None;
        }
        view
    }

    /// The detail view of a deal as stored now, custom values included, with what the actor
    /// may read.
    async fn deal_detail(
        &self,
        actor: &Actor,
        key: &DataKey,
        row: &deal::Model,
    ) -> Result<DealView, CoreError> {
        let mut view = self.publish_deal(actor, self.deal_view(Some(key), row)?, row);
        view.custom_fields = Some(
            self.record_custom(self.store().conn(), FieldEntity::Deal, row.id, key)
                .await?,
        );
        Ok(view)
    }

    /// Validates and writes a new deal and its first history entry inside the caller's
    /// transaction (creation, lead conversion).
    pub(crate) async fn insert_deal<C: ConnectionTrait>(
        &self,
        txn: &C,
        actor: &Actor,
        input: &DealInput,
        now: i64,
    ) -> Result<(deal::Model, std::sync::Arc<DataKey>), CoreError> {
        let mut data = DealData::parse(input)?;
        data.owner_id.get_or_insert(actor.user_id.as_uuid());
        let stage = resolve_stage(txn, input.pipeline_id, input.stage_id).await?;
        let about = self.check_deal_references(txn, actor, &data).await?;
        let placement = Placement::new(actor, about.as_ref());
        let key = self.keys().org_key(txn).await?;
        let row = deal::Model {
            id: DealId::new_at(now).as_uuid(),
            pipeline_id: stage.pipeline_id,
            stage_id: stage.id,
            title: String::new(),
            title_sort: String::new(),
            status: DealStatus::Open.code().to_owned(),
            amount_minor: None,
            currency: None,
            expected_close_on: None,
            owner_id: None,
            company_id: None,
            contact_id: None,
            dek_id: key.id(),
            outcome_reason_ct: None,
            closed_at: None,
            stage_entered_at: now,
            team: placement.team,
            region: placement.region,
            sensitivity: placement.sensitivity,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            version: 1,
        };
        let row = with_data(row, &data);
        self.authorize_new(actor, &row)?;
        if data.money.is_some() {
            self.require_group_update(actor, &row, "amount", FieldGroup::Financials)?;
        }
        repo::deals::insert(txn, row.clone()).await?;
        self.record_change(txn, actor, &row, None, now).await?;
        Ok((row, key))
    }

    pub async fn get_deal(&self, actor: &Actor, id: DealId) -> Result<DealView, CoreError> {
        let conn = self.store().conn();
        let row = self.authorized_deal(actor, id, RecordAction::Read).await?;
        let key = self.keys().data_key(conn, row.dek_id).await?;
        let view = self.deal_detail(actor, &key, &row).await?;
        self.audit_read(AuditEvent::by(actor, AuditCode::DataRead).target(ENTITY, row.id))
            .await?;
        Ok(view)
    }

    async fn authorized_deal(
        &self,
        actor: &Actor,
        id: DealId,
        action: RecordAction,
    ) -> Result<deal::Model, CoreError> {
        let row = repo::deals::get(self.store().conn(), id.as_uuid()).await?;
        self.authorized(actor, row, action).await
    }

    pub async fn update_deal(
        &self,
        actor: &Actor,
        id: DealId,
        patch: DealPatch,
    ) -> Result<DealView, CoreError> {
        let result = async {
            let before = self
                .authorized_deal(actor, id, RecordAction::Update)
                .await?;
            if patch.amount.is_some() || patch.currency.is_some() {
                let field = if patch.amount.is_some() {
                    "amount"
                } else {
                    "currency"
                };
                self.require_group_update(actor, &before, field, FieldGroup::Financials)?;
            }
            let txn = self.store().begin().await?;
            let (existing, key) = self.live_deal(&txn, id, patch.version).await?;
            let current = self.deal_view(Some(&key), &existing)?;
            let event = AuditEvent::by(actor, AuditCode::DataUpdate)
                .target(ENTITY, existing.id)
                .detail("fields", patch_field_names(&patch))
                .detail("from_version", existing.version)
                .detail("to_version", existing.version + 1);
            let fields = self.field_set(&txn, FieldEntity::Deal).await?;
            let custom = fields.check(&patch.custom_fields.clone().unwrap_or_default(), false);
            let (data, custom) = cf::merge(
                DealData::parse(&apply_patch(to_input(&current), patch)),
                custom,
            )?;
            self.check_deal_references(&txn, actor, &data).await?;
            let mut row = with_data(existing.clone(), &data);
            row.updated_at = self.now().max(existing.updated_at);
            row.version = existing.version + 1;
            self.authorize_changed(actor, &existing.access_attrs(), &row)?;
            let outcome =
                repo::deals::update_versioned(&txn, row.clone(), existing.version).await?;
            crate::versioned_write("deal", outcome)?;
            self.write_custom(
                &txn,
                FieldEntity::Deal,
                &key,
                row.id,
                &custom,
                row.updated_at,
            )
            .await?;
            self.audit_in(&txn, vec![event]).await?;
            txn.commit().await?;
            self.deal_detail(actor, &key, &row).await
        }
        .await;
        self.recording_denials(actor, result).await
    }

    /// Moves an open deal to another stage (of this or another pipeline), recording history.
    /// Moving to the stage it is already in changes nothing.
    pub async fn move_deal(
        &self,
        actor: &Actor,
        id: DealId,
        request: MoveDeal,
    ) -> Result<DealView, CoreError> {
        self.authorized_deal(actor, id, RecordAction::Update)
            .await?;
        let txn = self.store().begin().await?;
        let (existing, key) = self.live_deal(&txn, id, request.version).await?;
        if existing.status != DealStatus::Open.code() {
            return Err(rule(
                "deal_closed",
                "the deal is closed; reopen it before moving it to another stage",
            ));
        }
        let stage = repo::pipelines::stage(&txn, request.stage_id)
            .await?
            .ok_or_else(|| unknown_stage("stage_id"))?;
        if stage.id == existing.stage_id {
            return self.deal_detail(actor, &key, &existing).await;
        }
        let now = after_last_change(self.now(), &existing);
        let mut row = existing.clone();
        row.pipeline_id = stage.pipeline_id;
        row.stage_id = stage.id;
        row.stage_entered_at = now;
        let row = self
            .save_transition(&txn, actor, &existing, row, now)
            .await?;
        txn.commit().await?;
        self.deal_detail(actor, &key, &row).await
    }

    /// Closes an open deal as won or lost, with an optional reason (encrypted).
    pub async fn close_deal(
        &self,
        actor: &Actor,
        id: DealId,
        request: CloseDeal,
    ) -> Result<DealView, CoreError> {
        let mut v = Validator::new();
        let outcome = v.check(DealStatus::parse("outcome", &request.outcome));
        if outcome == Some(DealStatus::Open) {
            v.push(FieldError::new(
                "outcome",
                "invalid_outcome",
                "must be won or lost; to reopen a deal use reopen",
            ));
        }
        let reason = present(request.reason.as_deref())
            .and_then(|r| v.check(OutcomeReason::parse("reason", r)));
        v.finish()?;
        let outcome = outcome.ok_or(CoreError::Internal("validated outcome missing"))?;
        self.authorized_deal(actor, id, RecordAction::Update)
            .await?;
        let txn = self.store().begin().await?;
        let (existing, key) = self.live_deal(&txn, id, request.version).await?;
        if existing.status != DealStatus::Open.code() {
            return Err(rule(
                "deal_closed",
                "the deal is already closed; reopen it first to close it differently",
            ));
        }
        let now = after_last_change(self.now(), &existing);
        let mut row = existing.clone();
        row.status = outcome.code().to_owned();
        row.closed_at = Some(now);
        row.outcome_reason_ct = reason
            .map(|r| {
                self.keys().encrypt(
                    &key,
                    TABLE,
                    "outcome_reason",
                    row.id,
                    r.as_str().as_bytes(),
                    self.rng(),
                )
            })
            .transpose()?;
        let row = self
            .save_transition(&txn, actor, &existing, row, now)
            .await?;
        txn.commit().await?;
        self.deal_detail(actor, &key, &row).await
    }

    /// Reopens a won or lost deal, in the stage it closed in unless another is given.
    pub async fn reopen_deal(
        &self,
        actor: &Actor,
        id: DealId,
        request: ReopenDeal,
    ) -> Result<DealView, CoreError> {
        self.authorized_deal(actor, id, RecordAction::Update)
            .await?;
        let txn = self.store().begin().await?;
        let (existing, key) = self.live_deal(&txn, id, request.version).await?;
        if existing.status == DealStatus::Open.code() {
            return Err(rule("deal_open", "the deal is open already"));
        }
        let now = after_last_change(self.now(), &existing);
        let mut row = existing.clone();
        if let Some(stage_id) = request.stage_id {
            let stage = repo::pipelines::stage(&txn, stage_id)
                .await?
                .ok_or_else(|| unknown_stage("stage_id"))?;
            if stage.id != row.stage_id {
                row.stage_entered_at = now;
            }
            row.pipeline_id = stage.pipeline_id;
            row.stage_id = stage.id;
        }
        row.status = DealStatus::Open.code().to_owned();
        row.closed_at = None;
        row.outcome_reason_ct = None;
        let row = self
            .save_transition(&txn, actor, &existing, row, now)
            .await?;
        txn.commit().await?;
        self.deal_detail(actor, &key, &row).await
    }

    pub async fn delete_deal(&self, actor: &Actor, id: DealId) -> Result<(), CoreError> {
        self.set_deal_deleted(actor, id, true).await.map(|_| ())
    }

    pub async fn restore_deal(&self, actor: &Actor, id: DealId) -> Result<DealView, CoreError> {
        self.set_deal_deleted(actor, id, false).await
    }

    async fn set_deal_deleted(
        &self,
        actor: &Actor,
        id: DealId,
        delete: bool,
    ) -> Result<DealView, CoreError> {
        let action = if delete {
            RecordAction::Delete
        } else {
            RecordAction::Restore
        };
        self.authorized_deal(actor, id, action).await?;
        let txn = self.store().begin().await?;
        let outcome = repo::deals::set_deleted(&txn, id.as_uuid(), delete, self.now()).await?;
        crate::soft_delete_outcome("deal", delete, outcome)?;
        let row = repo::deals::get(&txn, id.as_uuid())
            .await?
            .ok_or(CoreError::NotFound { entity: "deal" })?;
        let key = self.keys().data_key(&txn, row.dek_id).await?;
        self.audit_in(
            &txn,
            vec![AuditEvent::deleted(actor, delete, ENTITY, row.id)],
        )
        .await?;
        txn.commit().await?;
        self.deal_detail(actor, &key, &row).await
    }

    pub async fn list_deals(&self, actor: &Actor, query: DealQuery) -> Result<DealPage, CoreError> {
        self.require_collection(actor, RecordType::Deal, CollectionAction::List)
            .await?;
        let access = self.read_filter(actor, RecordType::Deal)?;
        let limit = cursor::page_size(query.limit)?;
        let sort_code = query.sort.code();
        let after = query
            .cursor
            .as_deref()
            .map(|c| cursor::decode(sort_code, c))
            .transpose()?;
        let mut v = Validator::new();
        let status =
            present(query.status.as_deref()).and_then(|s| v.check(DealStatus::parse("status", s)));
        let close_from = present(query.close_from.as_deref())
            .and_then(|d| v.check(CalendarDate::parse("close_from", d)));
        let close_to = present(query.close_to.as_deref())
            .and_then(|d| v.check(CalendarDate::parse("close_to", d)));
        if query
            .q
            .as_ref()
            .is_some_and(|q| q.chars().count() > limits::NAME)
        {
            v.push(FieldError::new(
                "q",
                "too_long",
                "must be at most 200 characters",
            ));
        }
        v.finish()?;
        let filter = repo::deals::Filter {
            pipeline_id: query.pipeline_id,
            stage_id: query.stage_id,
            status: status.map(|s| s.code().to_owned()),
            owner_id: query.owner_id,
            company_id: query.company_id,
            contact_id: query.contact_id,
            close_from: close_from.map(|d| d.to_string()),
            close_to: close_to.map(|d| d.to_string()),
            title_prefix: query
                .q
                .as_deref()
                .map(|q| normalize_for_match(q.trim()))
                .filter(|q| !q.is_empty()),
            deleted: query.deleted,
            access: Some(access.condition.clone()),
        };
        let (sort, direction) = query.sort.parts();
        let conn = self.store().conn();
        let page = self
            .readable_page(
                actor,
                &access,
                limit,
                after,
                {
                    let filter = &filter;
                    move |after: Option<After>| async move {
                        repo::deals::list(conn, filter, sort, direction, after.as_ref(), limit)
                            .await
                    }
                },
                |last| deal_cursor_key(sort, last),
            )
            .await?;
        let next_cursor = next_deal_cursor(sort_code, sort, page.has_more, page.items.last());
        let ids: Vec<Uuid> = page.items.iter().map(|r| r.id).collect();
        let mut custom = self
            .custom_values(self.store().conn(), FieldEntity::Deal, &ids, None)
            .await?;
        let items = page
            .items
            .iter()
            .map(|row| {
                let mut view = self.publish_deal(actor, self.deal_view(None, row)?, row);
                view.custom_fields = Some(custom.remove(&row.id).unwrap_or_default());
                Ok(view)
            })
            .collect::<Result<Vec<_>, CoreError>>()?;
        Ok(DealPage { items, next_cursor })
    }

    /// A pipeline as a board: per stage, its open deals (most recently updated first), their
    /// count and value per currency.
    pub async fn deal_board(
        &self,
        actor: &Actor,
        pipeline_id: PipelineId,
        per_stage: Option<u64>,
    ) -> Result<BoardView, CoreError> {
        let per_stage = match per_stage {
            None => DEFAULT_BOARD_COLUMN,
            Some(n) if (1..=MAX_BOARD_COLUMN).contains(&n) => n,
            Some(_) => {
                return Err(FieldError::new(
                    "per_stage",
                    "out_of_range",
                    format!("must be between 1 and {MAX_BOARD_COLUMN}"),
                )
                .into());
            }
        };
        let conn = self.store().conn();
        let pipeline = load_pipeline(conn, pipeline_id.as_uuid()).await?;
        self.require_collection(actor, RecordType::Deal, CollectionAction::List)
            .await?;
        let scope = self.dashboard_scope(actor)?;
        let totals = repo::deals::open_totals(
            conn,
            pipeline_id.as_uuid(),
            &scope.deals,
            &scope.deal_amounts,
        )
        .await?;
        let mut columns = Vec::new();
        for stage in &pipeline.stages {
            let page = self
                .list_deals(
                    actor,
                    DealQuery {
                        pipeline_id: Some(pipeline_id.as_uuid()),
                        stage_id: Some(stage.id.as_uuid()),
                        status: Some(DealStatus::Open.code().to_owned()),
                        limit: Some(per_stage),
                        ..DealQuery::default()
                    },
                )
                .await?;
            let mut open_deals = 0;
            let mut stage_totals = Vec::new();
            for total in totals.iter().filter(|t| t.stage_id == stage.id.as_uuid()) {
                open_deals += total.deals;
                if let Some(code) = &total.currency {
                    let currency = stored_currency(code)?;
                    stage_totals.push(MoneyTotal {
                        currency: currency.code().to_owned(),
                        amount: currency.format_amount(total.amount),
                    });
                }
            }
            stage_totals.sort_by(|a, b| a.currency.cmp(&b.currency));
            columns.push(BoardColumn {
                stage: stage.clone(),
                open_deals,
                totals: stage_totals,
                deals: page.items,
                next_cursor: page.next_cursor,
            });
        }
        Ok(BoardView { pipeline, columns })
    }

    /// Stage and status changes of a deal, newest first.
    pub async fn deal_history(
        &self,
        actor: &Actor,
        id: DealId,
        cursor_text: Option<&str>,
        limit: Option<u64>,
    ) -> Result<StageChangePage, CoreError> {
        self.authorized_deal(actor, id, RecordAction::Read).await?;
        let limit = cursor::page_size(limit)?;
        let after = cursor_text
            .map(|c| cursor::decode(HISTORY_SORT, c))
            .transpose()?;
        let conn = self.store().conn();
        if repo::deals::get(conn, id.as_uuid()).await?.is_none() {
            return Err(CoreError::NotFound { entity: "deal" });
        }
        let page = repo::deal_history::page(conn, id.as_uuid(), after.as_ref(), limit).await?;
        let next_cursor = cursor::next(HISTORY_SORT, &page, |last| {
            (KeyValue::Int(last.changed_at), last.id)
        });
        Ok(StageChangePage {
            items: page
                .items
                .iter()
                .map(|c| StageChangeView {
                    from_stage_id: c.from_stage_id.map(StageId),
                    to_stage_id: StageId(c.to_stage_id),
                    from_status: c.from_status.clone(),
                    to_status: c.to_status.clone(),
                    changed_by: UserId(c.changed_by),
                    changed_at: from_millis(c.changed_at),
                })
                .collect(),
            next_cursor,
        })
    }

    /// The deal, not deleted, at the version the client saw, with its key.
    async fn live_deal<C: ConnectionTrait>(
        &self,
        conn: &C,
        id: DealId,
        expected_version: i64,
    ) -> Result<(deal::Model, std::sync::Arc<DataKey>), CoreError> {
        let row = repo::deals::get(conn, id.as_uuid())
            .await?
            .ok_or(CoreError::NotFound { entity: "deal" })?;
        crate::check_changeable(
            row.deleted_at,
            row.version,
            expected_version,
            "the deal is deleted; restore it before changing it",
        )?;
        let key = self.keys().data_key(conn, row.dek_id).await?;
        Ok((row, key))
    }

    /// Writes a stage/status transition and its history entry; returns the row as written.
    async fn save_transition<C: ConnectionTrait>(
        &self,
        conn: &C,
        actor: &Actor,
        before: &deal::Model,
        mut after: deal::Model,
        now: i64,
    ) -> Result<deal::Model, CoreError> {
        after.updated_at = now;
        after.version = before.version + 1;
        let outcome = repo::deals::update_versioned(conn, after.clone(), before.version).await?;
        crate::versioned_write("deal", outcome)?;
        self.record_change(conn, actor, &after, Some(before), now)
            .await?;
        self.audit_in(conn, vec![transition_event(actor, before, &after)])
            .await?;
        Ok(after)
    }

    async fn record_change<C: ConnectionTrait>(
        &self,
        conn: &C,
        actor: &Actor,
        after: &deal::Model,
        before: Option<&deal::Model>,
        now: i64,
    ) -> Result<(), CoreError> {
        repo::deal_history::insert(
            conn,
            deal_stage_change::Model {
                id: uuid_at(now),
                deal_id: after.id,
                from_stage_id: before.map(|b| b.stage_id),
                to_stage_id: after.stage_id,
                from_status: before.map(|b| b.status.clone()),
                to_status: after.status.clone(),
                changed_by: actor.user_id.as_uuid(),
                changed_at: now,
            },
        )
        .await?;
        Ok(())
    }

    /// `key` (the organisation key) for the detail view; lists pass `None` and omit the
    /// personal-classified outcome reason.
    pub(crate) fn deal_view(
        &self,
        key: Option<&DataKey>,
        row: &deal::Model,
    ) -> Result<DealView, CoreError> {
        let amount = match (row.amount_minor, row.currency.as_deref()) {
            (Some(minor), Some(code)) => Some(stored_currency(code)?.format_amount(minor)),
            _ => None,
        };
        Ok(DealView {
            id: DealId(row.id),
            title: row.title.clone(),
            pipeline_id: PipelineId(row.pipeline_id),
            stage_id: StageId(row.stage_id),
            status: row.status.clone(),
            amount,
            currency: row.currency.clone(),
            expected_close_on: row.expected_close_on.clone(),
            owner_id: row.owner_id.map(UserId),
            company_id: row.company_id.map(CompanyId),
            contact_id: row.contact_id.map(ContactId),
            outcome_reason: match (key, row.outcome_reason_ct.as_deref()) {
                (Some(key), Some(ct)) => {
                    Some(
                        self.keys()
                            .decrypt_string(key, TABLE, "outcome_reason", row.id, ct)?,
                    )
                }
                _ => None,
            },
            closed_at: row.closed_at.map(from_millis),
            stage_entered_at: from_millis(row.stage_entered_at),
            created_at: from_millis(row.created_at),
            updated_at: from_millis(row.updated_at),
            deleted_at: row.deleted_at.map(from_millis),
            version: row.version,
            custom_fields: None,
        })
    }
}

/// A transition's time: strictly after the deal's last change, so its history orders exactly
/// even when changes land within one millisecond (ids break no ties: their low bits are random).
fn after_last_change(now: i64, existing: &deal::Model) -> i64 {
    now.max(existing.updated_at.saturating_add(1))
}

fn stored_currency(code: &str) -> Result<Currency, CoreError> {
    Currency::parse("currency", code).map_err(|_| CoreError::DataIntegrity {
        table: TABLE,
        column: "currency",
    })
}

fn with_data(mut row: deal::Model, data: &DealData) -> deal::Model {
    row.title = data.title.as_str().to_owned();
    row.title_sort = normalize_for_match(data.title.as_str());
    row.amount_minor = data.money.map(|(_, minor)| minor);
    row.currency = data.money.map(|(c, _)| c.code().to_owned());
    row.expected_close_on = data.expected_close_on.map(|d| d.to_string());
    row.owner_id = data.owner_id;
    row.company_id = data.company_id;
    row.contact_id = data.contact_id;
    row
}

fn deal_cursor_key(sort: repo::deals::Sort, row: &deal::Model) -> (KeyValue, Uuid) {
    let key = match sort {
        repo::deals::Sort::Created => KeyValue::Int(row.created_at),
        repo::deals::Sort::Updated => KeyValue::Int(row.updated_at),
        repo::deals::Sort::Title => KeyValue::Text(row.title_sort.clone()),
    };
    (key, row.id)
}

fn next_deal_cursor(
    sort_code: &str,
    sort: repo::deals::Sort,
    has_more: bool,
    last: Option<&deal::Model>,
) -> Option<String> {
    let (key, id) = deal_cursor_key(sort, last.filter(|_| has_more)?);
    Some(cursor::encode(sort_code, &After { key, id }))
}

async fn load_pipeline<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<PipelineView, CoreError> {
    let row = repo::pipelines::get(conn, id)
        .await?
        .ok_or(CoreError::NotFound { entity: "pipeline" })?;
    let stages = repo::pipelines::stages(conn, &[id]).await?;
    Ok(pipeline_view(&row, &stages))
}

/// The stage a new deal starts in: the one given (checked against the pipeline, if one is
/// given too), else the first stage of the given or the first pipeline.
async fn resolve_stage<C: ConnectionTrait>(
    conn: &C,
    pipeline_id: Option<Uuid>,
    stage_id: Option<Uuid>,
) -> Result<pipeline_stage::Model, CoreError> {
    if let Some(stage_id) = stage_id {
        let stage = repo::pipelines::stage(conn, stage_id)
            .await?
            .ok_or_else(|| unknown_stage("stage_id"))?;
        if pipeline_id.is_some_and(|p| p != stage.pipeline_id) {
            return Err(unknown_stage("stage_id"));
        }
        return Ok(stage);
    }
    let pipeline_id = match pipeline_id {
        Some(id) => {
            repo::pipelines::get(conn, id)
                .await?
                .ok_or_else(|| {
                    CoreError::from(FieldError::new(
                        "pipeline_id",
                        "unknown_pipeline",
                        "no pipeline with this id exists",
                    ))
                })?
                .id
        }
        None => {
            repo::pipelines::all(conn)
                .await?
                .first()
                .ok_or_else(|| {
                    CoreError::from(FieldError::new(
                        "pipeline_id",
                        "no_pipeline",
                        "there is no pipeline yet; an administrator must create one first",
                    ))
                })?
                .id
        }
    };
    repo::pipelines::stages(conn, &[pipeline_id])
        .await?
        .into_iter()
        .next()
        .ok_or(CoreError::Internal("pipeline without stages"))
}

impl Core {
    /// Checks the deal's owner, company and contact (which must exist, be live and be readable
    /// by the actor), and returns the territory the deal takes on: its contact's, else its
    /// company's.
    async fn check_deal_references<C: ConnectionTrait>(
        &self,
        conn: &C,
        actor: &Actor,
        data: &DealData,
    ) -> Result<Option<Territory>, CoreError> {
        let read = Action::Record(RecordAction::Read);
        let mut about = None;
        let mut v = Validator::new();
        if let Some(owner) = data.owner_id
            && repo::users::get_live(conn, owner).await?.is_none()
        {
            v.push(FieldError::new(
                "owner_id",
                "unknown_user",
                "no user with this id exists",
            ));
        }
        let company = match data.company_id {
            Some(id) => repo::companies::get(conn, id).await?.filter(|c| {
                c.deleted_at.is_none()
                    && self.permits_record(actor, read, RecordType::Company, &c.access_attrs())
            }),
            None => None,
        };
        if let Some(company) = &company {
            about = Some(Territory::of(&company.access_attrs()));
        }
        if data.company_id.is_some() && company.is_none() {
            v.push(FieldError::new(
                "company_id",
                "unknown_company",
                "no company with this id exists",
            ));
        }
        let contact = match data.contact_id {
            Some(id) => match repo::contacts::get(conn, id).await? {
                Some(c) if c.deleted_at.is_none() => {
                    let attrs = self.contact_attrs_of(conn, &c).await?;
                    self.permits_record(actor, read, RecordType::Contact, &attrs)
                        .then_some(attrs)
                }
                _ => None,
            },
            None => None,
        };
        if let Some(attrs) = &contact {
            about = Some(Territory::of(attrs));
        }
        if data.contact_id.is_some() && contact.is_none() {
            v.push(FieldError::new(
                "contact_id",
                "unknown_contact",
                "no contact with this id exists",
            ));
        }
        v.finish()?;
        Ok(about)
    }
}
