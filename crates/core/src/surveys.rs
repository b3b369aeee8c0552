//! Satisfaction surveys: NPS (0–10) and CSAT (1–5) responses of a contact, optionally about a
//! deal or an order, and their aggregates. Scores are plain so the aggregates are one grouped
//! query; the comment is the person's words, encrypted under the contact's key. The NPS and
//! CSAT arithmetic and its rounding live in `custodian_domain::feedback`.

use crate::audit::AuditEvent;
use crate::authz::{CollectionAction, FieldGroup, RecordAction, RecordFilter, RecordType};
use crate::cursor;
use crate::links::LinkInput;
use crate::record_access::Placement;
use crate::{Actor, Core, CoreError};
use custodian_crypto::envelope::DataKey;
use custodian_domain::audit::AuditCode;
use custodian_domain::clock::{from_millis, to_millis};
use custodian_domain::error::Validator;
use custodian_domain::feedback::{
    ContactChannel, CsatSummary, NpsSummary, ScoreCounts, SurveyKind, block_text, csat, limits, nps,
};
use custodian_domain::values::Moment;
use custodian_domain::{
    CompanyId, ContactId, DealId, FieldError, OrderId, SurveyResponseId, UserId,
};
use custodian_store::entities::survey_response;
use custodian_store::page::{After, KeyValue};
use custodian_store::repo::{self, Deleted};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const TABLE: &str = "survey_responses";
const ENTITY: &str = "survey response";
const SORT: &str = "-responded";
/// The audit target type of a response.
const TARGET: &str = "survey_response";

/// The comment's field group, when a change writes it.
fn comment_groups(comment: bool) -> Vec<&'static str> {
    if comment {
        vec![FieldGroup::PreferencesFeedback.code()]
    } else {
        Vec::new()
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyInput {
    pub contact_id: Uuid,
    /// nps (score 0–10) or csat (score 1–5).
    pub kind: String,
    pub score: i64,
    #[serde(default)]
    pub comment: Option<String>,
    /// How the answer came in: email, phone, sms, wechat or post.
    #[serde(default)]
    pub channel: Option<String>,
    /// RFC 3339 or a date; now when absent.
    #[serde(default)]
    pub responded_at: Option<String>,
    #[serde(default)]
    pub deal_id: Option<Uuid>,
    #[serde(default)]
    pub order_id: Option<Uuid>,
}

/// Corrections to a response. Its contact and links are fixed (they decide the key).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyPatch {
    pub version: i64,
    #[serde(default)]
    pub score: Option<i64>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    pub comment: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    pub channel: Option<Option<String>>,
    #[serde(default)]
    pub responded_at: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize)]
pub struct SurveyView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: SurveyResponseId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub contact_id: ContactId,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub company_id: Option<CompanyId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub deal_id: Option<DealId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub order_id: Option<OrderId>,
    pub kind: String,
    pub score: i64,
    pub comment: Option<String>,
    pub channel: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub responded_at: time::OffsetDateTime,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub recorded_by: UserId,
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
}

crate::redacted_debug!(SurveyInput, SurveyPatch, SurveyView);

#[derive(Debug, Clone, Default)]
pub struct SurveyQuery {
    pub contact_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub kind: Option<String>,
    /// RFC 3339 or a date (from the start of that day, UTC).
    pub from: Option<String>,
    /// RFC 3339 or a date (to the end of that day, UTC).
    pub to: Option<String>,
    pub deleted: Deleted,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct SurveyPage {
    pub items: Vec<SurveyView>,
    pub next_cursor: Option<String>,
}

/// NPS over the selected 0–10 answers.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct NpsView {
    pub responses: i64,
    pub promoters: i64,
    pub passives: i64,
    pub detractors: i64,
    /// % promoters − % detractors, one decimal, half to even; null without responses.
    pub score: Option<String>,
}

/// CSAT over the selected 1–5 answers.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct CsatView {
    pub responses: i64,
    pub satisfied: i64,
    /// % of answers of 4 or 5, one decimal, half to even; null without responses.
    pub satisfied_percent: Option<String>,
    /// Mean score, two decimals, half to even; null without responses.
    pub average: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct SurveySummary {
    pub nps: NpsView,
    pub csat: CsatView,
}

