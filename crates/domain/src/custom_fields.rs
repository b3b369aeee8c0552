//! Custom fields: the pure parts. Field types, keys and option values (stable slugs), and exact
//! decimal numbers stored as integers scaled by `10^decimals` (never floats).

use crate::classification::Classification;
use crate::error::FieldError;

pub mod limits {
    /// Definitions per entity, archived ones included (forms and list queries stay bounded).
    pub const FIELDS_PER_ENTITY: usize = 50;
    pub const KEY: usize = 40;
    pub const LABEL: usize = 100;
    pub const HELP: usize = 500;
    pub const OPTIONS: usize = 100;
    /// Default and largest maximum length of a text value.
    pub const TEXT_DEFAULT: i64 = 255;
    pub const TEXT_MAX: i64 = 2_000;
    pub const DECIMALS: i64 = 6;
    /// Largest magnitude of a number's whole part.
    pub const NUMBER_WHOLE_MAX: i64 = 999_999_999_999;
}

/// What kind of value a custom field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    Text,
    Number,
    Date,
    Choice,
    Boolean,
}

impl FieldKind {
    pub const ALL: &'static [FieldKind] = &[
        FieldKind::Text,
        FieldKind::Number,
        FieldKind::Date,
        FieldKind::Choice,
        FieldKind::Boolean,
    ];

    pub fn code(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Number => "number",
            FieldKind::Date => "date",
            FieldKind::Choice => "choice",
            FieldKind::Boolean => "boolean",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.code() == raw.trim())
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "invalid_field_type",
                    "must be one of: text, number, date, choice, boolean",
                )
            })
    }
}

/// The records custom fields can be added to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldEntity {
    Contact,
    Company,
    Deal,
}

impl FieldEntity {
    pub const ALL: &'static [FieldEntity] = &[
        FieldEntity::Contact,
        FieldEntity::Company,
        FieldEntity::Deal,
    ];

    pub fn code(self) -> &'static str {
        match self {
            FieldEntity::Contact => "contact",
            FieldEntity::Company => "company",
            FieldEntity::Deal => "deal",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.code() == raw.trim())
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "invalid_entity",
                    "must be one of: contact, company, deal",
                )
            })
    }
}

pub fn classification_code(c: Classification) -> &'static str {
    match c {
        Classification::Public => "public",
        Classification::Internal => "internal",
        Classification::Personal => "personal",
        Classification::Sensitive => "sensitive",
    }
}

pub fn parse_classification(field: &str, raw: &str) -> Result<Classification, FieldError> {
    match raw.trim() {
        "public" => Ok(Classification::Public),
        "internal" => Ok(Classification::Internal),
        "personal" => Ok(Classification::Personal),
        "sensitive" => Ok(Classification::Sensitive),
        _ => Err(FieldError::new(
            field,
            "invalid_classification",
            "must be one of: public, internal, personal, sensitive",
        )),
    }
}

/// A stable slug: a lower-case ASCII letter, then letters, digits or `_`; at most `max`.
pub fn parse_slug(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    let s = raw.trim();
    let mut chars = s.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.len() <= max;
    if ok {
        Ok(s.to_owned())
    } else {
        Err(FieldError::new(
            field,
            "invalid_key",
            format!(
                "must start with a lower-case letter and hold only a-z, 0-9 and _ (at most {max} characters), such as region_code"
            ),
        ))
    }
}

/// Parses a decimal such as `-12`, `12.5` or `12.50` into an integer scaled by
/// `10^decimals`. Exponents, separators and more decimals than allowed are refused, never
/// rounded.
pub fn parse_decimal(field: &str, raw: &str, decimals: u32) -> Result<i64, FieldError> {
    let raw = raw.trim();
    let invalid = || {
        FieldError::new(
            field,
            "invalid_number",
            "must be a number written with digits and an optional decimal point, such as 12.5",
        )
    };
    let (negative, body) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || !digits(whole)
        || !digits(fraction)
        || (body.contains('.') && fraction.is_empty())
    {
        return Err(invalid());
    }
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > decimals as usize {
        return Err(FieldError::new(
            field,
            "too_many_decimals",
            format!("must have at most {decimals} digits after the decimal point"),
        ));
    }
    let whole = whole.trim_start_matches('0');
    let too_large = || {
        FieldError::new(
            field,
            "number_too_large",
            "must be between -999,999,999,999 and 999,999,999,999",
        )
    };
    if whole.len() > 12 {
        return Err(too_large());
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| invalid())?
    };
    if whole > limits::NUMBER_WHOLE_MAX {
        return Err(too_large());
    }
    let mut value = whole;
    for i in 0..decimals as usize {
        let digit = fraction
            .as_bytes()
            .get(i)
            .map_or(0, |b| i64::from(b - b'0'));
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(digit))
            .ok_or_else(too_large)?;
    }
    Ok(if negative { -value } else { value })
}

/// Formats a scaled integer with exactly `decimals` places (`1250`, 2 → `12.50`).
pub fn format_decimal(value: i64, decimals: u32) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let abs = value.unsigned_abs();
    let scale = 10_u64.pow(decimals);
    if decimals == 0 {
        return format!("{sign}{abs}");
    }
    format!(
        "{sign}{}.{:0width$}",
        abs / scale,
        abs % scale,
        width = decimals as usize
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn decimals_are_exact() {
        assert_eq!(parse_decimal("f", "12.5", 2).unwrap(), 1250);
        assert_eq!(parse_decimal("f", "-0.05", 2).unwrap(), -5);
        assert_eq!(parse_decimal("f", "7", 0).unwrap(), 7);
        assert_eq!(parse_decimal("f", "1.230", 2).unwrap(), 123);
        assert_eq!(
            parse_decimal("f", "1.234", 2).unwrap_err().code,
            "too_many_decimals"
        );
        for bad in ["", "-", "1e3", "1,000", "1.", ".5", "abc", "--1"] {
            assert_eq!(
                parse_decimal("f", bad, 2).unwrap_err().code,
                "invalid_number"
            );
        }
        assert_eq!(
            parse_decimal("f", "1000000000000", 0).unwrap_err().code,
            "number_too_large"
        );
        assert_eq!(format_decimal(1250, 2), "12.50");
        assert_eq!(format_decimal(-5, 2), "-0.05");
        assert_eq!(format_decimal(42, 0), "42");
        let max = parse_decimal("f", "999999999999.999999", 6).unwrap();
        assert_eq!(format_decimal(max, 6), "999999999999.999999");
    }

    #[test]
    fn slugs() {
        assert_eq!(parse_slug("k", "region_code", 40).unwrap(), "region_code");
        for bad in ["", "Region", "1abc", "a-b", "a b", "é"] {
            assert!(parse_slug("k", bad, 40).is_err(), "{bad}");
        }
    }
}
