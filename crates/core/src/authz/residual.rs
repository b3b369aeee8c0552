//! Residual policies → record conditions. Type-aware partial evaluation leaves, for a known
//! principal and context, the part of each policy that depends on the record; this module
//! turns those expressions into [`AccessCondition`]s the store runs as SQL.
//!
//! Cedar skips a policy whose condition errors (an absent optional attribute, say). So each
//! expression is translated twice: `truth` holds exactly on rows where it evaluates to true,
//! `falsity` where it evaluates to false; rows where it would error are in neither. A permit
//! lets a row through where its `truth` holds; a forbid stops it where its `truth` holds.
//! Anything outside the translated subset is [`Untranslatable`], and the caller then relies on
//! checking each row (the query over-fetches rather than guess).

use cedar_policy::pst::{BinaryOp, Expr, Literal, UnaryOp, Var};
use custodian_store::access::{AccessCondition as C, Compare};
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Untranslatable;

type Translated = Result<C, Untranslatable>;

/// Where the expression is true (no error).
pub fn truth(expr: &Expr) -> Translated {
    translate(expr, true)
}

fn translate(expr: &Expr, want: bool) -> Translated {
    match expr {
        Expr::Literal(Literal::Bool(b)) => Ok(if *b == want { C::True } else { C::False }),
        Expr::ResidualError => Ok(C::False),
        Expr::UnaryOp {
            op: UnaryOp::Not,
            expr,
        } => translate(expr, !want),
        Expr::BinaryOp { op, left, right } => binary(*op, left, right, want),
        Expr::HasAttr { expr, attrs } if is_resource(expr) && attrs.tail.is_empty() => {
            let present = presence(&attrs.head)?;
            Ok(if want { present } else { C::not(present) })
        }
        Expr::IfThenElse {
            cond,
            then_expr,
            else_expr,
        } => Ok(C::or(vec![
            C::and(vec![translate(cond, true)?, translate(then_expr, want)?]),
            C::and(vec![translate(cond, false)?, translate(else_expr, want)?]),
        ])),
        _ => Err(Untranslatable),
    }
}

fn binary(op: BinaryOp, left: &Arc<Expr>, right: &Arc<Expr>, want: bool) -> Translated {
    match op {
        BinaryOp::And => Ok(if want {
            C::and(vec![translate(left, true)?, translate(right, true)?])
        } else {
            C::or(vec![
                translate(left, false)?,
                C::and(vec![translate(left, true)?, translate(right, false)?]),
            ])
        }),
        BinaryOp::Or => Ok(if want {
            C::or(vec![
                translate(left, true)?,
                C::and(vec![translate(left, false)?, translate(right, true)?]),
            ])
        } else {
            C::and(vec![translate(left, false)?, translate(right, false)?])
        }),
        BinaryOp::Eq | BinaryOp::NotEq => {
            let (attr, literal) = attribute_and_literal(left, right)?;
            let equal = equality(attr, literal)?;
            // Equality of a present attribute never errors; an absent one errors either way.
            let holds = if (op == BinaryOp::Eq) == want {
                equal
            } else {
                C::and(vec![presence(attr)?, C::not(equal)])
            };
            Ok(holds)
        }
        BinaryOp::Less | BinaryOp::LessEq | BinaryOp::Greater | BinaryOp::GreaterEq => {
            let (attr, literal, flipped) = match (resource_attr(left), resource_attr(right)) {
                (Some(attr), None) => (attr, right, false),
                (None, Some(attr)) => (attr, left, true),
                _ => return Err(Untranslatable),
            };
            let (Some("sensitivity"), Expr::Literal(Literal::Long(value))) =
                (Some(attr), literal.as_ref())
            else {
                return Err(Untranslatable);
            };
            // `5 < resource.sensitivity` is `resource.sensitivity > 5`.
            let op = if flipped { mirror(op) } else { op };
            let op = if want { op } else { negate(op) };
            Ok(C::Sensitivity(compare(op), *value))
        }
        BinaryOp::Contains => {
            // `resource.case_handlers.contains(User::"…")`
            if resource_attr(left) == Some("case_handlers")
                && let Expr::Literal(Literal::EntityUID(uid)) = right.as_ref()
            {
                let user = user_id(uid)?;
                return Ok(if want {
                    C::CaseHandler(user)
                } else {
                    C::not(C::CaseHandler(user))
                });
            }
            // `["north", "south"].contains(resource.region)`
            if let Expr::Set(items) = left.as_ref()
                && let Some(attr) = resource_attr(right)
            {
                let matches = items
                    .iter()
                    .map(|item| equality(attr, item))
                    .collect::<Result<Vec<_>, _>>()?;
                return Ok(if want {
                    C::or(matches)
                } else {
                    C::and(vec![presence(attr)?, C::not(C::or(matches))])
                });
            }
            Err(Untranslatable)
        }
        _ => Err(Untranslatable),
    }
}

