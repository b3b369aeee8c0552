//! The OpenAPI description of `/api/v1`, served at `/api/v1/openapi.json` and browsed with the
//! vendored Swagger UI at `/api/docs`. Both are deliberately public: they describe the API and
//! carry no data.

use super::{
    Health, PageBody, account, activities, audit, companies, complaints, contacts, custom_fields,
    dashboard, deals, export_requests, feedback, identity, leads, notifications, orders, passkeys,
    policies, products, search, security, session, tasks, transfer, users,
};
use crate::error::ApiError;
use custodian_core::activities::{ActivityInput, ActivityPatch, ActivityView};
use custodian_core::auth::UserView;
use custodian_core::companies::{CompanyInput, CompanyPatch, CompanyView};
use custodian_core::complaints::{
    ComplaintChangeView, ComplaintInput, ComplaintPatch, ComplaintTransition, ComplaintView,
};
use custodian_core::contacts::{ContactInput, ContactPatch, ContactSummary, ContactView};
use custodian_core::custom_fields::{
    ChoiceOption, CustomFieldInput, CustomFieldPatch, CustomFieldView,
};
use custodian_core::dashboard::{
    ActivitySummary, AssigneeOverdue, CurrencyAmount, DashboardPipeline, DashboardView, Headline,
    MonthOutcome, OverdueSummary, OverdueTask, OwnerActivities, StageAmount, StageValue, WonLost,
};
use custodian_core::deals::{
    BoardColumn, BoardView, CloseDeal, DealInput, DealPatch, DealView, MoneyTotal, MoveDeal,
    PipelineInput, PipelinePatch, PipelineView, ReopenDeal, StageChangeView, StageInput, StageView,
};
use custodian_core::imports::{ColumnUse, DuplicatePolicy, DuplicateRow, ImportReport, RowError};
use custodian_core::leads::{
    ConversionDeal, ConversionRefs, ConvertLead, DisqualifyLead, LeadInput, LeadPatch, LeadView,
    QualifyLead,
};
use custodian_core::mfa_policy::{MfaRequirement, MfaRequirementInput};
use custodian_core::notifications::NotificationView;
use custodian_core::orders::{
    LineInput, LineView, OrderInput, OrderPatch, OrderView, PurchaseSummary, PurchaseTotal,
    TransitionOrder,
};
use custodian_core::preferences::{PreferencesInput, PreferencesView};
use custodian_core::products::{
    InterestInput, InterestView, ProductInput, ProductPatch, ProductView,
};
use custodian_core::saved_views::{SavedView, SavedViewInput, SavedViewPatch};
use custodian_core::search::SearchResults;
use custodian_core::second_factor::SecondFactorStatus;
use custodian_core::sessions::SessionView;
use custodian_core::surveys::{
    CsatView, NpsView, SurveyInput, SurveyPatch, SurveySummary, SurveyView,
};
use custodian_core::tasks::{TaskAction, TaskInput, TaskPatch, TaskView};
use custodian_core::tokens::{ApiTokenRequest, ApiTokenView};
use custodian_core::users::{UserAdminView, UserAttributes};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Custodian API",
        description = "The security-first CRM. Authenticate with `Authorization: Bearer <token>` \
(create one with `custodian token create`) or with the session cookie from `/api/v1/auth/login`; \
cookie-authenticated state changes must send the `X-CSRF-Token` header returned at login. Errors \
are JSON `{code, message, details}` with stable codes."
    ),
    paths(
        super::health,
        session::login, session::second_factor, session::reauthenticate, session::logout, session::me,
        account::status, account::begin_totp, account::confirm_totp, account::remove_totp,
        account::regenerate_recovery_codes, account::my_sessions, account::end_my_session,
        account::end_my_other_sessions, account::user_sessions, account::end_user_sessions,
        account::change_password, account::password_strength, account::unlock_user,
        account::my_tokens, account::create_token, account::revoke_token,
        account::my_security_events, account::user_security_events,
        users::list, users::set_attributes, users::set_roles, users::disable, users::enable,
        users::reset_second_factors, users::mfa_policy, users::add_mfa_requirement,
        users::remove_mfa_requirement,
        policies::overview, policies::schema, policies::propose, policies::version,
        policies::approve, policies::reject, policies::explain, policies::readers,
        identity::send_sign_in_code, identity::sign_in_options, identity::send_step_up_code,
        identity::send_email_code, identity::confirm_email, identity::set_phone,
        identity::remove_phone, identity::resend_phone_code, identity::confirm_phone,
        identity::enable_sent_codes, identity::disable_sent_codes, identity::invite,
        identity::resend_invitation, identity::delete_user, identity::accept_invitation,
        identity::forgot_password, identity::reset_password,
        passkeys::list, passkeys::begin_registration, passkeys::finish_registration,
        passkeys::rename, passkeys::remove, passkeys::begin_sign_in, passkeys::sign_in,
        passkeys::begin_second_factor, passkeys::second_factor, passkeys::begin_step_up,
        passkeys::step_up,
        contacts::list, contacts::create, contacts::get, contacts::update, contacts::delete, contacts::restore, contacts::reveal,
        companies::list, companies::create, companies::get, companies::update, companies::delete, companies::restore,
        custom_fields::list, custom_fields::create, custom_fields::get, custom_fields::update,
        custom_fields::archive, custom_fields::restore,
        deals::list_pipelines, deals::create_pipeline, deals::get_pipeline, deals::update_pipeline, deals::board,
        deals::list, deals::create, deals::get, deals::update, deals::move_stage, deals::close, deals::reopen,
        deals::history, deals::delete, deals::restore,
        leads::list, leads::create, leads::get, leads::update, leads::qualify, leads::disqualify,
        leads::convert, leads::delete, leads::restore,
        activities::list, activities::create, activities::get, activities::update,
        activities::delete, activities::restore, activities::contact_timeline,
        activities::company_timeline, activities::deal_timeline,
        transfer::import_contacts, transfer::export,
        export_requests::create, export_requests::list, export_requests::get,
        export_requests::approve, export_requests::reject, export_requests::withdraw,
        export_requests::download_file,
        audit::search, audit::proof, audit::checkpoints, audit::export, audit::retention, audit::report,
        security::list, security::get, security::change, security::dashboard, security::verify,
        security::metrics,
        search::search, search::list_views, search::create_view, search::update_view, search::delete_view,
        tasks::list, tasks::create, tasks::get, tasks::update, tasks::complete, tasks::reopen,
        tasks::delete, tasks::restore,
        notifications::list, notifications::unread_count, notifications::mark_read,
        notifications::mark_all_read,
        products::list, products::create, products::get, products::update, products::delete, products::restore,
        products::list_interests, products::set_interest, products::remove_interest,
        orders::list, orders::create, orders::get, orders::update, orders::transition, orders::delete,
        orders::restore, orders::contact_purchases, orders::company_purchases,
        feedback::get_preferences, feedback::put_preferences, feedback::list_surveys,
        feedback::survey_summary, feedback::create_survey, feedback::get_survey,
        feedback::update_survey, feedback::delete_survey, feedback::restore_survey,
        complaints::list, complaints::create, complaints::get, complaints::update,
        complaints::transition, complaints::history, complaints::delete, complaints::restore,
        dashboard::get,
    ),
    components(schemas(
        ApiError, Health, UserView, session::SecondFactorDue, session::CodeRequest,
        session::ReauthenticateRequest, SecondFactorStatus, SessionView, account::TotpEnrolmentBody,
        account::ConfirmTotp, account::RecoveryCodes, account::SessionList, account::Ended,
        account::SecurityEventList, custodian_core::security_events::SecurityEventView,
        custodian_core::passkeys::PasskeyView, custodian_core::passkeys::PasskeyChallenge,
        passkeys::PasskeyAnswer, passkeys::NewPasskey, passkeys::PasskeyName,
        account::ChangePassword, account::StrengthRequest, account::StrengthBody, account::Unlocked,
        account::TokenList, account::CreatedTokenBody, ApiTokenRequest, ApiTokenView,
        identity::ChannelName, identity::SendCodeRequest, identity::CodeBody, identity::PhoneBody,
        identity::InviteRequest, identity::UserDeleted, identity::LinkPassword,
        identity::ForgotRequest, custodian_core::account_links::InvitationSent,
        custodian_core::sent_codes::SignInOptions,
        custodian_core::export_requests::ExportRequestView,
        custodian_core::export_requests::ExportRequestPage,
        custodian_core::exports::ExportFilters,
        export_requests::ExportRequestBody, export_requests::DecisionBody,
        custodian_core::audit::query::AuditEventView, custodian_core::audit::query::AuditPage,
        custodian_core::audit::query::AuditProof,
        custodian_core::audit::checkpoints::SignedCheckpoint, audit::CheckpointList,
        custodian_core::audit::retention::RetentionStatus,
        custodian_core::audit::report::AuditReport, custodian_core::audit::report::SignIns,
        custodian_core::audit::report::DaySignIns, custodian_core::audit::report::ReportUser,
        custodian_core::audit::report::SecondFactorCoverage,
        custodian_core::audit::report::PrivilegedChanges,
        custodian_core::audit::report::PrivilegedChange, custodian_core::audit::report::UserReads,
        custodian_core::audit::report::Exports, custodian_core::audit::report::UserExports,
        custodian_core::audit::report::AlertHandling, custodian_core::audit::report::RuleAlerts,
        custodian_core::monitor::alerts::AlertView, custodian_core::monitor::alerts::AlertPage,
        custodian_core::monitor::alerts::AlertDetail, custodian_core::monitor::alerts::AlertNoteView,
        custodian_core::monitor::alerts::AlertDeliveryView, custodian_core::monitor::alerts::AlertChange,
        custodian_core::monitor::alerts::SecurityDashboard, custodian_core::monitor::alerts::RuleCounts,
        custodian_core::monitor::alerts::RuleDescription, custodian_core::monitor::Verification,
        custodian_core::policies::PolicyOverview, custodian_core::policies::PolicyVersionView,
        custodian_core::policies::PolicyVersionDetail, custodian_core::policies::DiffLine,
        custodian_core::policies::ProposePolicies, custodian_core::policies::ExplainRequest,
        custodian_core::policies::ExplainView, custodian_core::policies::ReaderView,
        policies::SchemaBody, policies::ReaderList,
        UserAdminView, UserAttributes, users::Roles, custodian_core::contact_access::RevealedDetails,
        users::UserList, users::Disabled, users::MfaPolicy,
        MfaRequirement, MfaRequirementInput, ContactInput, ContactPatch, ContactView, ContactSummary,
        CompanyInput, CompanyPatch, CompanyView, PageBody<ContactSummary>, PageBody<CompanyView>,
        CustomFieldInput, CustomFieldPatch, CustomFieldView, ChoiceOption, custom_fields::CustomFieldList,
        PipelineInput, PipelinePatch, PipelineView, StageInput, StageView, deals::PipelineList,
        DealInput, DealPatch, DealView, MoveDeal, CloseDeal, ReopenDeal, StageChangeView,
        BoardView, BoardColumn, MoneyTotal, PageBody<DealView>, PageBody<StageChangeView>,
        LeadInput, LeadPatch, LeadView, QualifyLead, DisqualifyLead, ConvertLead, ConversionDeal,
        ConversionRefs, PageBody<LeadView>, ActivityInput, ActivityPatch, ActivityView,
        PageBody<ActivityView>, ImportReport, RowError, DuplicateRow, ColumnUse, DuplicatePolicy,
        SearchResults, search::SearchRequest, SavedView, SavedViewInput, SavedViewPatch, search::ViewList,
        TaskInput, TaskPatch, TaskAction, TaskView, PageBody<TaskView>,
        NotificationView, PageBody<NotificationView>, notifications::UnreadCount,
        notifications::MarkedRead,
        ProductInput, ProductPatch, ProductView, PageBody<ProductView>, InterestInput, InterestView,
        products::InterestList, OrderInput, OrderPatch, OrderView, LineInput, LineView,
        TransitionOrder, PurchaseSummary, PurchaseTotal, orders::PurchasesBody, PageBody<OrderView>,
        PreferencesInput, PreferencesView, SurveyInput, SurveyPatch, SurveyView, SurveySummary,
        NpsView, CsatView, PageBody<SurveyView>, ComplaintInput, ComplaintPatch,
        ComplaintTransition, ComplaintView, ComplaintChangeView, complaints::HistoryBody,
        PageBody<ComplaintView>,
        DashboardView, DashboardPipeline, Headline, CurrencyAmount, StageValue, StageAmount, WonLost,
        MonthOutcome, ActivitySummary, OwnerActivities, OverdueSummary, AssigneeOverdue, OverdueTask
    )),
    modifiers(&Security),
    security(("bearer" = []), ("session_cookie" = [])),
    tags(
        (name = "account", description = "Your own security: authenticator app (TOTP) and recovery codes, your sessions; administrators see and end anyone's sessions. Changing second factors needs a recent sign-in or `POST /api/v1/auth/reauthenticate`"),
        (name = "users", description = "User administration (administrators): directory, team/department/region, disable (ends every session at once) and enable, reset second factors (after your own step-up)"),
        (name = "contacts", description = "People at customers; personal fields encrypted per person"),
        (name = "companies", description = "Customer companies (accounts)"),
        (name = "custom fields", description = "Typed, classified fields administrators add to contacts, companies and deals; personal and sensitive values encrypted like built-in ones"),
        (name = "leads", description = "Prospects; personal fields encrypted under the lead's own key, moved to the contact on conversion"),
        (name = "deals", description = "Pipelines with ordered stages, and deals moving through them with their history"),
        (name = "activities", description = "Calls, meetings, e-mails and notes; the timelines of contacts, companies and deals"),
        (name = "security", description = "Security monitoring (security officers): alerts raised by rules over the audit stream — failed-sign-in bursts, password spraying, mass reads, large or frequent exports, off-hours access, new networks, granted roles, ended sessions used again, audit verification failures — with owner, status and notes; the security dashboard; audit-log verification on demand"),
        (name = "audit", description = "The tamper-evident audit log (auditors and security officers): search by user, record, event code, outcome and time; an event's inclusion proof against a signed checkpoint (RFC 9162); the signed checkpoints"),
        (name = "transfer", description = "CSV import of contacts (dry run, duplicate handling, all or nothing) and CSV/JSON export; exports over the bulk threshold need someone else's approval (export requests)"),
        (name = "tasks", description = "To-dos with assignee, due date, priority and reminders, linked to contacts, companies or deals; title and notes encrypted"),
        (name = "notifications", description = "Your in-app notifications (task reminders and assignments); only ever your own"),
        (name = "purchases", description = "Product catalogue, sales orders with exact line totals and status transitions, per-customer purchase history and product interests"),
        (name = "search", description = "Global search (within what blind indexes and plain columns allow) and your saved list views"),
        (name = "feedback", description = "Communication preferences (do-not-contact, opt-outs), NPS/CSAT survey responses with exact aggregates, and complaints with transitions, history and response due times; free text encrypted under the contact's key"),
        (name = "dashboard", description = "Aggregates: open pipeline value by stage (plain and weighted), won/lost per month, activities per owner, overdue tasks"),
        (name = "auth", description = "Sessions"),
        (name = "health", description = "Liveness"),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

#[derive(Debug)]
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "sign_in_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SIGN_IN_COOKIE,
            ))),
        );
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SESSION_COOKIE,
            ))),
        );
    }
}