impl From<NpsSummary> for NpsView {
    fn from(s: NpsSummary) -> Self {
        Self {
            responses: s.responses,
            promoters: s.promoters,
            passives: s.passives,
            detractors: s.detractors,
            score: s.score.map(|d| d.to_string()),
        }
    }
}

impl From<CsatSummary> for CsatView {
    fn from(s: CsatSummary) -> Self {
        Self {
            responses: s.responses,
            satisfied: s.satisfied,
            satisfied_percent: s.satisfied_percent.map(|d| d.to_string()),
            average: s.average.map(|d| d.to_string()),
        }
    }
}

struct SurveyData {
    kind: SurveyKind,
    score: i64,
    comment: Option<String>,
    channel: Option<ContactChannel>,
    responded_at: Option<i64>,
}

fn present(raw: Option<&str>) -> Option<&str> {
    raw.filter(|s| !s.trim().is_empty())
}

impl SurveyData {
    fn parse(
        kind: &str,
        score: i64,
        comment: Option<&str>,
        channel: Option<&str>,
        responded_at: Option<&str>,
    ) -> Result<Self, CoreError> {
        let mut v = Validator::new();
        let kind = v.check(SurveyKind::parse("kind", kind));
        if let Some(kind) = kind {
            v.check(kind.check_score("score", score));
        }
        let comment =
            present(comment).and_then(|c| v.check(block_text("comment", c, limits::COMMENT)));
        let channel = present(channel).and_then(|c| v.check(ContactChannel::parse("channel", c)));
        let responded_at = present(responded_at)
            .and_then(|r| v.check(Moment::parse("responded_at", r, true)))
            .map(|m| to_millis(m.at));
        v.finish()?;
        Ok(Self {
            kind: kind.ok_or(CoreError::Internal("validated survey kind missing"))?,
            score,
            comment,
            channel,
            responded_at,
        })
    }
}

/// A range bound: a date means the start (`from`) or the end (`to`) of that day, UTC.
pub(crate) fn range_bound(
    field: &str,
    raw: Option<&str>,
    start: bool,
) -> Result<Option<i64>, CoreError> {
    let Some(raw) = present(raw) else {
        return Ok(None);
    };
    let m = Moment::parse(field, raw, true)?;
    let at = to_millis(m.at);
    // A date's moment is the end of that day (23:59:59.999).
    Ok(Some(if m.all_day && start {
        at - 86_399_999
    } else {
        at
    }))
}

