//! Preferences and feedback values: communication preferences, satisfaction survey scores
//! and their aggregates, and complaints with their statuses, transitions and response times.
//!
//! **Aggregates.** Over a set of responses:
//! - NPS (0–10 scores) = % promoters (9–10) − % detractors (0–6); passives are 7–8.
//! - CSAT (1–5 scores): % satisfied (4–5) and the average score.
//!
//! Both are computed exactly from integer counts (128-bit intermediates) and rounded **once,
//! half to even**: percentages and the NPS to one decimal place, the CSAT average to two. An
//! empty set has no score (`None`), never 0.

use crate::error::FieldError;
use crate::values::bounded_text;
use std::fmt;

/// Longest free-text values accepted, in characters.
pub mod limits {
    pub const COMMENT: usize = 5_000;
    pub const SUBJECT: usize = 300;
    pub const DESCRIPTION: usize = 20_000;
    pub const RESOLUTION: usize = 20_000;
    pub const REASON: usize = 2_000;
}

/// Response time promised per complaint severity (hours from the complaint being logged).
/// Business settings kept as constants here, the one place to change them.
pub mod sla {
    pub const CRITICAL_HOURS: i64 = 4;
    pub const HIGH_HOURS: i64 = 24;
    pub const MEDIUM_HOURS: i64 = 72;
    pub const LOW_HOURS: i64 = 168;
}

