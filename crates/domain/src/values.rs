//! Value objects: parsed once at the edge, valid for ever after. Parsers return a
//! [`FieldError`] naming the field; they never echo the rejected value.

use crate::error::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;
use unicode_normalization::UnicodeNormalization;

/// Longest free-text values accepted, in characters.
pub mod limits {
    pub const NAME: usize = 200;
    pub const EMAIL: usize = 254;
    pub const JOB_TITLE: usize = 200;
    pub const ADDRESS: usize = 1_000;
    pub const NOTES: usize = 20_000;
    pub const WEBSITE: usize = 2_048;
    pub const TAG: usize = 50;
    pub const TAGS: usize = 50;
    pub const TEAM: usize = 100;
    pub const REGION: usize = 64;
    pub const EMAILS: usize = 10;
    pub const PHONES: usize = 10;
    pub const STAGE_NAME: usize = 100;
    pub const STAGES: usize = 30;
    pub const REASON: usize = 2_000;
    /// Longest call or meeting, in minutes (a full day).
    pub const DURATION_MINUTES: i64 = 1_440;
    pub const TASK_TITLE: usize = 300;
}

fn clean(text: &str) -> String {
    // Nearly all input is already NFKC (all ASCII is); the quick check spares rebuilding it.
    if unicode_normalization::is_nfkc_quick(text.chars())
        == unicode_normalization::IsNormalized::Yes
    {
        return text.trim().to_owned();
    }
    text.nfkc().collect::<String>().trim().to_owned()
}

fn has_control(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
}

/// Free text of bounded length: trimmed, NFKC-normalised, no control characters except newlines
/// and tabs (where `multiline`).
pub fn bounded_text(
    field: &str,
    raw: &str,
    max: usize,
    multiline: bool,
) -> Result<String, FieldError> {
    let text = clean(raw);
    if text.is_empty() {
        return Err(FieldError::new(field, "required", "must not be empty"));
    }
    if text.chars().count() > max {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("must be at most {max} characters"),
        ));
    }
    if has_control(&text) || (!multiline && text.contains(['\n', '\t'])) {
        return Err(FieldError::new(
            field,
            "invalid_characters",
            "must not contain control characters or line breaks",
        ));
    }
    Ok(text)
}

macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident, $max:expr, $multiline:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
                bounded_text(field, raw, $max, $multiline).map(Self)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // May be personal data: never printed.
                write!(f, "{}([REDACTED])", stringify!($name))
            }
        }
    };
}

text_value!(
    /// A person's name as they write it, in any script.
    PersonName, limits::NAME, false
);
text_value!(
    /// A job title.
    JobTitle, limits::JOB_TITLE, false
);
text_value!(
    /// A postal address, free form (several lines allowed).
    Address, limits::ADDRESS, true
);
text_value!(
    /// Free-text notes about a contact (sensitive).
    Notes, limits::NOTES, true
);
text_value!(
    /// A company's name.
    CompanyName, limits::NAME, false
);
text_value!(
    /// What a deal is about ("Valve retrofit, Dongying refinery").
    DealTitle, limits::NAME, false
);
text_value!(
    /// A pipeline's name.
    PipelineName, limits::NAME, false
);
text_value!(
    /// A pipeline stage's name.
    StageName, limits::STAGE_NAME, false
);
text_value!(
    /// Why a deal was won or lost, in the salesperson's words (may name people).
    OutcomeReason, limits::REASON, true
);

/// A win probability in whole percent, 0–100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Probability(u8);

impl Probability {
    pub fn parse(field: &str, raw: i64) -> Result<Self, FieldError> {
        u8::try_from(raw)
            .ok()
            .filter(|p| *p <= 100)
            .map(Self)
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "invalid_probability",
                    "must be a whole percentage from 0 to 100",
                )
            })
    }

    pub fn percent(self) -> u8 {
        self.0
    }
}

/// A lead's score: how promising it looks, 0–100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LeadScore(u8);

impl LeadScore {
    pub fn parse(field: &str, raw: i64) -> Result<Self, FieldError> {
        u8::try_from(raw)
            .ok()
            .filter(|s| *s <= 100)
            .map(Self)
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "invalid_score",
                    "must be a whole number from 0 to 100",
                )
            })
    }

    pub fn value(self) -> u8 {
        self.0
    }
}

