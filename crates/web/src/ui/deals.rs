//! Deal pages: the board of a pipeline (a move re-renders only the board under htmx, and is a
//! plain form post without JavaScript), the filtered list, the detail page with the stage
//! history, create, edit, move, close, reopen, delete and restore.
//!
//! Titles, amounts and dates are internal data. The won/lost reason is personal: it is shown on
//! the detail page only and never put into a URL or a log.

use super::activities::{Timeline, TimelineQuery, timeline};
use super::contacts::company_options;
use super::session::{CsrfOnly, csrf_checked_id};
use super::support::{
    Chrome, FormErrors, SelectOption, UiError, UiResultExt, Viewer, bad_request, build_url,
    field_message, format_time, is_htmx, normalize_newlines, optional, parse_id, render,
};
use crate::error::ApiError;
use crate::i18n::Tr;
use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use custodian_core::CoreError;
use custodian_core::contacts::Deleted;
use custodian_core::deals::{
    BoardView, CloseDeal, DealInput, DealPatch, DealQuery, DealSort, DealView, MoveDeal,
    PipelineView, ReopenDeal,
};
use custodian_core::links::RecordKind;
use custodian_domain::{DealId, FieldError, PipelineId};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use uuid::Uuid;

const NAV: &str = "deals";

/// The currencies the form offers. The domain accepts more (`money::Currency`); a deal that
/// already has another one keeps it as an extra option.
pub(crate) const CURRENCIES: &[&str] = &[
    "CNY", "USD", "EUR", "JPY", "HKD", "GBP", "SGD", "AED", "SAR",
];

const FORM_FIELDS: &[&str] = &[
    "title",
    "stage_id",
    "amount",
    "currency",
    "expected_close_on",
    "company_id",
    "contact_id",
    "owner_id",
];
/// Contacts the deal form's picker offers from the chosen company.
const PICKER_CONTACTS: u64 = 200;
const CLOSE_FIELDS: &[&str] = &["outcome", "reason"];
const FILTER_FIELDS: &[&str] = &["q", "status", "pipeline"];
const STATUSES: &[&str] = &["open", "won", "lost"];
/// History entries shown on the detail page.
const HISTORY_PAGE: u64 = 100;

// ---------------------------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------------------------

/// `1234567.50` → `1,234,567.50` (display only; amounts stay exact decimal strings).
pub(crate) fn group_digits(amount: &str) -> String {
    let (whole, fraction) = amount
        .split_once('.')
        .map_or((amount, None), |(w, f)| (w, Some(f)));
    if !whole.bytes().all(|b| b.is_ascii_digit()) {
        return amount.to_owned();
    }
    let mut out = String::with_capacity(amount.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = fraction {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// `CNY 125,000.50`, or empty for a deal without an amount.
pub(crate) fn money(amount: Option<&str>, currency: Option<&str>) -> String {
    match (amount, currency) {
        (Some(a), Some(c)) => format!("{c} {}", group_digits(a)),
        _ => String::new(),
    }
}

pub(crate) fn status_label(t: &Tr<'_>, status: &str) -> String {
    t.t(&format!("deal_status.{status}")).to_owned()
}

pub(crate) fn invalid_choice(field: &str) -> FieldError {
    FieldError::new(field, "invalid_choice", "choose a value from the list")
}

/// An optional id from a form field: blank is `None`, anything but a UUID an error.
pub(crate) fn optional_id(field: &str, raw: &str) -> Result<Option<Uuid>, FieldError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    Uuid::parse_str(raw)
        .map(Some)
        .map_err(|_| invalid_choice(field))
}

pub(crate) fn parse_version(raw: &str) -> Result<i64, FieldError> {
    raw.trim()
        .parse::<i64>()
        .map_err(|_| FieldError::new("version", "invalid_version", "the form is out of date"))
}

pub(crate) fn invalid_query() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_query",
        "The query string is invalid.",
    )
}

/// Every stage of every pipeline by id: (pipeline name, stage name, probability).
struct StageNames {
    stages: HashMap<Uuid, (String, String, i64)>,
    pipelines: HashMap<Uuid, String>,
}

impl StageNames {
    fn new(pipelines: &[PipelineView]) -> Self {
        let mut stages = HashMap::new();
        let mut names = HashMap::new();
        for p in pipelines {
            names.insert(p.id.as_uuid(), p.name.clone());
            for s in &p.stages {
                stages.insert(
                    s.id.as_uuid(),
                    (p.name.clone(), s.name.clone(), s.probability),
                );
            }
        }
        Self {
            stages,
            pipelines: names,
        }
    }

    fn stage(&self, id: Uuid) -> Option<&str> {
        self.stages.get(&id).map(|(_, s, _)| s.as_str())
    }

    fn probability(&self, id: Uuid) -> Option<i64> {
        self.stages.get(&id).map(|(_, _, p)| *p)
    }

    fn pipeline(&self, id: Uuid) -> Option<&str> {
        self.pipelines.get(&id).map(String::as_str)
    }
}

// ---------------------------------------------------------------------------------------------
// Board
// ---------------------------------------------------------------------------------------------

/// One `<option>` of a stage select.
pub(crate) struct StageChoice {
    id: String,
    name: String,
}

struct Card {
    id: String,
    title: String,
    amount: String,
    close_on: String,
    version: i64,
    stage_id: String,
    move_label: String,
}

struct Column {
    stage_id: String,
    name: String,
    probability: i64,
    count_text: String,
    totals: Vec<String>,
    cards: Vec<Card>,
    more_href: Option<String>,
}

/// The board container: what both the page and the htmx fragment render.
pub(crate) struct Board {
    pipeline_id: String,
    columns: Vec<Column>,
    stages: Vec<StageChoice>,
    csrf: String,
    /// A translated notice above the columns (e.g. the move was refused as stale).
    message: Option<String>,
    /// The card that receives focus after an htmx swap.
    focus_deal: String,
}