macro_rules! choice {
    ($(#[$doc:meta])* $name:ident, $field_code:literal, $hint:literal, { $($variant:ident => $code:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($variant),+
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

choice!(
    /// How a contact prefers to be reached (also the channels of opt-outs and survey answers).
    ContactChannel, "invalid_channel",
    "must be one of: email, phone, sms, wechat, post",
    {
        Email => "email",
        Phone => "phone",
        Sms => "sms",
        WeChat => "wechat",
        Post => "post",
    }
);

choice!(
    /// The language a contact wants to be written to in (BCP 47 tags from a fixed list:
    /// the languages the organisation can actually write in).
    PreferredLanguage, "invalid_language",
    "must be one of: en, zh-CN, zh-TW, ja, ko, de, fr, es",
    {
        English => "en",
        ChineseSimplified => "zh-CN",
        ChineseTraditional => "zh-TW",
        Japanese => "ja",
        Korean => "ko",
        German => "de",
        French => "fr",
        Spanish => "es",
    }
);

choice!(
    /// How often marketing may write.
    ContactFrequency, "invalid_frequency",
    "must be one of: weekly, monthly, quarterly, only_essential",
    {
        Weekly => "weekly",
        Monthly => "monthly",
        Quarterly => "quarterly",
        OnlyEssential => "only_essential",
    }
);

choice!(
    /// Net Promoter Score (0–10) or customer satisfaction (1–5).
    SurveyKind, "invalid_survey_kind",
    "must be one of: nps, csat",
    {
        Nps => "nps",
        Csat => "csat",
    }
);

impl SurveyKind {
    /// The scores the kind allows, inclusive.
    pub fn range(self) -> (i64, i64) {
        match self {
            SurveyKind::Nps => (0, 10),
            SurveyKind::Csat => (1, 5),
        }
    }

    /// Checks a score against the kind (422 `score_out_of_range`).
    pub fn check_score(self, field: &str, score: i64) -> Result<i64, FieldError> {
        let (lo, hi) = self.range();
        if (lo..=hi).contains(&score) {
            Ok(score)
        } else {
            Err(FieldError::new(
                field,
                "score_out_of_range",
                match self {
                    SurveyKind::Nps => "an NPS score is a whole number from 0 to 10",
                    SurveyKind::Csat => "a CSAT score is a whole number from 1 to 5",
                },
            ))
        }
    }
}

choice!(
    /// What a complaint is about.
    ComplaintCategory, "invalid_category",
    "must be one of: product_quality, delivery, billing, service, other",
    {
        ProductQuality => "product_quality",
        Delivery => "delivery",
        Billing => "billing",
        Service => "service",
        Other => "other",
    }
);

choice!(
    /// How bad a complaint is; decides the response time (`sla`).
    Severity, "invalid_severity",
    "must be one of: low, medium, high, critical",
    {
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
);

impl Severity {
    /// Sort rank: critical highest.
    pub fn rank(self) -> i64 {
        match self {
            Severity::Low => 0,
            Severity::Medium => 1,
            Severity::High => 2,
            Severity::Critical => 3,
        }
    }

    /// The promised response time, in milliseconds.
    pub fn response_millis(self) -> i64 {
        let hours = match self {
            Severity::Low => sla::LOW_HOURS,
            Severity::Medium => sla::MEDIUM_HOURS,
            Severity::High => sla::HIGH_HOURS,
            Severity::Critical => sla::CRITICAL_HOURS,
        };
        hours * 3_600_000
    }
}

choice!(
    /// Where a complaint stands.
    ComplaintStatus, "invalid_status",
    "must be one of: open, investigating, resolved, closed, rejected",
    {
        Open => "open",
        Investigating => "investigating",
        Resolved => "resolved",
        Closed => "closed",
        Rejected => "rejected",
    }
);

impl ComplaintStatus {
    /// open → investigating | resolved | rejected; investigating → resolved | rejected;
    /// resolved → closed (the customer accepted) | investigating (they did not). Closed and
    /// rejected are final.
    pub fn can_become(self, next: ComplaintStatus) -> bool {
        use ComplaintStatus::*;
        matches!(
            (self, next),
            (Open, Investigating | Resolved | Rejected)
                | (Investigating, Resolved | Rejected)
                | (Resolved, Closed | Investigating)
        )
    }

    /// Still waiting for the organisation: these count as overdue past the response due.
    pub fn is_pending(self) -> bool {
        matches!(self, ComplaintStatus::Open | ComplaintStatus::Investigating)
    }

    /// Closed and rejected complaints refuse edits.
    pub fn is_final(self) -> bool {
        matches!(self, ComplaintStatus::Closed | ComplaintStatus::Rejected)
    }
}

/// Single-line text (complaint subjects).
pub fn line_text(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    bounded_text(field, raw, max, false)
}

/// Multi-line text (comments, descriptions, resolutions, reasons).
pub fn block_text(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    bounded_text(field, raw, max, true)
}

/// `num / den × 10^decimals`, rounded half to even. `den` must be positive.
fn rounded_ratio(num: i128, den: i128, decimals: u32) -> i128 {
    let scaled = num * 10_i128.pow(decimals);
    let q = scaled.div_euclid(den);
    let r = scaled.rem_euclid(den);
    match (2 * r).cmp(&den) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => q + (q & 1),
    }
}

/// An exact decimal with a fixed number of places (`-33.3`, `4.25`); what the aggregates
/// answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    /// The value times `10^places`.
    pub scaled: i128,
    pub places: u32,
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = 10_i128.pow(self.places);
        let sign = if self.scaled < 0 { "-" } else { "" };
        let abs = self.scaled.abs();
        if self.places == 0 {
            return write!(f, "{sign}{abs}");
        }
        write!(
            f,
            "{sign}{}.{:0width$}",
            abs / unit,
            abs % unit,
            width = self.places as usize
        )
    }
}

/// How many responses gave each score (index = score).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScoreCounts(pub [i64; 11]);

impl ScoreCounts {
    pub fn add(&mut self, score: i64, count: i64) {
        if let Some(slot) = usize::try_from(score).ok().and_then(|i| self.0.get_mut(i)) {
            *slot += count;
        }
    }

    fn sum(&self, scores: std::ops::RangeInclusive<usize>) -> i64 {
        scores.filter_map(|i| self.0.get(i)).sum()
    }
}

/// The NPS of a set of 0–10 answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpsSummary {
    pub responses: i64,
    pub promoters: i64,
    pub passives: i64,
    pub detractors: i64,
    /// −100.0 … 100.0, one decimal; `None` without responses.
    pub score: Option<Decimal>,
}

pub fn nps(counts: &ScoreCounts) -> NpsSummary {
    let promoters = counts.sum(9..=10);
    let passives = counts.sum(7..=8);
    let detractors = counts.sum(0..=6);
    let responses = promoters + passives + detractors;
    let score = (responses > 0).then(|| Decimal {
        scaled: rounded_ratio(
            i128::from(promoters - detractors) * 100,
            i128::from(responses),
            1,
        ),
        places: 1,
    });
    NpsSummary {
        responses,
        promoters,
        passives,
        detractors,
        score,
    }
}