fn is_resource(expr: &Expr) -> bool {
    matches!(expr, Expr::Var(Var::Resource))
}

fn resource_attr(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::GetAttr { expr, attr } if is_resource(expr) => Some(attr.as_str()),
        _ => None,
    }
}

fn attribute_and_literal<'a>(
    left: &'a Arc<Expr>,
    right: &'a Arc<Expr>,
) -> Result<(&'a str, &'a Expr), Untranslatable> {
    match (resource_attr(left), resource_attr(right)) {
        (Some(attr), None) => Ok((attr, right)),
        (None, Some(attr)) => Ok((attr, left)),
        _ => Err(Untranslatable),
    }
}

/// Where the record has the attribute at all.
fn presence(attr: &str) -> Translated {
    match attr {
        "owner" => Ok(C::OwnerSet),
        "team" => Ok(C::TeamSet),
        "region" => Ok(C::RegionSet),
        "sensitivity" | "state" | "case_handlers" => Ok(C::True),
        _ => Err(Untranslatable),
    }
}

/// Where the present attribute equals the literal (false where it is absent).
fn equality(attr: &str, literal: &Expr) -> Translated {
    let Expr::Literal(literal) = literal else {
        return Err(Untranslatable);
    };
    match (attr, literal) {
        ("owner", Literal::EntityUID(uid)) => Ok(C::OwnerIs(user_id(uid)?)),
        ("team", Literal::String(s)) => Ok(C::TeamIs(s.to_string())),
        ("region", Literal::String(s)) => Ok(C::RegionIs(s.to_string())),
        ("sensitivity", Literal::Long(n)) => Ok(C::Sensitivity(Compare::Eq, *n)),
        ("state", Literal::String(s)) => Ok(match s.as_str() {
            super::STATE_DELETED => C::Deleted,
            super::STATE_ACTIVE => C::not(C::Deleted),
            _ => C::False,
        }),
        // Values of another type are never equal (Cedar's `==` does not error on them).
        ("owner" | "team" | "region", _) => Ok(C::and(vec![presence(attr)?, C::False])),
        _ => Err(Untranslatable),
    }
}

fn user_id(uid: &cedar_policy::pst::EntityUID) -> Result<Uuid, Untranslatable> {
    if uid.ty.to_string() != "User" {
        // An entity of another type is never a user; compare with an id no user has.
        return Ok(Uuid::nil());
    }
    Uuid::parse_str(&uid.eid).map_err(|_| Untranslatable)
}

fn mirror(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::Less => BinaryOp::Greater,
        BinaryOp::LessEq => BinaryOp::GreaterEq,
        BinaryOp::Greater => BinaryOp::Less,
        BinaryOp::GreaterEq => BinaryOp::LessEq,
        other => other,
    }
}

fn negate(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::Less => BinaryOp::GreaterEq,
        BinaryOp::LessEq => BinaryOp::Greater,
        BinaryOp::Greater => BinaryOp::LessEq,
        BinaryOp::GreaterEq => BinaryOp::Less,
        other => other,
    }
}

fn compare(op: BinaryOp) -> Compare {
    match op {
        BinaryOp::Less => Compare::Less,
        BinaryOp::LessEq => Compare::LessEq,
        BinaryOp::Greater => Compare::Greater,
        _ => Compare::GreaterEq,
    }
}