/// A calendar date (`YYYY-MM-DD`) such as an expected close date; stored as that text, which
/// sorts chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CalendarDate(time::Date);

impl CalendarDate {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(raw.trim(), &format)
            .ok()
            .filter(|d| (1900..=2999).contains(&d.year()))
            .map(Self)
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "invalid_date",
                    "must be a date written YYYY-MM-DD, such as 2026-12-31",
                )
            })
    }

    pub fn date(self) -> time::Date {
        self.0
    }
}

impl fmt::Display for CalendarDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.0.year(),
            u8::from(self.0.month()),
            self.0.day()
        )
    }
}

/// An e-mail address, normalised to lower case and trimmed (so search is exact).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let email = clean(raw).to_lowercase();
        let invalid = || {
            FieldError::new(
                field,
                "invalid_email",
                "must be an e-mail address such as name@example.com",
            )
        };
        if email.is_empty() || email.chars().count() > limits::EMAIL {
            return Err(invalid());
        }
        let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let domain_ok = domain.len() <= 253
            && domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok {
            Ok(Self(email))
        } else {
            Err(invalid())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`, used to reject passwords that contain it.
    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or_default()
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email([REDACTED])")
    }
}

/// A phone number in E.164 form (`+` then 8 to 15 digits). Spaces, dots, dashes and brackets
/// are removed; a leading `00` becomes `+`. Numbers without a country code are refused rather
/// than guessed, because a wrong guess makes exact search silently miss.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let text = clean(raw);
        let compact: String = text
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}'))
            .collect();
        let digits = if let Some(rest) = compact.strip_prefix('+') {
            rest
        } else if let Some(rest) = compact.strip_prefix("00") {
            rest
        } else {
            return Err(FieldError::new(
                field,
                "invalid_phone",
                "must start with + and the country code, e.g. +86 138 0013 8000",
            ));
        };
        if !(8..=15).contains(&digits.len())
            || !digits.chars().all(|c| c.is_ascii_digit())
            || digits.starts_with('0')
        {
            return Err(FieldError::new(
                field,
                "invalid_phone",
                "must be a country code and number of 8 to 15 digits in all, e.g. +44 20 7946 0958",
            ));
        }
        Ok(Self(format!("+{digits}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Phone([REDACTED])")
    }
}

/// A label on a record, for filtering. Internal, stored in plaintext: never put personal data
/// in a tag (documented for users).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Tag(String);

impl Tag {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let text = bounded_text(field, raw, limits::TAG, false)?.to_lowercase();
        if text
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' ' | '&' | '.'))
        {
            Ok(Self(text))
        } else {
            Err(FieldError::new(
                field,
                "invalid_tag",
                "may contain only letters, digits, spaces and - _ & .",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Parses a list of tags, de-duplicated and sorted, at most [`limits::TAGS`].
pub fn parse_tags(field: &str, raw: &[String]) -> Result<Vec<Tag>, FieldError> {
    if raw.len() > limits::TAGS {
        return Err(FieldError::new(
            field,
            "too_many",
            format!("at most {} tags are allowed", limits::TAGS),
        ));
    }
    let mut tags = raw
        .iter()
        .enumerate()
        .map(|(i, t)| Tag::parse(&format!("{field}[{i}]"), t))
        .collect::<Result<Vec<_>, _>>()?;
    tags.sort();
    tags.dedup();
    Ok(tags)
}

/// A short code-like label (team, region): letters, digits, `-`, `_`, `.` and spaces.
fn label(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    let text = bounded_text(field, raw, max, false)?;
    if text
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' ' | '.'))
    {
        Ok(text)
    } else {
        Err(FieldError::new(
            field,
            "invalid_label",
            "may contain only letters, digits, spaces and - _ .",
        ))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Team(String);

impl Team {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        label(field, raw, limits::TEAM).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A sales region or territory, e.g. `cn-east`, `emea`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Region(String);

impl Region {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        label(field, raw, limits::REGION).map(|r| Self(r.to_lowercase()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A company website: an http(s) URL with a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Website(String);

impl Website {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let text = bounded_text(field, raw, limits::WEBSITE, false)?;
        let lower = text.to_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"));
        let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
        match host {
            Some(h)
                if h.contains('.')
                    && !text.contains(char::is_whitespace)
                    && h.chars()
                        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | ':')) =>
            {
                Ok(Self(text))
            }
            _ => Err(FieldError::new(
                field,
                "invalid_url",
                "must be a web address starting with https:// or http://",
            )),
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! code_enum {
    ($(#[$doc:meta])* $name:ident, $field_code:literal, $hint:literal, { $($variant:ident => $code:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $code)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
                match raw.trim() {
                    $($code => Ok($name::$variant),)+
                    _ => Err(FieldError::new(field, $field_code, $hint)),
                }
            }
        }
    };
}

code_enum!(
    /// Industry of a company, for filters and reports.
    Industry, "invalid_industry",
    "must be one of: oil_gas, food, manufacturing, chemicals, energy, logistics, retail, technology, other",
    {
        OilGas => "oil_gas",
        Food => "food",
        Manufacturing => "manufacturing",
        Chemicals => "chemicals",
        Energy => "energy",
        Logistics => "logistics",
        Retail => "retail",
        Technology => "technology",
        Other => "other",
    }
);

code_enum!(
    /// Head-count band of a company.
    CompanySize, "invalid_size",
    "must be one of: 1-10, 11-50, 51-200, 201-1000, 1001-5000, 5000+",
    {
        Micro => "1-10",
        Small => "11-50",
        Medium => "51-200",
        Large => "201-1000",
        VeryLarge => "1001-5000",
        Enterprise => "5000+",
    }
);

code_enum!(
    /// Where a deal stands: open in a stage, or closed as won or lost.
    DealStatus, "invalid_status",
    "must be one of: open, won, lost",
    {
        Open => "open",
        Won => "won",
        Lost => "lost",
    }
);

code_enum!(
    /// Where a lead came from.
    LeadSource, "invalid_source",
    "must be one of: web, referral, event, trade_show, cold_call, partner, advertising, other",
    {
        Web => "web",
        Referral => "referral",
        Event => "event",
        TradeShow => "trade_show",
        ColdCall => "cold_call",
        Partner => "partner",
        Advertising => "advertising",
        Other => "other",
    }
);

code_enum!(
    /// A lead's progress. `converted` is reached only by converting it.
    LeadStatus, "invalid_status",
    "must be one of: new, contacted, qualified, disqualified, converted",
    {
        New => "new",
        Contacted => "contacted",
        Qualified => "qualified",
        Disqualified => "disqualified",
        Converted => "converted",
    }
);

code_enum!(
    /// What kind of interaction an activity records.
    ActivityKind, "invalid_kind",
    "must be one of: call, meeting, email, note",
    {
        Call => "call",
        Meeting => "meeting",
        Email => "email",
        Note => "note",
    }
);

code_enum!(
    /// Who started a call or wrote an e-mail: the customer (inbound) or we (outbound).
    ActivityDirection, "invalid_direction",
    "must be one of: inbound, outbound",
    {
        Inbound => "inbound",
        Outbound => "outbound",
    }
);

code_enum!(
    /// How a call went.
    CallOutcome, "invalid_call_outcome",
    "must be one of: connected, left_voicemail, no_answer, busy, wrong_number",
    {
        Connected => "connected",
        LeftVoicemail => "left_voicemail",
        NoAnswer => "no_answer",
        Busy => "busy",
        WrongNumber => "wrong_number",
    }
);

text_value!(
    /// The one-line subject of an activity ("Pricing call about Q3 diesel volumes").
    ActivitySubject, limits::NAME, false
);

code_enum!(
    /// How urgent a task is. Stored with a rank so lists sort by it.
    TaskPriority, "invalid_priority",
    "must be one of: low, normal, high, urgent",
    {
        Low => "low",
        Normal => "normal",
        High => "high",
        Urgent => "urgent",
    }
);

impl TaskPriority {
    /// Sort rank: urgent highest.
    pub fn rank(self) -> i64 {
        match self {
            TaskPriority::Low => 0,
            TaskPriority::Normal => 1,
            TaskPriority::High => 2,
            TaskPriority::Urgent => 3,
        }
    }
}

code_enum!(
    /// Where a task stands. `done` and `cancelled` close it; only reopening changes a closed task.
    TaskStatus, "invalid_status",
    "must be one of: open, in_progress, done, cancelled",
    {
        Open => "open",
        InProgress => "in_progress",
        Done => "done",
        Cancelled => "cancelled",
    }
);

impl TaskStatus {
    pub fn is_closed(self) -> bool {
        matches!(self, TaskStatus::Done | TaskStatus::Cancelled)
    }
}

text_value!(
    /// What a task asks for ("Call 王小明 about the valve quote"): may name people, so personal.
    TaskTitle, limits::TASK_TITLE, false
);

/// A point in time given as an RFC 3339 timestamp (`2026-03-05T14:30:00+08:00`) or, where
/// `dates` allows it, a calendar date (`2026-03-05`), which means the end of that day in UTC
/// (`all_day`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moment {
    pub at: time::OffsetDateTime,
    pub all_day: bool,
}

impl Moment {
    pub fn parse(field: &str, raw: &str, dates: bool) -> Result<Self, FieldError> {
        let raw = raw.trim();
        let in_range = |t: &time::OffsetDateTime| (1900..=2999).contains(&t.year());
        if let Ok(at) =
            time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
            && in_range(&at)
        {
            return Ok(Self {
                at: at.to_offset(time::UtcOffset::UTC),
                all_day: false,
            });
        }
        if dates && let Ok(date) = CalendarDate::parse(field, raw) {
            let end = date
                .date()
                .with_hms_milli(23, 59, 59, 999)
                .map_err(|_| FieldError::new(field, "invalid_datetime", "must be a valid date"))?;
            return Ok(Self {
                at: end.assume_utc(),
                all_day: true,
            });
        }
        Err(FieldError::new(
            field,
            "invalid_datetime",
            if dates {
                "must be a date (2026-12-31) or an RFC 3339 timestamp (2026-12-31T17:00:00+08:00)"
            } else {
                "must be an RFC 3339 timestamp such as 2026-12-31T17:00:00+08:00"
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dates_and_probabilities_parse_strictly() {
        let d = CalendarDate::parse("expected_close_on", " 2026-02-28 ").unwrap();
        assert_eq!(d.to_string(), "2026-02-28");
        for bad in [
            "2026-02-30",
            "26-02-01",
            "2026/02/01",
            "",
            "0001-01-01",
            "2026-2-1",
        ] {
            assert_eq!(
                CalendarDate::parse("d", bad).unwrap_err().code,
                "invalid_date",
                "{bad:?}"
            );
        }
        assert_eq!(Probability::parse("p", 100).unwrap().percent(), 100);
        assert_eq!(LeadScore::parse("score", 0).unwrap().value(), 0);
        assert_eq!(
            LeadScore::parse("score", 101).unwrap_err().code,
            "invalid_score"
        );
        assert_eq!(Probability::parse("p", 0).unwrap().percent(), 0);
        for bad in [-1, 101, 1_000] {
            assert_eq!(
                Probability::parse("p", bad).unwrap_err().code,
                "invalid_probability"
            );
        }
    }

    #[test]
    fn task_moments_priorities_and_statuses() {
        let m = Moment::parse("due_at", "2026-03-05", true).unwrap();
        assert!(m.all_day);
        assert_eq!(m.at, time::macros::datetime!(2026-03-05 23:59:59.999 UTC));
        let m = Moment::parse("due_at", "2026-03-05T14:30:00+08:00", true).unwrap();
        assert!(!m.all_day);
        assert_eq!(m.at, time::macros::datetime!(2026-03-05 06:30 UTC));
        assert_eq!(
            Moment::parse("remind_at", "2026-03-05", false)
                .unwrap_err()
                .code,
            "invalid_datetime"
        );
        for bad in ["", "tomorrow", "2026-13-01", "0001-01-01T00:00:00Z"] {
            assert!(Moment::parse("due_at", bad, true).is_err(), "{bad:?}");
        }
        assert!(TaskPriority::Urgent.rank() > TaskPriority::High.rank());
        assert_eq!(
            TaskPriority::parse("priority", "asap").unwrap_err().code,
            "invalid_priority"
        );
        assert!(TaskStatus::Done.is_closed() && !TaskStatus::InProgress.is_closed());
        assert!(!format!("{:?}", TaskTitle::parse("title", "Call 王").unwrap()).contains('王'));
    }

    #[test]
    fn emails_normalise_and_reject() {
        assert_eq!(
            Email::parse("email", "  Li.Na@Example.CN ")
                .unwrap()
                .as_str(),
            "li.na@example.cn"
        );
        for bad in [
            "",
            "no-at",
            "a@b",
            "@nowhere.test",
            "a..b@nowhere.test",
            "a b@example.com",
            "a@-x.com",
        ] {
            let err = Email::parse("email", bad).unwrap_err();
            assert_eq!(err.code, "invalid_email", "{bad}");
            assert!(bad.is_empty() || !err.message.contains(bad));
        }
    }

    #[test]
    fn phones_become_e164() {
        assert_eq!(
            Phone::parse("p", "+86 138-0013-8000").unwrap().as_str(),
            "+8613800138000"
        );
        assert_eq!(
            Phone::parse("p", "0044 (20) 7946 0958").unwrap().as_str(),
            "+442079460958"
        );
        for bad in [
            "13800138000",
            "+12",
            "+86 138 abc",
            "+0123456789",
            "+1234567890123456",
        ] {
            assert_eq!(
                Phone::parse("p", bad).unwrap_err().code,
                "invalid_phone",
                "{bad}"
            );
        }
    }

    #[test]
    fn text_limits_and_debug_redaction() {
        let name = PersonName::parse("name", " 王小明 ").unwrap();
        assert_eq!(name.as_str(), "王小明");
        assert!(!format!("{name:?}").contains("王"));
        assert_eq!(
            PersonName::parse("name", "   ").unwrap_err().code,
            "required"
        );
        assert_eq!(
            PersonName::parse("name", &"x".repeat(201))
                .unwrap_err()
                .code,
            "too_long"
        );
        assert_eq!(
            PersonName::parse("name", "a\nb").unwrap_err().code,
            "invalid_characters"
        );
        assert!(Address::parse("address", "line 1\nline 2").is_ok());
    }

    #[test]
    fn tags_sorted_deduplicated_limited() {
        let tags = parse_tags("tags", &["VIP".into(), "vip".into(), "石油".into()]).unwrap();
        assert_eq!(
            tags.iter().map(Tag::as_str).collect::<Vec<_>>(),
            vec!["vip", "石油"]
        );
        let many: Vec<String> = (0..51).map(|i| format!("t{i}")).collect();
        assert_eq!(parse_tags("tags", &many).unwrap_err().code, "too_many");
        assert_eq!(
            Tag::parse("tags", "<script>").unwrap_err().code,
            "invalid_tag"
        );
    }

    #[test]
    fn enums_and_websites() {
        assert_eq!(
            Industry::parse("industry", "oil_gas").unwrap(),
            Industry::OilGas
        );
        assert!(Industry::parse("industry", "banking").is_err());
        assert_eq!(CompanySize::parse("size", "5000+").unwrap().code(), "5000+");
        assert!(Website::parse("website", "https://sinopec.com/en").is_ok());
        assert!(Website::parse("website", "javascript:alert(1)").is_err());
    }

    proptest! {
        #[test]
        fn cleaning_equals_full_nfkc(s in "(\\PC|[\u{FF01}-\u{FF5E}\u{0300}-\u{036F}\u{2460}])*") {
            prop_assert_eq!(clean(&s), s.nfkc().collect::<String>().trim().to_owned());
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,300}") {
            let _ = Email::parse("e", &s);
            let _ = Phone::parse("p", &s);
            let _ = PersonName::parse("n", &s);
            let _ = Website::parse("w", &s);
            let _ = Tag::parse("t", &s);
        }

        #[test]
        fn parsed_email_reparses_to_itself(local in "[a-z0-9]{1,20}", domain in "[a-z]{1,10}\\.[a-z]{2,5}") {
            let e = Email::parse("e", &format!("{local}@{domain}")).unwrap();
            prop_assert_eq!(Email::parse("e", e.as_str()).unwrap(), e);
        }
    }
}