fn board_from_view(t: &Tr<'_>, csrf: String, view: BoardView) -> Board {
    let pipeline_id = view.pipeline.id.to_string();
    let stages: Vec<StageChoice> = view
        .pipeline
        .stages
        .iter()
        .map(|s| StageChoice {
            id: s.id.to_string(),
            name: s.name.clone(),
        })
        .collect();
    let columns = view
        .columns
        .into_iter()
        .map(|c| {
            let stage_id = c.stage.id.to_string();
            let more_href = c.next_cursor.map(|_| {
                build_url(
                    "/deals/list",
                    &[
                        ("pipeline", &pipeline_id),
                        ("stage", &stage_id),
                        ("status", "open"),
                    ],
                )
            });
            Column {
                count_text: t
                    .t("deals.open_count")
                    .replace("{n}", &c.open_deals.to_string()),
                totals: c
                    .totals
                    .iter()
                    .map(|m| money(Some(&m.amount), Some(&m.currency)))
                    .collect(),
                cards: c
                    .deals
                    .into_iter()
                    .map(|d| Card {
                        id: d.id.to_string(),
                        amount: money(d.amount.as_deref(), d.currency.as_deref()),
                        close_on: d.expected_close_on.clone().unwrap_or_default(),
                        version: d.version,
                        stage_id: d.stage_id.to_string(),
                        move_label: t.t("deals.move_label").replace("{title}", &d.title),
                        title: d.title,
                    })
                    .collect(),
                stage_id,
                name: c.stage.name,
                probability: c.stage.probability,
                more_href,
            }
        })
        .collect();
    Board {
        pipeline_id,
        columns,
        stages,
        csrf,
        message: None,
        focus_deal: String::new(),
    }
}

async fn load_board(v: &Viewer, pipeline: PipelineId) -> Result<Board, UiError> {
    let view = v.core().deal_board(v.actor(), pipeline, None).await.ui(v)?;
    Ok(board_from_view(&v.t(), v.csrf(), view))
}

#[derive(Template)]
#[template(path = "deals/board.html")]
struct BoardPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    pipelines: Vec<SelectOption>,
    pipeline_name: String,
    board: Option<Board>,
    is_admin: bool,
}

#[derive(Template)]
#[template(path = "deals/board_fragment.html")]
struct BoardFragment<'a> {
    t: Tr<'a>,
    board: Board,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct BoardParams {
    pipeline: String,
}

async fn board_page(
    v: &Viewer,
    status: StatusCode,
    selected: Option<Uuid>,
    message: Option<String>,
) -> Result<Response, UiError> {
    let pipelines = v.core().list_pipelines(v.actor()).await.ui(v)?;
    let current = match selected {
        Some(id) => Some(
            pipelines
                .iter()
                .find(|p| p.id.as_uuid() == id)
                .ok_or_else(|| v.fail(CoreError::NotFound { entity: "pipeline" }))?,
        ),
        None => pipelines.first(),
    };
    let (board, pipeline_name) = match current {
        Some(p) => {
            let mut board = load_board(v, p.id).await?;
            board.message = message;
            (Some(board), p.name.clone())
        }
        None => (None, String::new()),
    };
    let current_id = current.map(|p| p.id.to_string()).unwrap_or_default();
    let page = BoardPage {
        t: v.t(),
        chrome: v.chrome(NAV),
        pipelines: pipelines
            .iter()
            .map(|p| {
                let value = p.id.to_string();
                SelectOption {
                    selected: value == current_id,
                    value,
                    label: p.name.clone(),
                }
            })
            .collect(),
        pipeline_name,
        board,
        is_admin: v.is_admin(),
    };
    Ok(render(status, &page))
}

pub(crate) async fn board(
    v: Viewer,
    params: Result<Query<BoardParams>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(p)) = params else {
        return Err(v.fail(invalid_query()));
    };
    let selected = match p.pipeline.trim() {
        "" => None,
        raw => Some(parse_id(raw).ui(&v)?),
    };
    board_page(&v, StatusCode::OK, selected, None).await
}

// ---------------------------------------------------------------------------------------------
// Move
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct MoveForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    stage_id: String,
    version: String,
    /// `detail` when posted from the detail page (without JavaScript it returns there).
    from: String,
    /// The pipeline whose board the form was on: the board to show again, even if someone
    /// has meanwhile moved the deal into another pipeline.
    pipeline: String,
}