/// CSAT of a set of 1–5 answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsatSummary {
    pub responses: i64,
    /// Answers of 4 or 5.
    pub satisfied: i64,
    /// 0.0 … 100.0, one decimal; `None` without responses.
    pub satisfied_percent: Option<Decimal>,
    /// 1.00 … 5.00, two decimals; `None` without responses.
    pub average: Option<Decimal>,
}

pub fn csat(counts: &ScoreCounts) -> CsatSummary {
    let responses = counts.sum(1..=5);
    let satisfied = counts.sum(4..=5);
    let total: i128 = (1..=5_usize)
        .map(|s| i128::from(counts.0[s]) * s as i128)
        .sum();
    CsatSummary {
        responses,
        satisfied,
        satisfied_percent: (responses > 0).then(|| Decimal {
            scaled: rounded_ratio(i128::from(satisfied) * 100, i128::from(responses), 1),
            places: 1,
        }),
        average: (responses > 0).then(|| Decimal {
            scaled: rounded_ratio(total, i128::from(responses), 2),
            places: 2,
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn counts(pairs: &[(i64, i64)]) -> ScoreCounts {
        let mut c = ScoreCounts::default();
        for (score, n) in pairs {
            c.add(*score, *n);
        }
        c
    }

    #[test]
    fn nps_boundaries_and_rounding() {
        // 6 is a detractor, 7 and 8 passives, 9 a promoter.
        let s = nps(&counts(&[(6, 1), (7, 1), (8, 1), (9, 1)]));
        assert_eq!((s.promoters, s.passives, s.detractors), (1, 2, 1));
        assert_eq!(s.score.unwrap().to_string(), "0.0");
        // 2 promoters, 1 detractor of 3: 33.333… → 33.3; the reverse → -33.3.
        assert_eq!(
            nps(&counts(&[(10, 2), (0, 1)])).score.unwrap().to_string(),
            "33.3"
        );
        assert_eq!(
            nps(&counts(&[(10, 1), (3, 2)])).score.unwrap().to_string(),
            "-33.3"
        );
        // 1 of 16 promoters: 6.25 → 6.2 (half to even); 3 of 16: 18.75 → 18.8.
        assert_eq!(
            nps(&counts(&[(9, 1), (8, 15)])).score.unwrap().to_string(),
            "6.2"
        );
        assert_eq!(
            nps(&counts(&[(9, 3), (8, 13)])).score.unwrap().to_string(),
            "18.8"
        );
        assert_eq!(
            nps(&counts(&[(0, 16), (9, 15)])).score.unwrap().to_string(),
            "-3.2"
        );
        assert_eq!(nps(&counts(&[(10, 4)])).score.unwrap().to_string(), "100.0");
        assert_eq!(nps(&ScoreCounts::default()).score, None);
    }

    #[test]
    fn csat_percent_and_average() {
        let s = csat(&counts(&[(3, 1), (4, 1), (5, 1)]));
        assert_eq!(s.satisfied, 2);
        assert_eq!(s.satisfied_percent.unwrap().to_string(), "66.7");
        assert_eq!(s.average.unwrap().to_string(), "4.00");
        // 1 + 2 = 3 over 8 answers of (1,2,…): average 2.125 → 2.12 (half to even).
        let s = csat(&counts(&[(2, 7), (3, 1)]));
        assert_eq!(s.average.unwrap().to_string(), "2.12");
        assert_eq!(s.satisfied_percent.unwrap().to_string(), "0.0");
        let empty = csat(&ScoreCounts::default());
        assert_eq!((empty.responses, empty.average), (0, None));
    }

    #[test]
    fn scores_transitions_and_sla() {
        assert!(SurveyKind::Nps.check_score("score", 0).is_ok());
        assert_eq!(
            SurveyKind::Csat.check_score("score", 0).unwrap_err().code,
            "score_out_of_range"
        );
        assert!(SurveyKind::Nps.check_score("score", 11).is_err());
        use ComplaintStatus::*;
        assert!(Open.can_become(Investigating) && Resolved.can_become(Closed));
        assert!(!Closed.can_become(Open) && !Rejected.can_become(Open));
        assert!(!Open.can_become(Closed) && !Open.can_become(Open));
        assert!(Severity::Critical.response_millis() < Severity::Low.response_millis());
        assert_eq!(
            PreferredLanguage::parse("language", "zh-CN").unwrap(),
            PreferredLanguage::ChineseSimplified
        );
        assert_eq!(
            ContactChannel::parse("channel", "fax").unwrap_err().code,
            "invalid_channel"
        );
    }
}
