//! Purchase history values: product SKUs and units, order status and its transitions, exact
//! quantities and discounts, and the one rounding rule for order lines.
//!
//! **Rounding rule.** A line's net amount is `quantity × unit price × (100 % − discount)`,
//! computed exactly in integers (quantities in thousandths, prices in minor units, discounts in
//! hundredths of a percent) and rounded **once, half to even, to the currency's minor unit**.
//! The line's gross (`quantity × unit price`) is rounded the same way and its discount is the
//! difference, so `gross − discount = net` holds exactly on every line. The order's subtotal,
//! discount and total are the sums of its lines' gross, discount and net amounts.

use crate::error::FieldError;
use crate::values::bounded_text;
use std::fmt;

/// Longest values accepted, in characters, and the per-order line limit.
pub mod limits {
    pub const SKU: usize = 64;
    pub const PRODUCT_NAME: usize = 200;
    pub const DESCRIPTION: usize = 2_000;
    pub const CATEGORY: usize = 100;
    pub const LINE_DESCRIPTION: usize = 500;
    pub const LINES: usize = 200;
}

/// Quantities are stored in thousandths of a unit (`12.5` kg → 12 500).
pub const QUANTITY_SCALE: i64 = 1_000;
/// Largest quantity accepted, in whole units.
const MAX_QUANTITY: i64 = 1_000_000_000;
/// Discounts are stored in hundredths of a percent (`12.5` % → 1 250); 100 % is 10 000.
pub const DISCOUNT_SCALE: i64 = 10_000;

/// A stock-keeping unit: trimmed, upper-cased, letters, digits and `- _ . /` only, so
/// `ab-100` and `AB-100 ` are the same product.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Sku(String);