/// Moves a deal. Under htmx the answer is the re-rendered board only; otherwise a redirect
/// back (or, when the move is refused, the whole page with the reason).
pub(crate) async fn move_stage(
    v: Viewer,
    headers: HeaderMap,
    Path(raw): Path<String>,
    form: Result<Form<MoveForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = DealId(parse_id(&raw).ui(&v)?);
    let htmx = is_htmx(&headers);
    let from_detail = form.from == "detail" && !htmx;
    let shown = Uuid::parse_str(form.pipeline.trim()).ok().map(PipelineId);
    let request = match (
        Uuid::parse_str(form.stage_id.trim()),
        parse_version(&form.version),
    ) {
        (Ok(stage_id), Ok(version)) => Ok(MoveDeal { version, stage_id }),
        _ => Err(CoreError::from(invalid_choice("stage_id"))),
    };
    let result = match request {
        Ok(request) => v.core().move_deal(v.actor(), id, request).await,
        Err(e) => Err(e),
    };
    let (status, message_key) = match result {
        Ok(deal) => {
            if htmx {
                let mut board = load_board(&v, shown.unwrap_or(deal.pipeline_id)).await?;
                board.focus_deal = deal.id.to_string();
                return Ok(render(StatusCode::OK, &BoardFragment { t: v.t(), board }));
            }
            let to = if from_detail {
                format!("/deals/{}", deal.id)
            } else {
                format!("/deals?pipeline={}", shown.unwrap_or(deal.pipeline_id))
            };
            return Ok(Redirect::to(&to).into_response());
        }
        Err(CoreError::StaleVersion { .. }) => (StatusCode::CONFLICT, "deals.stale_board"),
        Err(CoreError::Rule {
            code: "deal_closed",
            ..
        }) => (StatusCode::CONFLICT, "deals.closed_cannot_move"),
        Err(CoreError::Conflict(_)) => (StatusCode::CONFLICT, "deals.deleted_cannot_change"),
        Err(CoreError::Validation(_)) => (StatusCode::UNPROCESSABLE_ENTITY, "deals.invalid_move"),
        Err(e) => return Err(v.fail(e)),
    };
    // Refused: show the current state with the reason.
    let deal = v.core().get_deal(v.actor(), id).await.ui(&v)?;
    let message_key = match message_key {
        "deals.stale_board" if from_detail => "deals.stale_detail",
        key => key,
    };
    let message = v.t().t(message_key).to_owned();
    if from_detail {
        return detail_page(
            &v,
            status,
            id,
            DetailState {
                message: Some(message),
                ..DetailState::default()
            },
        )
        .await;
    }
    if htmx {
        let mut board = load_board(&v, shown.unwrap_or(deal.pipeline_id)).await?;
        board.message = Some(message);
        return Ok(render(status, &BoardFragment { t: v.t(), board }));
    }
    board_page(
        &v,
        status,
        Some(shown.unwrap_or(deal.pipeline_id).as_uuid()),
        Some(message),
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// List
// ---------------------------------------------------------------------------------------------

struct DealRow {
    id: String,
    title: String,
    pipeline: String,
    stage: String,
    status: String,
    status_code: String,
    amount: String,
    close_on: String,
    updated: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ListParams {
    q: String,
    status: String,
    pipeline: String,
    stage: String,
    deleted: String,
    cursor: String,
}

#[derive(Template)]
#[template(path = "deals/list.html")]
struct ListPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    rows: Vec<DealRow>,
    deleted: bool,
    q: String,
    stage: String,
    statuses: Vec<SelectOption>,
    pipelines: Vec<SelectOption>,
    filtered: bool,
    errors: FormErrors,
    next_href: Option<String>,
    first_href: String,
    paged: bool,
    views: Option<super::views::ViewsBar>,
}

pub(crate) async fn list(
    v: Viewer,
    axum::extract::RawQuery(raw_query): axum::extract::RawQuery,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(p)) = params else {
        return Err(v.fail(invalid_query()));
    };
    let t = v.t();
    let deleted = p.deleted == "only";
    let non_empty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let pipelines = v.core().list_pipelines(v.actor()).await.ui(&v)?;
    let names = StageNames::new(&pipelines);
    let mut errors = FormErrors::default();
    let pipeline_id = optional_id("pipeline", &p.pipeline).unwrap_or_else(|e| {
        errors.add("pipeline", field_message(&t, &e));
        None
    });
    let stage_id = optional_id("stage", &p.stage).unwrap_or_else(|e| {
        errors.general.push(field_message(&t, &e));
        None
    });
    let (rows, next_cursor, status) = if errors.any() {
        (Vec::new(), None, StatusCode::UNPROCESSABLE_ENTITY)
    } else {
        let query = DealQuery {
            pipeline_id,
            stage_id,
            status: non_empty(&p.status),
            q: non_empty(&p.q),
            deleted: if deleted {
                Deleted::Only
            } else {
                Deleted::Exclude
            },
            sort: DealSort::UpdatedDesc,
            cursor: non_empty(&p.cursor),
            ..DealQuery::default()
        };
        match v.core().list_deals(v.actor(), query).await {
            Ok(page) => (
                page.items
                    .into_iter()
                    .map(|d| DealRow {
                        id: d.id.to_string(),
                        pipeline: names
                            .pipeline(d.pipeline_id.as_uuid())
                            .unwrap_or_default()
                            .to_owned(),
                        stage: names
                            .stage(d.stage_id.as_uuid())
                            .unwrap_or_default()
                            .to_owned(),
                        status: status_label(&t, &d.status),
                        status_code: d.status.clone(),
                        amount: money(d.amount.as_deref(), d.currency.as_deref()),
                        close_on: d.expected_close_on.clone().unwrap_or_default(),
                        updated: format_time(d.updated_at),
                        title: d.title,
                    })
                    .collect(),
                page.next_cursor,
                StatusCode::OK,
            ),
            Err(CoreError::Validation(field_errors)) => {
                errors = FormErrors::from_fields(&t, &field_errors, FILTER_FIELDS);
                (Vec::new(), None, StatusCode::UNPROCESSABLE_ENTITY)
            }
            Err(e) => return Err(v.fail(e)),
        }
    };
    let filter_pairs = |cursor: &str| {
        build_url(
            "/deals/list",
            &[
                ("q", p.q.trim()),
                ("status", p.status.trim()),
                ("pipeline", p.pipeline.trim()),
                ("stage", p.stage.trim()),
                ("deleted", if deleted { "only" } else { "" }),
                ("cursor", cursor),
            ],
        )
    };
    let next_href = next_cursor.map(|c| filter_pairs(&c));
    let first_href = filter_pairs("");
    let filtered = [&p.q, &p.status, &p.pipeline, &p.stage]
        .iter()
        .any(|s| !s.trim().is_empty());
    let views = Some(super::views::views_bar(&v, "deals", raw_query.as_deref()).await?);
    let page = ListPage {
        views,
        statuses: STATUSES
            .iter()
            .map(|s| SelectOption {
                value: (*s).to_owned(),
                label: status_label(&t, s),
                selected: *s == p.status.trim(),
            })
            .collect(),
        pipelines: pipelines
            .iter()
            .map(|pl| {
                let value = pl.id.to_string();
                SelectOption {
                    selected: value == p.pipeline.trim(),
                    value,
                    label: pl.name.clone(),
                }
            })
            .collect(),
        t,
        chrome: v.chrome(NAV),
        rows,
        deleted,
        stage: p.stage.trim().to_owned(),
        q: p.q,
        filtered,
        errors,
        next_href,
        first_href,
        paged: !p.cursor.trim().is_empty(),
    };
    Ok(render(status, &page))
}

// ---------------------------------------------------------------------------------------------
// Detail, close, reopen
// ---------------------------------------------------------------------------------------------

struct HistoryRow {
    from_stage: String,
    to_stage: String,
    from_status: String,
    to_status: String,
    who: String,
    when: String,
}

struct CompanyRef {
    id: String,
    name: String,
    deleted: bool,
}

#[derive(Template)]
#[template(path = "deals/detail.html")]
struct DetailPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    d: DealView,
    id: String,
    status: String,
    is_open: bool,
    pipeline: String,
    pipeline_id: String,
    stage: String,
    probability: Option<i64>,
    amount: String,
    company: Option<CompanyRef>,
    owner: String,
    stage_id: String,
    stages: Vec<StageChoice>,
    created: String,
    updated: String,
    stage_entered: String,
    closed: Option<String>,
    deleted_at: Option<String>,
    history: Vec<HistoryRow>,
    more_history: bool,
    message: Option<String>,
    close: CloseForm,
    errors: FormErrors,
    timeline_block: Option<Timeline>,
    shown: Vec<super::custom_fields::ShownValue>,
    tasks: super::tasks::RecordTasks,
}

