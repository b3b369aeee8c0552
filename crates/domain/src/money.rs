//! Money as exact integers: an ISO 4217 currency and an amount in that currency's minor unit
//! (fen, cents, fils). Amounts cross the API as decimal strings ("12500.50"), never floats.

use crate::error::FieldError;
use std::fmt;

/// A currency Custodian accepts, with the number of decimals of its minor unit.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    decimals: u8,
}

/// ISO 4217 currencies the customers trade in (East Asia, the Gulf, Europe, the Americas).
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("AUD", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CNY", 2),
    ("DKK", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("IDR", 2),
    ("INR", 2),
    ("JPY", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("KZT", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("NGN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PHP", 2),
    ("QAR", 2),
    ("RUB", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TRY", 2),
    ("TWD", 2),
    ("USD", 2),
    ("VND", 0),
    ("ZAR", 2),
];

/// Largest amount accepted, in major units: far above any deal, far below `i64` overflow even
/// when thousands of amounts are summed in minor units.
const MAX_MAJOR: i64 = 1_000_000_000_000;

impl Currency {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let code = raw.trim().to_ascii_uppercase();
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|&(code, decimals)| Currency { code, decimals })
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "invalid_currency",
                    "must be a supported ISO 4217 currency code such as CNY, USD or EUR",
                )
            })
    }

    pub fn code(self) -> &'static str {
        self.code
    }

    pub fn decimals(self) -> u8 {
        self.decimals
    }

    fn scale(self) -> i64 {
        10_i64.pow(u32::from(self.decimals))
    }

    /// Parses a non-negative decimal such as `12500`, `12500.5` or `12500.50` into minor units.
    /// More decimals than the currency has, signs, exponents, separators and anything above
    /// one trillion are refused rather than rounded.
    pub fn parse_amount(self, field: &str, raw: &str) -> Result<i64, FieldError> {
        let invalid = || {
            FieldError::new(
                field,
                "invalid_amount",
                format!(
                    "must be a non-negative number with at most {} decimal places for {}, such as 12500{}",
                    self.decimals,
                    self.code,
                    if self.decimals == 0 { "" } else { ".50" }
                ),
            )
        };
        let raw = raw.trim();
        let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || whole.len() > 13
            || !digits(whole)
            || !digits(fraction)
            || fraction.len() > usize::from(self.decimals)
            || (raw.contains('.') && fraction.is_empty())
        {
            return Err(invalid());
        }
        let major: i64 = whole.parse().map_err(|_| invalid())?;
        if major > MAX_MAJOR {
            return Err(FieldError::new(
                field,
                "amount_too_large",
                "must be at most 1,000,000,000,000",
            ));
        }
        let mut minor_part: i64 = if fraction.is_empty() {
            0
        } else {
            fraction.parse().map_err(|_| invalid())?
        };
        for _ in fraction.len()..usize::from(self.decimals) {
            minor_part *= 10;
        }
        Ok(major * self.scale() + minor_part)
    }

    /// Formats minor units as a decimal string with exactly the currency's decimals.
    pub fn format_amount(self, minor: i64) -> String {
        let sign = if minor < 0 { "-" } else { "" };
        let abs = minor.unsigned_abs();
        let scale = self.scale().unsigned_abs();
        if self.decimals == 0 {
            return format!("{sign}{abs}");
        }
        format!(
            "{sign}{}.{:0width$}",
            abs / scale,
            abs % scale,
            width = usize::from(self.decimals)
        )
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.code)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amounts_parse_exactly_in_minor_units() {
        let cny = Currency::parse("currency", " cny ").unwrap();
        assert_eq!(cny.code(), "CNY");
        assert_eq!(cny.parse_amount("amount", "12500").unwrap(), 1_250_000);
        assert_eq!(cny.parse_amount("amount", "12500.5").unwrap(), 1_250_050);
        assert_eq!(cny.parse_amount("amount", "0.07").unwrap(), 7);
        let jpy = Currency::parse("currency", "JPY").unwrap();
        assert_eq!(jpy.parse_amount("amount", "980").unwrap(), 980);
        let kwd = Currency::parse("currency", "KWD").unwrap();
        assert_eq!(kwd.parse_amount("amount", "1.005").unwrap(), 1_005);
        assert_eq!(kwd.format_amount(1_005), "1.005");
        assert_eq!(cny.format_amount(1_250_050), "12500.50");
        assert_eq!(jpy.format_amount(980), "980");
        assert_eq!(cny.format_amount(-5), "-0.05");
    }

    #[test]
    fn bad_amounts_and_currencies_are_refused_not_rounded() {
        let cny = Currency::parse("currency", "CNY").unwrap();
        let jpy = Currency::parse("currency", "JPY").unwrap();
        for bad in [
            "", "-1", "+1", "1e3", "1,000", "1.", ".5", "1.005", "abc", "1 000", "0x10", "NaN",
        ] {
            let err = cny.parse_amount("amount", bad).unwrap_err();
            assert_eq!(err.code, "invalid_amount", "{bad:?}");
        }
        assert_eq!(
            jpy.parse_amount("amount", "1.5").unwrap_err().code,
            "invalid_amount"
        );
        assert_eq!(
            cny.parse_amount("amount", "1000000000001")
                .unwrap_err()
                .code,
            "amount_too_large"
        );
        assert!(cny.parse_amount("amount", "1000000000000").is_ok());
        for bad in ["", "RMB", "US", "usd1", "XXX"] {
            assert_eq!(
                Currency::parse("currency", bad).unwrap_err().code,
                "invalid_currency"
            );
        }
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(minor in 0_i64..=MAX_MAJOR, i in 0_usize..CURRENCIES.len()) {
            let currency = Currency::parse("c", CURRENCIES[i].0).unwrap();
            let text = currency.format_amount(minor);
            prop_assert_eq!(currency.parse_amount("a", &text).unwrap(), minor);
        }
    }
}