impl Sku {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let text = raw.trim().to_ascii_uppercase();
        if text.is_empty() {
            return Err(FieldError::new(field, "required", "must not be empty"));
        }
        if text.chars().count() > limits::SKU {
            return Err(FieldError::new(
                field,
                "too_long",
                format!("must be at most {} characters", limits::SKU),
            ));
        }
        if !text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        {
            return Err(FieldError::new(
                field,
                "invalid_sku",
                "may contain only letters A–Z, digits and - _ . /",
            ));
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Single-line text of bounded length (product names, categories, line descriptions).
pub fn line_text(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    bounded_text(field, raw, max, false)
}

/// Multi-line text of bounded length (product descriptions).
pub fn block_text(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    bounded_text(field, raw, max, true)
}

macro_rules! choice {
    ($(#[$doc:meta])* $name:ident, $field_code:literal, $hint:literal, { $($variant:ident => $code:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// How a product is counted or measured (B2B: oil and gas, food, manufacturing).
    UnitOfMeasure, "invalid_unit",
    "must be one of: each, kg, t, g, l, m3, bbl, m, m2, box, pallet, set, h",
    {
        Each => "each",
        Kilogram => "kg",
        Tonne => "t",
        Gram => "g",
        Litre => "l",
        CubicMetre => "m3",
        Barrel => "bbl",
        Metre => "m",
        SquareMetre => "m2",
        Box => "box",
        Pallet => "pallet",
        Set => "set",
        Hour => "h",
    }
);

choice!(
    /// Where an order stands. Only drafts are edited; the rest changes through transitions.
    OrderStatus, "invalid_status",
    "must be one of: draft, placed, paid, fulfilled, cancelled, refunded",
    {
        Draft => "draft",
        Placed => "placed",
        Paid => "paid",
        Fulfilled => "fulfilled",
        Cancelled => "cancelled",
        Refunded => "refunded",
    }
);

impl OrderStatus {
    /// The transitions allowed: draft → placed | cancelled; placed → paid | cancelled;
    /// paid → fulfilled | refunded; fulfilled → refunded. Cancelled and refunded are final.
    pub fn can_become(self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (self, next),
            (Draft, Placed | Cancelled)
                | (Placed, Paid | Cancelled)
                | (Paid, Fulfilled | Refunded)
                | (Fulfilled, Refunded)
        )
    }

    /// Orders that count in a customer's totals: placed, paid or fulfilled. Drafts are not
    /// orders yet; cancelled and refunded ones were undone.
    pub fn counts_in_totals(self) -> bool {
        matches!(
            self,
            OrderStatus::Placed | OrderStatus::Paid | OrderStatus::Fulfilled
        )
    }

    pub fn counted() -> [OrderStatus; 3] {
        [
            OrderStatus::Placed,
            OrderStatus::Paid,
            OrderStatus::Fulfilled,
        ]
    }
}

choice!(
    /// How interested a contact is in a product (marketing).
    InterestLevel, "invalid_level",
    "must be one of: low, medium, high",
    {
        Low => "low",
        Medium => "medium",
        High => "high",
    }
);

/// Parses an unsigned decimal with at most `decimals` places into an integer scaled by
/// `10^decimals`; `None` when the text is not such a number.
fn parse_scaled(raw: &str, decimals: usize) -> Option<i128> {
    let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 20
        || !digits(whole)
        || !digits(fraction)
        || fraction.len() > decimals
        || (raw.contains('.') && fraction.is_empty())
    {
        return None;
    }
    let mut value: i128 = whole.parse().ok()?;
    for i in 0..decimals {
        let digit = fraction
            .as_bytes()
            .get(i)
            .map_or(0, |b| i128::from(b - b'0'));
        value = value.checked_mul(10)?.checked_add(digit)?;
    }
    Some(value)
}

/// Formats an integer scaled by `10^decimals`, dropping trailing fractional zeros
/// (`12500` thousandths → `12.5`).
fn format_scaled(value: i64, decimals: u32) -> String {
    let scale = 10_i64.pow(decimals);
    let sign = if value < 0 { "-" } else { "" };
    let abs = value.unsigned_abs();
    let scale = scale.unsigned_abs();
    let whole = abs / scale;
    let fraction = abs % scale;
    if fraction == 0 {
        return format!("{sign}{whole}");
    }
    let text = format!("{fraction:0width$}", width = decimals as usize);
    format!("{sign}{whole}.{}", text.trim_end_matches('0'))
}

/// A quantity in thousandths: more than 0, at most three decimals, at most one billion.
pub fn parse_quantity(field: &str, raw: &str) -> Result<i64, FieldError> {
    let raw = raw.trim();
    if raw.starts_with('-') {
        return Err(FieldError::new(
            field,
            "negative_quantity",
            "must be more than 0; to take goods back, refund the order instead",
        ));
    }
    let invalid = || {
        FieldError::new(
            field,
            "invalid_quantity",
            "must be a number greater than 0 with at most 3 decimal places, such as 12.5",
        )
    };
    let value = parse_scaled(raw, 3).ok_or_else(invalid)?;
    if value == 0 {
        return Err(invalid());
    }
    if value > i128::from(MAX_QUANTITY) * i128::from(QUANTITY_SCALE) {
        return Err(FieldError::new(
            field,
            "quantity_too_large",
            "must be at most 1,000,000,000",
        ));
    }
    i64::try_from(value).map_err(|_| invalid())
}

pub fn format_quantity(thousandths: i64) -> String {
    format_scaled(thousandths, 3)
}

/// A discount in hundredths of a percent: 0–100 with at most two decimals.
pub fn parse_discount(field: &str, raw: &str) -> Result<i64, FieldError> {
    let raw = raw.trim().trim_end_matches('%').trim_end();
    let value = parse_scaled(raw, 2)
        .filter(|v| *v <= i128::from(DISCOUNT_SCALE))
        .and_then(|v| i64::try_from(v).ok());
    value.ok_or_else(|| {
        FieldError::new(
            field,
            "invalid_discount",
            "must be a percentage from 0 to 100 with at most 2 decimal places, such as 12.5",
        )
    })
}

pub fn format_discount(hundredths: i64) -> String {
    format_scaled(hundredths, 2)
}

/// One line's amounts in the currency's minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineAmounts {
    /// `quantity × unit price`, rounded half to even.
    pub gross: i64,
    /// `gross − net`.
    pub discount: i64,
    /// `quantity × unit price × (1 − discount)`, rounded half to even once.
    pub net: i64,
}

/// Integer division rounding half to even (`numerator ≥ 0`, `denominator > 0`).
fn div_half_even(numerator: i128, denominator: i128) -> i128 {
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    let twice = remainder * 2;
    if twice > denominator || (twice == denominator && quotient % 2 == 1) {
        quotient + 1
    } else {
        quotient
    }
}

/// A line's amounts under the rounding rule in the module documentation; `None` when they do
/// not fit in the amount range (the caller reports it as a field error).
pub fn line_amounts(
    quantity_milli: i64,
    unit_price_minor: i64,
    discount_bp: i64,
) -> Option<LineAmounts> {
    if quantity_milli < 0 || unit_price_minor < 0 || !(0..=DISCOUNT_SCALE).contains(&discount_bp) {
        return None;
    }
    let exact_gross = i128::from(quantity_milli).checked_mul(i128::from(unit_price_minor))?;
    let exact_net = exact_gross.checked_mul(i128::from(DISCOUNT_SCALE - discount_bp))?;
    let gross = div_half_even(exact_gross, i128::from(QUANTITY_SCALE));
    let net = div_half_even(
        exact_net,
        i128::from(QUANTITY_SCALE) * i128::from(DISCOUNT_SCALE),
    );
    let gross = i64::try_from(gross)
        .ok()
        .filter(|g| *g <= MAX_AMOUNT_MINOR)?;
    let net = i64::try_from(net).ok()?;
    Some(LineAmounts {
        gross,
        discount: gross.checked_sub(net)?,
        net,
    })
}

/// Largest line or order amount in minor units: far below `i64::MAX`, so sums over many
/// orders still fit.
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000_000;

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// `SO-000123`: the human order number for sequence value 123.
pub fn order_number(sequence: i64) -> String {
    format!("SO-{sequence:06}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quantities_are_exact_thousandths() {
        assert_eq!(parse_quantity("q", "12.5").unwrap(), 12_500);
        assert_eq!(parse_quantity("q", " 0.001 ").unwrap(), 1);
        assert_eq!(
            parse_quantity("q", "1000000000").unwrap(),
            1_000_000_000_000
        );
        assert_eq!(
            parse_quantity("q", "-1").unwrap_err().code,
            "negative_quantity"
        );
        for bad in ["0", "0.000", "1.2345", "", "1e3", "1,5", ".5", "1.", "abc"] {
            assert_eq!(
                parse_quantity("q", bad).unwrap_err().code,
                "invalid_quantity",
                "{bad}"
            );
        }
        assert_eq!(
            parse_quantity("q", "1000000000.001").unwrap_err().code,
            "quantity_too_large"
        );
        assert_eq!(format_quantity(12_500), "12.5");
        assert_eq!(format_quantity(3_000), "3");
        assert_eq!(format_quantity(1), "0.001");
    }

    #[test]
    fn discounts_are_hundredths_of_a_percent() {
        assert_eq!(parse_discount("d", "12.5").unwrap(), 1_250);
        assert_eq!(parse_discount("d", "100").unwrap(), 10_000);
        assert_eq!(parse_discount("d", "0").unwrap(), 0);
        assert_eq!(parse_discount("d", "7.5 %").unwrap(), 750);
        for bad in ["100.01", "-1", "1.234", "x", ""] {
            assert_eq!(
                parse_discount("d", bad).unwrap_err().code,
                "invalid_discount",
                "{bad}"
            );
        }
        assert_eq!(format_discount(1_250), "12.5");
    }

    #[test]
    fn lines_round_half_to_even_once() {
        // 1 × 0.05 at 50 % = 0.025 → 0.02 (half to even), discount 0.03.
        let a = line_amounts(1_000, 5, 5_000).unwrap();
        assert_eq!((a.gross, a.discount, a.net), (5, 3, 2));
        // 1 × 0.15 at 50 % = 0.075 → 0.08.
        let a = line_amounts(1_000, 15, 5_000).unwrap();
        assert_eq!((a.gross, a.discount, a.net), (15, 7, 8));
        // 0.5 × 0.01 = 0.005 → 0.00; 1.5 × 0.01 = 0.015 → 0.02.
        assert_eq!(line_amounts(500, 1, 0).unwrap().gross, 0);
        assert_eq!(line_amounts(1_500, 1, 0).unwrap().gross, 2);
        // JPY: 3 × ¥333 at 10 % = 899.1 → 899.
        let a = line_amounts(3_000, 333, 1_000).unwrap();
        assert_eq!((a.gross, a.discount, a.net), (999, 100, 899));
        assert!(line_amounts(1_000_000_000_000, 100_000_000_000_000, 0).is_none());
    }

    #[test]
    fn transitions() {
        use OrderStatus::*;
        assert!(Draft.can_become(Placed));
        assert!(Placed.can_become(Paid));
        assert!(Paid.can_become(Fulfilled));
        assert!(Fulfilled.can_become(Refunded));
        assert!(!Draft.can_become(Paid));
        assert!(!Cancelled.can_become(Placed));
        assert!(!Refunded.can_become(Paid));
        assert!(!Fulfilled.can_become(Cancelled));
        assert_eq!(order_number(123), "SO-000123");
        assert_eq!(Sku::parse("sku", " ab-100 ").unwrap().as_str(), "AB-100");
        assert_eq!(Sku::parse("sku", "a b").unwrap_err().code, "invalid_sku");
    }

    proptest! {
        #[test]
        fn gross_minus_discount_is_net(q in 1_i64..=1_000_000_000, p in 0_i64..=10_000_000, d in 0_i64..=10_000) {
            let a = line_amounts(q, p, d).unwrap();
            prop_assert_eq!(a.gross - a.discount, a.net);
            prop_assert!(a.net <= a.gross && a.net >= 0);
        }

        #[test]
        fn quantity_round_trips(q in 1_i64..=1_000_000_000_000) {
            prop_assert_eq!(parse_quantity("q", &format_quantity(q)).unwrap(), q);
        }
    }
}