/// What a re-rendered detail page carries besides the deal: the refused close form and why,
/// or the timeline page asked for.
#[derive(Default)]
struct DetailState {
    message: Option<String>,
    close: CloseForm,
    errors: FormErrors,
    timeline_cursor: Option<String>,
}

/// Who made a change: the e-mail of the signed-in user, else the id (there is no user
/// directory in the UI yet).
pub(crate) fn who(v: &Viewer, user: custodian_domain::UserId) -> String {
    if user == v.actor().user_id {
        v.email().to_owned()
    } else {
        user.to_string()
    }
}

async fn detail_page(
    v: &Viewer,
    status: StatusCode,
    id: DealId,
    state: DetailState,
) -> Result<Response, UiError> {
    let d = v.core().get_deal(v.actor(), id).await.ui(v)?;
    let fields = super::custom_fields::active_fields(v, "deal").await?;
    let shown = super::custom_fields::shown(&v.t(), &fields, d.custom_fields.as_ref());
    let timeline_block = match d.deleted_at {
        None => Some(timeline(v, RecordKind::Deal, id.as_uuid(), state.timeline_cursor).await?),
        Some(_) => None,
    };
    let pipelines = v.core().list_pipelines(v.actor()).await.ui(v)?;
    let names = StageNames::new(&pipelines);
    let history = v
        .core()
        .deal_history(v.actor(), id, None, Some(HISTORY_PAGE))
        .await
        .ui(v)?;
    let company = match d.company_id {
        Some(cid) => match v.core().get_company(v.actor(), cid).await {
            Ok(c) => Some(CompanyRef {
                id: c.id.to_string(),
                name: c.name,
                deleted: c.deleted_at.is_some(),
            }),
            Err(CoreError::NotFound { .. }) => None,
            Err(e) => return Err(v.fail(e)),
        },
        None => None,
    };
    let t = v.t();
    let stage_name = |id: Uuid| {
        names
            .stage(id)
            .map_or_else(|| t.t("deals.removed_stage").to_owned(), str::to_owned)
    };
    let history_rows = history
        .items
        .iter()
        .map(|h| HistoryRow {
            from_stage: h
                .from_stage_id
                .map(|s| stage_name(s.as_uuid()))
                .unwrap_or_default(),
            to_stage: stage_name(h.to_stage_id.as_uuid()),
            from_status: h
                .from_status
                .as_deref()
                .map(|s| status_label(&t, s))
                .unwrap_or_default(),
            to_status: status_label(&t, &h.to_status),
            who: who(v, h.changed_by),
            when: format_time(h.changed_at),
        })
        .collect();
    let stages = pipelines
        .iter()
        .find(|p| p.id == d.pipeline_id)
        .map(|p| {
            p.stages
                .iter()
                .map(|s| StageChoice {
                    id: s.id.to_string(),
                    name: s.name.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let tasks =
        super::tasks::record_tasks(v, custodian_core::links::RecordKind::Deal, d.id.as_uuid())
            .await?;
    let page = DetailPage {
        tasks,
        id: d.id.to_string(),
        status: status_label(&t, &d.status),
        is_open: d.status == "open",
        pipeline: names
            .pipeline(d.pipeline_id.as_uuid())
            .unwrap_or_default()
            .to_owned(),
        pipeline_id: d.pipeline_id.to_string(),
        stage: stage_name(d.stage_id.as_uuid()),
        probability: names.probability(d.stage_id.as_uuid()),
        amount: money(d.amount.as_deref(), d.currency.as_deref()),
        company,
        owner: d.owner_id.map(|o| who(v, o)).unwrap_or_default(),
        stage_id: d.stage_id.to_string(),
        stages,
        created: format_time(d.created_at),
        updated: format_time(d.updated_at),
        stage_entered: format_time(d.stage_entered_at),
        closed: d.closed_at.map(format_time),
        deleted_at: d.deleted_at.map(format_time),
        history: history_rows,
        more_history: history.next_cursor.is_some(),
        message: state.message,
        close: state.close,
        errors: state.errors,
        shown,
        timeline_block,
        t,
        chrome: v.chrome(NAV),
        d,
    };
    Ok(render(status, &page))
}

pub(crate) async fn detail(
    v: Viewer,
    Path(raw): Path<String>,
    query: Result<Query<TimelineQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(query)) = query else {
        return Err(v.fail(bad_request()));
    };
    let id = DealId(parse_id(&raw).ui(&v)?);
    let state = DetailState {
        timeline_cursor: query.timeline,
        ..DetailState::default()
    };
    detail_page(&v, StatusCode::OK, id, state).await
}

/// The close form. The reason is personal data: redacted `Debug`, never logged.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct CloseForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    version: String,
    outcome: String,
    reason: String,
}

impl fmt::Debug for CloseForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloseForm")
            .field("outcome", &self.outcome)
            .finish_non_exhaustive()
    }
}