impl Core {
    pub async fn create_survey(
        &self,
        actor: &Actor,
        input: SurveyInput,
    ) -> Result<SurveyView, CoreError> {
        let data = SurveyData::parse(
            &input.kind,
            input.score,
            input.comment.as_deref(),
            input.channel.as_deref(),
            input.responded_at.as_deref(),
        )?;
        let now = self.now();
        let conn = self.store().conn();
        let links = self
            .resolve_links(
                conn,
                actor,
                LinkInput {
                    contact_id: Some(input.contact_id),
                    company_id: None,
                    deal_id: input.deal_id,
                },
                true,
            )
            .await?;
        if let Some(order) = input.order_id {
            let live = repo::orders::get(conn, order)
                .await?
                .is_some_and(|o| o.deleted_at.is_none());
            if !live {
                return Err(FieldError::new(
                    "order_id",
                    "unknown_order",
                    "no order with this id exists",
                )
                .into());
            }
        }
        let contact_id = links.contact_id.ok_or(CoreError::Internal(
            "a survey's contact was checked but is missing",
        ))?;
        let placement = Placement::new(actor, links.about.as_ref());
        let mut row = survey_response::Model {
            id: SurveyResponseId::new_at(now).as_uuid(),
            contact_id,
            company_id: links.company_id,
            deal_id: links.deal_id,
            order_id: input.order_id,
            dek_id: links.key.id(),
            kind: data.kind.code().to_owned(),
            score: data.score,
            comment_ct: None,
            channel: None,
            responded_at: now,
            recorded_by: actor.user_id.as_uuid(),
            team: placement.team,
            region: placement.region,
            sensitivity: placement.sensitivity,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            version: 1,
        };
        self.fill_survey(&links.key, &mut row, &data)?;
        self.authorize_new(actor, &row)?;
        if data.comment.is_some() {
            self.require_group_update(actor, &row, "comment", FieldGroup::PreferencesFeedback)?;
        }
        let fields: Vec<&str> = [
            ("contact_id", true),
            ("kind", true),
            ("score", true),
            ("comment", data.comment.is_some()),
            ("channel", input.channel.is_some()),
            ("responded_at", input.responded_at.is_some()),
            ("deal_id", input.deal_id.is_some()),
            ("order_id", input.order_id.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        let event = AuditEvent::by(actor, AuditCode::DataCreate)
            .target(TARGET, row.id)
            .detail("fields", fields)
            .detail("groups", comment_groups(data.comment.is_some()));
        let txn = self.store().begin().await?;
        repo::surveys::insert(&txn, row.clone()).await?;
        self.audit_in(&txn, vec![event]).await?;
        txn.commit().await?;
        self.publish_survey(actor, &links.key, &row)
    }

    pub async fn get_survey(
        &self,
        actor: &Actor,
        id: SurveyResponseId,
    ) -> Result<SurveyView, CoreError> {
        let conn = self.store().conn();
        let row = repo::surveys::get(conn, id.as_uuid()).await?;
        let row = self.authorized(actor, row, RecordAction::Read).await?;
        let key = self.keys().data_key(conn, row.dek_id).await?;
        let view = self.publish_survey(actor, &key, &row)?;
        self.audit_read(AuditEvent::by(actor, AuditCode::DataRead).target(TARGET, row.id))
            .await?;
        Ok(view)
    }

    /// The view without the comment unless the actor reads feedback on it.
    fn publish_survey(
        &self,
        actor: &Actor,
        key: &DataKey,
        row: &survey_response::Model,
    ) -> Result<SurveyView, CoreError> {
        let mut view = self.survey_view(key, row)?;
        if !self.reads_group(actor, row, FieldGroup::PreferencesFeedback) {
            view.comment = None;
        }
        Ok(view)
    }

    pub async fn update_survey(
        &self,
        actor: &Actor,
        id: SurveyResponseId,
        patch: SurveyPatch,
    ) -> Result<SurveyView, CoreError> {
        let conn = self.store().conn();
        let existing = repo::surveys::get(conn, id.as_uuid()).await?;
        let existing = self
            .authorized(actor, existing, RecordAction::Update)
            .await?;
        if patch.comment.is_some() {
            self.require_group_update(
                actor,
                &existing,
                "comment",
                FieldGroup::PreferencesFeedback,
            )?;
        }
        crate::check_changeable(
            existing.deleted_at,
            existing.version,
            patch.version,
            "the survey response is deleted; restore it before changing it",
        )?;
        let fields: Vec<&str> = [
            ("score", patch.score.is_some()),
            ("comment", patch.comment.is_some()),
            ("channel", patch.channel.is_some()),
            ("responded_at", patch.responded_at.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        let event = AuditEvent::by(actor, AuditCode::DataUpdate)
            .target(TARGET, existing.id)
            .detail("fields", fields)
            .detail("groups", comment_groups(patch.comment.is_some()))
            .detail("from_version", existing.version)
            .detail("to_version", existing.version + 1);
        let key = self.keys().data_key(conn, existing.dek_id).await?;
        let old = self.survey_view(&key, &existing)?;
        let comment = patch.comment.clone().unwrap_or(old.comment);
        let channel = patch.channel.clone().unwrap_or(old.channel);
        let responded = patch
            .responded_at
            .clone()
            .unwrap_or_else(|| rfc3339(existing.responded_at));
        let data = SurveyData::parse(
            &existing.kind,
            patch.score.unwrap_or(existing.score),
            comment.as_deref(),
            channel.as_deref(),
            Some(&responded),
        )?;
        let mut row = existing.clone();
        self.fill_survey(&key, &mut row, &data)?;
        row.updated_at = self.now().max(existing.updated_at);
        row.version = existing.version + 1;
        let txn = self.store().begin().await?;
        let outcome = repo::surveys::update_versioned(&txn, row.clone(), existing.version).await?;
        crate::versioned_write(ENTITY, outcome)?;
        self.audit_in(&txn, vec![event]).await?;
        txn.commit().await?;
        self.publish_survey(actor, &key, &row)
    }

    pub async fn delete_survey(
        &self,
        actor: &Actor,
        id: SurveyResponseId,
    ) -> Result<(), CoreError> {
        self.set_survey_deleted(actor, id, true).await.map(|_| ())
    }

    pub async fn restore_survey(
        &self,
        actor: &Actor,
        id: SurveyResponseId,
    ) -> Result<SurveyView, CoreError> {
        self.set_survey_deleted(actor, id, false).await
    }

    async fn set_survey_deleted(
        &self,
        actor: &Actor,
        id: SurveyResponseId,
        delete: bool,
    ) -> Result<SurveyView, CoreError> {
        let action = if delete {
            RecordAction::Delete
        } else {
            RecordAction::Restore
        };
        let row = repo::surveys::get(self.store().conn(), id.as_uuid()).await?;
        self.authorized(actor, row, action).await?;
        let txn = self.store().begin().await?;
        let outcome = repo::surveys::set_deleted(&txn, id.as_uuid(), delete, self.now()).await?;
        crate::soft_delete_outcome(ENTITY, delete, outcome)?;
        let row = repo::surveys::get(&txn, id.as_uuid())
            .await?
            .ok_or(CoreError::NotFound { entity: ENTITY })?;
        self.audit_in(
            &txn,
            vec![AuditEvent::deleted(actor, delete, TARGET, row.id)],
        )
        .await?;
        txn.commit().await?;
        let key = self
            .keys()
            .data_key(self.store().conn(), row.dek_id)
            .await?;
        self.publish_survey(actor, &key, &row)
    }

    /// The filter of a survey query, limited to the responses the actor may read.
    async fn survey_filter(
        &self,
        actor: &Actor,
        query: &SurveyQuery,
    ) -> Result<(repo::surveys::Filter, RecordFilter), CoreError> {
        self.require_collection(actor, RecordType::SurveyResponse, CollectionAction::List)
            .await?;
        let access = self.read_filter(actor, RecordType::SurveyResponse)?;
        let mut v = Validator::new();
        let kind = present(query.kind.as_deref())
            .and_then(|k| v.check(SurveyKind::parse("kind", k)))
            .map(|k| k.code().to_owned());
        let from = v.check(range_bound("from", query.from.as_deref(), true).map_err(first_error));
        let to = v.check(range_bound("to", query.to.as_deref(), false).map_err(first_error));
        if let (Some(Some(from)), Some(Some(to))) = (from, to)
            && from > to
        {
            v.push(FieldError::new(
                "to",
                "range_reversed",
                "must not be before `from`",
            ));
        }
        v.finish()?;
        let filter = repo::surveys::Filter {
            contact_id: query.contact_id,
            company_id: query.company_id,
            kind,
            from: from.flatten(),
            to: to.flatten(),
            deleted: query.deleted,
            access: Some(access.condition.clone()),
        };
        Ok((filter, access))
    }

    /// Responses newest first.
    pub async fn list_surveys(
        &self,
        actor: &Actor,
        query: SurveyQuery,
    ) -> Result<SurveyPage, CoreError> {
        let limit = cursor::page_size(query.limit)?;
        let after = query
            .cursor
            .as_deref()
            .map(|c| cursor::decode(SORT, c))
            .transpose()?;
        let (filter, access) = self.survey_filter(actor, &query).await?;
        let conn = self.store().conn();
        let key_of = |last: &survey_response::Model| (KeyValue::Int(last.responded_at), last.id);
        let page = self
            .readable_page(
                actor,
                &access,
                limit,
                after,
                {
                    let filter = &filter;
                    move |after: Option<After>| async move {
                        repo::surveys::list(conn, filter, after.as_ref(), limit).await
                    }
                },
                key_of,
            )
            .await?;
        let next_cursor = cursor::next(SORT, &page, key_of);
        let key_ids: Vec<Uuid> = page.items.iter().map(|r| r.dek_id).collect();
        let keys = self.keys().data_keys(conn, &key_ids).await?;
        let items = page
            .items
            .iter()
            .zip(keys)
            .map(|(row, key)| self.publish_survey(actor, &key, row))
            .collect::<Result<Vec<_>, CoreError>>()?;
        self.audit_page_read(actor, TARGET, page.items.iter().map(|r| r.id))
            .await?;
        Ok(SurveyPage { items, next_cursor })
    }

    /// NPS and CSAT over the live responses the query selects (its cursor and limit are
    /// ignored): one grouped count per kind and score, then exact arithmetic.
    pub async fn survey_summary(
        &self,
        actor: &Actor,
        query: SurveyQuery,
    ) -> Result<SurveySummary, CoreError> {
        let (mut filter, access) = self.survey_filter(actor, &query).await?;
        if !access.exact {
            // Counted in SQL: a condition wider than the policies would count too much.
            filter.access = Some(custodian_store::access::AccessCondition::False);
        }
        filter.deleted = Deleted::Exclude;
        let rows = repo::surveys::score_counts(self.store().conn(), &filter).await?;
        let mut nps_counts = ScoreCounts::default();
        let mut csat_counts = ScoreCounts::default();
        for row in rows {
            match row.kind.as_str() {
                "nps" => nps_counts.add(row.score, row.responses),
                "csat" => csat_counts.add(row.score, row.responses),
                _ => {}
            }
        }
        Ok(SurveySummary {
            nps: nps(&nps_counts).into(),
            csat: csat(&csat_counts).into(),
        })
    }

    fn fill_survey(
        &self,
        key: &DataKey,
        row: &mut survey_response::Model,
        data: &SurveyData,
    ) -> Result<(), CoreError> {
        row.kind = data.kind.code().to_owned();
        row.score = data.score;
        row.channel = data.channel.map(|c| c.code().to_owned());
        if let Some(at) = data.responded_at {
            row.responded_at = at;
        }
        row.comment_ct = data
            .comment
            .as_ref()
            .map(|c| {
                self.keys()
                    .encrypt(key, TABLE, "comment", row.id, c.as_bytes(), self.rng())
            })
            .transpose()?;
        Ok(())
    }

    fn survey_view(
        &self,
        key: &DataKey,
        row: &survey_response::Model,
    ) -> Result<SurveyView, CoreError> {
        let comment = row
            .comment_ct
            .as_deref()
            .map(|ct| {
                self.keys()
                    .decrypt_string(key, TABLE, "comment", row.id, ct)
            })
            .transpose()?;
        Ok(SurveyView {
            id: SurveyResponseId(row.id),
            contact_id: ContactId(row.contact_id),
            company_id: row.company_id.map(CompanyId),
            deal_id: row.deal_id.map(DealId),
            order_id: row.order_id.map(OrderId),
            kind: row.kind.clone(),
            score: row.score,
            comment,
            channel: row.channel.clone(),
            responded_at: from_millis(row.responded_at),
            recorded_by: UserId(row.recorded_by),
            created_at: from_millis(row.created_at),
            updated_at: from_millis(row.updated_at),
            deleted_at: row.deleted_at.map(from_millis),
            version: row.version,
        })
    }
}

fn first_error(e: CoreError) -> FieldError {
    match e {
        CoreError::Validation(mut errors) if !errors.is_empty() => errors.remove(0),
        _ => FieldError::new("range", "invalid_datetime", "must be a date or a timestamp"),
    }
}

fn rfc3339(ms: i64) -> String {
    from_millis(ms)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn scores_are_checked_against_their_kind() {
        let codes = |kind: &str, score: i64| match SurveyData::parse(kind, score, None, None, None)
        {
            Err(CoreError::Validation(errors)) => errors.iter().map(|e| e.code).collect(),
            Ok(_) => Vec::new(),
            Err(e) => panic!("{e}"),
        };
        assert_eq!(codes("csat", 0), vec!["score_out_of_range"]);
        assert_eq!(codes("nps", 0), Vec::<&str>::new());
        assert_eq!(codes("nps", 11), vec!["score_out_of_range"]);
        assert_eq!(codes("ces", 3), vec!["invalid_survey_kind"]);
        assert_eq!(
            range_bound("from", Some("2026-03-05"), true).unwrap(),
            Some(to_millis(time::macros::datetime!(2026-03-05 00:00 UTC)))
        );
        assert_eq!(
            range_bound("to", Some("2026-03-05"), false).unwrap(),
            Some(to_millis(
                time::macros::datetime!(2026-03-05 23:59:59.999 UTC)
            ))
        );
    }
}