pub(crate) async fn close(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<CloseForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = DealId(parse_id(&raw).ui(&v)?);
    let t = v.t();
    let result = match parse_version(&form.version) {
        Ok(version) => {
            v.core()
                .close_deal(
                    v.actor(),
                    id,
                    CloseDeal {
                        version,
                        outcome: form.outcome.trim().to_owned(),
                        reason: optional(&form.reason),
                    },
                )
                .await
        }
        Err(e) => Err(e.into()),
    };
    let (status, state) = match result {
        Ok(d) => return Ok(Redirect::to(&format!("/deals/{}", d.id)).into_response()),
        Err(CoreError::Validation(field_errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            DetailState {
                errors: FormErrors::from_fields(&t, &field_errors, CLOSE_FIELDS),
                close: form,
                ..DetailState::default()
            },
        ),
        Err(CoreError::StaleVersion { .. }) => (
            StatusCode::CONFLICT,
            DetailState {
                message: Some(t.t("deals.stale_detail").to_owned()),
                close: form,
                ..DetailState::default()
            },
        ),
        Err(CoreError::Rule { .. }) => (
            StatusCode::CONFLICT,
            DetailState {
                message: Some(t.t("deals.already_closed").to_owned()),
                ..DetailState::default()
            },
        ),
        Err(e @ CoreError::Conflict(_)) => {
            return Err(v.fail(e).with_message_key("deals.deleted_cannot_change"));
        }
        Err(e) => return Err(v.fail(e)),
    };
    detail_page(&v, status, id, state).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ReopenForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    version: String,
    stage_id: String,
}

pub(crate) async fn reopen(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<ReopenForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = DealId(parse_id(&raw).ui(&v)?);
    let request = parse_version(&form.version).and_then(|version| {
        Ok(ReopenDeal {
            version,
            stage_id: optional_id("stage_id", &form.stage_id)?,
        })
    });
    let result = match request {
        Ok(request) => v.core().reopen_deal(v.actor(), id, request).await,
        Err(e) => Err(e.into()),
    };
    let (status, key) = match result {
        Ok(d) => return Ok(Redirect::to(&format!("/deals/{}", d.id)).into_response()),
        Err(CoreError::StaleVersion { .. }) => (StatusCode::CONFLICT, "deals.stale_detail"),
        Err(CoreError::Rule { .. }) => (StatusCode::CONFLICT, "deals.already_open"),
        Err(CoreError::Validation(_)) => (StatusCode::UNPROCESSABLE_ENTITY, "deals.invalid_move"),
        Err(e @ CoreError::Conflict(_)) => {
            return Err(v.fail(e).with_message_key("deals.deleted_cannot_change"));
        }
        Err(e) => return Err(v.fail(e)),
    };
    let message = Some(v.t().t(key).to_owned());
    detail_page(
        &v,
        status,
        id,
        DetailState {
            message,
            ..DetailState::default()
        },
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Create and edit
// ---------------------------------------------------------------------------------------------

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct DealForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    pub(crate) title: String,
    pub(crate) stage_id: String,
    pub(crate) amount: String,
    pub(crate) currency: String,
    pub(crate) expected_close_on: String,
    pub(crate) company_id: String,
    /// Picked from the chosen company's contacts.
    pub(crate) contact_id: String,
    pub(crate) owner_id: String,
    pub(crate) version: String,
    /// Custom field values (`cf.<key>`, `cfb.<key>`); personal ones are encrypted at rest.
    #[serde(flatten)]
    pub(crate) custom: super::custom_fields::RawCustom,
}

impl fmt::Debug for DealForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Custom values may be personal data.
        f.write_str("DealForm { .. }")
    }
}

impl DealForm {
    fn from_view(d: &DealView) -> Self {
        Self {
            csrf: String::new(),
            title: d.title.clone(),
            stage_id: d.stage_id.to_string(),
            amount: d.amount.clone().unwrap_or_default(),
            currency: d.currency.clone().unwrap_or_default(),
            expected_close_on: d.expected_close_on.clone().unwrap_or_default(),
            company_id: d.company_id.map(|c| c.to_string()).unwrap_or_default(),
            contact_id: d.contact_id.map(|c| c.to_string()).unwrap_or_default(),
            owner_id: d.owner_id.map(|o| o.to_string()).unwrap_or_default(),
            version: d.version.to_string(),
            custom: super::custom_fields::raw_from_values(d.custom_fields.as_ref()),
        }
    }

    pub(crate) fn to_input(&self) -> Result<DealInput, FieldError> {
        Ok(DealInput {
            title: normalize_newlines(&self.title),
            pipeline_id: None,
            stage_id: optional_id("stage_id", &self.stage_id)?,
            amount: optional(&self.amount),
            currency: optional(&self.currency),
            expected_close_on: optional(&self.expected_close_on),
            owner_id: optional_id("owner_id", &self.owner_id)?,
            company_id: optional_id("company_id", &self.company_id)?,
            contact_id: optional_id("contact_id", &self.contact_id)?,
            custom_fields: super::custom_fields::values_from_form(&self.custom),
        })
    }

    /// Stage and status are not edited here (they change through move, close and reopen).
    pub(crate) fn to_patch(&self) -> Result<DealPatch, FieldError> {
        let version = parse_version(&self.version)?;
        let input = self.to_input()?;
        Ok(DealPatch {
            version,
            title: Some(input.title),
            amount: Some(input.amount),
            currency: Some(input.currency),
            expected_close_on: Some(input.expected_close_on),
            owner_id: Some(input.owner_id),
            company_id: Some(input.company_id),
            contact_id: Some(input.contact_id),
            custom_fields: Some(input.custom_fields),
        })
    }
}

/// A pipeline's stages as an `<optgroup>`.
pub(crate) struct StageGroup {
    pub(crate) label: String,
    pub(crate) options: Vec<SelectOption>,
}

/// Every pipeline's stages as option groups, `selected` (a stage id) marked.
pub(crate) fn stage_groups(pipelines: &[PipelineView], selected: &str) -> Vec<StageGroup> {
    pipelines
        .iter()
        .map(|p| StageGroup {
            label: p.name.clone(),
            options: p
                .stages
                .iter()
                .map(|s| {
                    let value = s.id.to_string();
                    SelectOption {
                        selected: value == selected,
                        value,
                        label: format!("{} ({}%)", s.name, s.probability),
                    }
                })
                .collect(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "deals/form.html")]
struct FormPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    title_key: &'static str,
    action: String,
    cancel_href: String,
    form: DealForm,
    editing: bool,
    /// While editing: the stage, shown but changed only by moving the deal.
    stage_name: String,
    stage_groups: Vec<StageGroup>,
    currencies: Vec<SelectOption>,
    companies: Vec<SelectOption>,
    contact_picker: ContactPicker,
    owners: Vec<SelectOption>,
    custom: Vec<super::custom_fields::CustomInput>,
    errors: FormErrors,
    stale: bool,
}

pub(crate) fn currency_options(selected: &str) -> Vec<SelectOption> {
    let selected = selected.trim().to_ascii_uppercase();
    let mut options: Vec<SelectOption> = CURRENCIES
        .iter()
        .map(|c| SelectOption {
            value: (*c).to_owned(),
            label: (*c).to_owned(),
            selected: *c == selected,
        })
        .collect();
    if !selected.is_empty() && !CURRENCIES.contains(&selected.as_str()) {
        options.push(SelectOption {
            value: selected.clone(),
            label: selected,
            selected: true,
        });
    }
    options
}

/// The owner `<select>`: the signed-in user and, if different, the deal's current owner (by
/// id; there is no user directory in the UI yet).
fn owner_options(v: &Viewer, selected: &str) -> Vec<SelectOption> {
    let me = v.actor().user_id.to_string();
    let mut options = vec![SelectOption {
        selected: selected == me,
        label: v.t().t("deals.owner_me").replace("{email}", v.email()),
        value: me.clone(),
    }];
    if !selected.is_empty() && selected != me {
        options.push(SelectOption {
            value: selected.to_owned(),
            label: selected.to_owned(),
            selected: true,
        });
    }
    options
}

async fn form_page(
    v: &Viewer,
    status: StatusCode,
    id: Option<&str>,
    form: DealForm,
    errors: FormErrors,
    stale: bool,
) -> Result<Response, UiError> {
    let pipelines = v.core().list_pipelines(v.actor()).await.ui(v)?;
    let selected_stage = form.stage_id.trim();
    let stage_groups = stage_groups(&pipelines, selected_stage);
    let stage_name = Uuid::parse_str(selected_stage)
        .ok()
        .and_then(|s| StageNames::new(&pipelines).stage(s).map(str::to_owned))
        .unwrap_or_default();
    let companies = company_options(v, form.company_id.trim()).await?;
    let contact_picker = contact_picker(v, &form.company_id, &form.contact_id, &errors).await?;
    let fields = super::custom_fields::active_fields(v, "deal").await?;
    let custom = super::custom_fields::inputs(&v.t(), &fields, &form.custom, &errors);
    let page = FormPage {
        custom,
        t: v.t(),
        chrome: v.chrome(NAV),
        title_key: if id.is_some() {
            "deals.edit_title"
        } else {
            "deals.new_title"
        },
        action: id.map_or_else(|| "/deals".to_owned(), |id| format!("/deals/{id}")),
        cancel_href: id.map_or_else(|| "/deals".to_owned(), |id| format!("/deals/{id}")),
        currencies: currency_options(&form.currency),
        owners: owner_options(v, form.owner_id.trim()),
        form,
        editing: id.is_some(),
        stage_name,
        stage_groups,
        companies,
        contact_picker,
        errors,
        stale,
    };
    Ok(render(status, &page))
}

// ---------------------------------------------------------------------------------------------
// The contact picker
// ---------------------------------------------------------------------------------------------

/// The deal form's contact `<select>`: the chosen company's contacts by name. It is rendered
/// on the form and, when the company changes, again by `/deals/contact-options` (htmx swaps
/// it in); without JavaScript the list follows the company on the next save.
pub(crate) struct ContactPicker {
    pub(crate) options: Vec<SelectOption>,
    /// No company chosen yet: the picker explains that it lists a company's contacts.
    pub(crate) no_company: bool,
    pub(crate) error: Option<String>,
}

impl fmt::Debug for ContactPicker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Contact names are personal data.
        f.write_str("ContactPicker { .. }")
    }
}

/// The live contacts of `company`, sorted by name (names are encrypted, so the list is
/// sorted here, not in the database).
async fn company_contacts(v: &Viewer, company: Uuid) -> Result<Vec<(String, String)>, UiError> {
    let page = v
        .core()
        .list_contacts(
            v.actor(),
            custodian_core::contacts::ContactQuery {
                company_id: Some(company),
                limit: Some(PICKER_CONTACTS),
                ..custodian_core::contacts::ContactQuery::default()
            },
        )
        .await
        .ui(v)?;
    let mut contacts: Vec<(String, String)> = page
        .items
        .into_iter()
        .map(|c| (c.id.to_string(), c.name))
        .collect();
    contacts.sort_by_cached_key(|c| c.1.to_lowercase());
    Ok(contacts)
}

async fn contact_picker(
    v: &Viewer,
    company_id: &str,
    selected: &str,
    errors: &FormErrors,
) -> Result<ContactPicker, UiError> {
    let selected = selected.trim();
    let company = Uuid::parse_str(company_id.trim()).ok();
    let mut options: Vec<SelectOption> = match company {
        Some(company) => company_contacts(v, company)
            .await?
            .into_iter()
            .map(|(value, label)| SelectOption {
                selected: value == selected,
                value,
                label,
            })
            .collect(),
        None => Vec::new(),
    };
    // A contact the deal has (or the form sent) that is not among them stays visible, so
    // saving never drops it silently.
    if !selected.is_empty()
        && !options.iter().any(|o| o.selected)
        && let Ok(id) = Uuid::parse_str(selected)
        && let Ok(c) = v
            .core()
            .get_contact(v.actor(), custodian_domain::ContactId(id))
            .await
    {
        options.insert(
            0,
            SelectOption {
                value: c.id.to_string(),
                label: format!("{} {}", c.name, v.t().t("deals.contact_elsewhere")),
                selected: true,
            },
        );
    }
    Ok(ContactPicker {
        options,
        no_company: company.is_none(),
        error: errors.get("contact_id").map(str::to_owned),
    })
}

/// Whether `contact` may be linked: one of `company`'s contacts, or the deal's current
/// contact (`keep`), which an edit may leave as it is.
async fn contact_allowed(
    v: &Viewer,
    company: Option<Uuid>,
    contact: Uuid,
    keep: Option<Uuid>,
) -> Result<bool, UiError> {
    if keep == Some(contact) {
        return Ok(true);
    }
    let Some(company) = company else {
        return Ok(false);
    };
    let wanted = contact.to_string();
    Ok(company_contacts(v, company)
        .await?
        .iter()
        .any(|(id, _)| *id == wanted))
}

fn contact_not_in_company() -> FieldError {
    FieldError::new(
        "contact_id",
        "contact_not_in_company",
        "choose one of the chosen company's contacts",
    )
}

#[derive(Template)]
#[template(path = "deals/contact_picker.html")]
struct ContactPickerFragment<'a> {
    t: Tr<'a>,
    contact_picker: ContactPicker,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PickerParams {
    company_id: String,
    contact_id: String,
}

/// The contact picker alone, for the company now chosen (htmx swaps it into the form).
pub(crate) async fn contact_options(
    v: Viewer,
    params: Result<Query<PickerParams>, QueryRejection>,
) -> Result<Response, UiError> {
    let Ok(Query(p)) = params else {
        return Err(v.fail(invalid_query()));
    };
    let contact_picker =
        contact_picker(&v, &p.company_id, &p.contact_id, &FormErrors::default()).await?;
    let page = ContactPickerFragment {
        t: v.t(),
        contact_picker,
    };
    Ok(render(StatusCode::OK, &page))
}

/// Validation errors onto the form; the pipeline belongs to the stage select, custom values
/// to their own inputs.
fn form_errors(t: &Tr<'_>, errors: &[FieldError]) -> FormErrors {
    let mapped: Vec<FieldError> = errors
        .iter()
        .map(|e| {
            if e.field == "pipeline_id" {
                FieldError::new("stage_id", e.code, e.message.clone())
            } else {
                e.clone()
            }
        })
        .collect();
    super::custom_fields::form_errors(t, &mapped, FORM_FIELDS)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NewParams {
    pipeline: String,
}

pub(crate) async fn new_form(
    v: Viewer,
    params: Result<Query<NewParams>, QueryRejection>,
) -> Result<Response, UiError> {
    let wanted = params
        .ok()
        .and_then(|Query(p)| Uuid::parse_str(p.pipeline.trim()).ok());
    let pipelines = v.core().list_pipelines(v.actor()).await.ui(&v)?;
    let pipeline = wanted
        .and_then(|w| pipelines.iter().find(|p| p.id.as_uuid() == w))
        .or_else(|| pipelines.first());
    let Some(first_stage) = pipeline.and_then(|p| p.stages.first()) else {
        // Nothing to put a deal in yet: the board explains.
        return Ok(Redirect::to("/deals").into_response());
    };
    let form = DealForm {
        stage_id: first_stage.id.to_string(),
        owner_id: v.actor().user_id.to_string(),
        ..DealForm::default()
    };
    form_page(&v, StatusCode::OK, None, form, FormErrors::default(), false).await
}

pub(crate) async fn create(
    v: Viewer,
    form: Result<Form<DealForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let t = v.t();
    let input = match form.to_input() {
        Ok(input) => input,
        Err(e) => {
            let errors = form_errors(&t, &[e]);
            return form_page(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                form,
                errors,
                false,
            )
            .await;
        }
    };
    if let Some(contact) = input.contact_id
        && !contact_allowed(&v, input.company_id, contact, None).await?
    {
        let errors = form_errors(&t, &[contact_not_in_company()]);
        return form_page(
            &v,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            form,
            errors,
            false,
        )
        .await;
    }
    match v.core().create_deal(v.actor(), input).await {
        Ok(d) => Ok(Redirect::to(&format!("/deals/{}", d.id)).into_response()),
        Err(CoreError::Validation(field_errors)) => {
            let errors = form_errors(&t, &field_errors);
            form_page(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                form,
                errors,
                false,
            )
            .await
        }
        Err(e) => Err(v.fail(e)),
    }
}

pub(crate) async fn edit_form(v: Viewer, Path(raw): Path<String>) -> Result<Response, UiError> {
    let id = parse_id(&raw).ui(&v)?;
    let d = v.core().get_deal(v.actor(), DealId(id)).await.ui(&v)?;
    if d.deleted_at.is_some() {
        return Err(v
            .fail(CoreError::Conflict(
                "the deal is deleted; restore it before changing it",
            ))
            .with_message_key("deals.deleted_cannot_change"));
    }
    let id = d.id.to_string();
    form_page(
        &v,
        StatusCode::OK,
        Some(&id),
        DealForm::from_view(&d),
        FormErrors::default(),
        false,
    )
    .await
}

pub(crate) async fn update(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<DealForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Ok(Form(mut form)) = form else {
        return Err(v.fail(bad_request()));
    };
    v.check_csrf(&form.csrf)?;
    let id = parse_id(&raw).ui(&v)?;
    let id_text = id.to_string();
    let t = v.t();
    let patch = match form.to_patch() {
        Ok(patch) => patch,
        Err(e) => {
            let errors = form_errors(&t, &[e]);
            return form_page(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&id_text),
                form,
                errors,
                false,
            )
            .await;
        }
    };
    if let Some(Some(contact)) = patch.contact_id {
        let keep = v
            .core()
            .get_deal(v.actor(), DealId(id))
            .await
            .ok()
            .and_then(|d| d.contact_id)
            .map(|c| c.as_uuid());
        let company = patch.company_id.flatten();
        if !contact_allowed(&v, company, contact, keep).await? {
            if let Ok(current) = v.core().get_deal(v.actor(), DealId(id)).await {
                form.stage_id = current.stage_id.to_string();
            }
            let errors = form_errors(&t, &[contact_not_in_company()]);
            return form_page(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&id_text),
                form,
                errors,
                false,
            )
            .await;
        }
    }
    let (status, errors, stale) = match v.core().update_deal(v.actor(), DealId(id), patch).await {
        Ok(d) => return Ok(Redirect::to(&format!("/deals/{}", d.id)).into_response()),
        Err(CoreError::Validation(field_errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            form_errors(&t, &field_errors),
            false,
        ),
        Err(CoreError::StaleVersion { .. }) => (StatusCode::CONFLICT, FormErrors::default(), true),
        Err(e @ CoreError::Conflict(_)) => {
            return Err(v.fail(e).with_message_key("deals.deleted_cannot_change"));
        }
        Err(e) => return Err(v.fail(e)),
    };
    // The stage is not part of the edit form; show the deal's current one.
    if let Ok(current) = v.core().get_deal(v.actor(), DealId(id)).await {
        form.stage_id = current.stage_id.to_string();
    }
    form_page(&v, status, Some(&id_text), form, errors, stale).await
}

// ---------------------------------------------------------------------------------------------
// Delete and restore
// ---------------------------------------------------------------------------------------------

pub(crate) async fn delete(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    let id = csrf_checked_id(&v, &raw, form)?;
    v.core().delete_deal(v.actor(), DealId(id)).await.ui(&v)?;
    Ok(Redirect::to("/deals/list").into_response())
}

pub(crate) async fn restore(
    v: Viewer,
    Path(raw): Path<String>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, UiError> {
    let id = csrf_checked_id(&v, &raw, form)?;
    let d = v.core().restore_deal(v.actor(), DealId(id)).await.ui(&v)?;
    Ok(Redirect::to(&format!("/deals/{}", d.id)).into_response())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::i18n::Catalogs;

    #[test]
    fn amounts_are_grouped_for_display_only() {
        assert_eq!(group_digits("0.07"), "0.07");
        assert_eq!(group_digits("980"), "980");
        assert_eq!(group_digits("1000"), "1,000");
        assert_eq!(group_digits("125000.50"), "125,000.50");
        assert_eq!(group_digits("1234567.005"), "1,234,567.005");
        assert_eq!(group_digits("1000000000000"), "1,000,000,000,000");
        assert_eq!(
            group_digits("x1000"),
            "x1000",
            "anything unexpected is left alone"
        );
        assert_eq!(money(Some("12500"), Some("JPY")), "JPY 12,500");
        assert_eq!(money(None, Some("CNY")), "");
    }

    #[test]
    fn currency_select_keeps_an_unlisted_currency() {
        let options = currency_options("usd");
        assert_eq!(options.len(), CURRENCIES.len());
        assert!(options.iter().any(|o| o.value == "USD" && o.selected));
        let options = currency_options("KWD");
        assert_eq!(options.len(), CURRENCIES.len() + 1);
        assert!(options.iter().any(|o| o.value == "KWD" && o.selected));
        for code in CURRENCIES {
            assert!(
                custodian_domain::money::Currency::parse("c", code).is_ok(),
                "{code}"
            );
        }
    }

    #[test]
    fn deal_form_becomes_input_and_patch() {
        let form = DealForm {
            title: "Valve retrofit".into(),
            stage_id: "0196f3a0-0000-7000-8000-000000000001".into(),
            amount: " ".into(),
            currency: String::new(),
            expected_close_on: "2026-12-31".into(),
            version: "4".into(),
            ..DealForm::default()
        };
        let input = form.to_input().unwrap();
        assert!(input.stage_id.is_some() && input.pipeline_id.is_none());
        assert_eq!(input.amount, None);
        assert_eq!(input.expected_close_on.as_deref(), Some("2026-12-31"));
        assert_eq!(input.owner_id, None);
        let patch = form.to_patch().unwrap();
        assert_eq!(patch.version, 4);
        assert_eq!(patch.amount, Some(None), "a cleared amount is cleared");
        assert_eq!(patch.contact_id, Some(None), "no contact picked clears it");
        let bad = DealForm {
            company_id: "not-an-id".into(),
            ..form
        };
        assert_eq!(bad.to_input().unwrap_err().field, "company_id");
    }

    fn sample_board(message: Option<String>) -> Board {
        let card = |id: &str, stage: &str| Card {
            id: id.into(),
            title: "Valve <retrofit>".into(),
            amount: "CNY 125,000.50".into(),
            close_on: "2026-12-31".into(),
            version: 3,
            stage_id: stage.into(),
            move_label: "Move".into(),
        };
        Board {
            pipeline_id: "p1".into(),
            columns: vec![
                Column {
                    stage_id: "s1".into(),
                    name: "Qualification".into(),
                    probability: 10,
                    count_text: "1 open".into(),
                    totals: vec!["CNY 125,000.50".into()],
                    cards: vec![card("d1", "s1")],
                    more_href: Some("/deals/list?stage=s1".into()),
                },
                Column {
                    stage_id: "s2".into(),
                    name: "Proposal".into(),
                    probability: 50,
                    count_text: "0 open".into(),
                    totals: Vec::new(),
                    cards: Vec::new(),
                    more_href: None,
                },
            ],
            stages: vec![
                StageChoice {
                    id: "s1".into(),
                    name: "Qualification".into(),
                },
                StageChoice {
                    id: "s2".into(),
                    name: "Proposal".into(),
                },
            ],
            csrf: "tok".into(),
            message,
            focus_deal: "d1".into(),
        }
    }

    #[test]
    fn board_fragment_renders_cards_with_move_forms_in_both_languages() {
        let catalogs = Catalogs::load().unwrap();
        for (locale, move_text) in [("en", "Move"), ("zh-CN", "移动")] {
            let html = BoardFragment {
                t: catalogs.translator(locale),
                board: sample_board(Some("refreshed".into())),
            }
            .render()
            .unwrap();
            assert!(html.starts_with("<div id=\"deal-board\""), "{html}");
            assert!(!html.contains("<html"));
            assert!(html.contains("hx-post=\"/deals/d1/move\""));
            assert!(html.contains("hx-target=\"#deal-board\"") && html.contains("outerHTML"));
            assert!(html.contains("name=\"_csrf\" value=\"tok\""));
            assert!(html.contains("name=\"version\" value=\"3\""));
            assert!(html.contains("<option value=\"s1\" selected>"));
            assert!(html.contains("<option value=\"s2\">"));
            assert!(html.contains(&format!(">{move_text}</button>")));
            assert!(html.contains("id=\"board-message\""));
            assert!(html.contains("data-stage-id=\"s2\""));
            assert!(
                html.contains("Valve &#60;retrofit&#62;")
                    || html.contains("Valve &lt;retrofit&gt;")
            );
            assert!(
                !html.contains("<script") && !html.contains("style=") && !html.contains("hx-on")
            );
        }
    }
}
