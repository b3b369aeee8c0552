//! Record-level access conditions, as the authorization layer derives them from its policies,
//! turned into SQL over a record table's access columns. Every atom is two-valued (a NULL
//! column makes it false, never NULL), so `Not` is exact and a condition never lets a row
//! through by SQL's three-valued logic.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query};
use uuid::Uuid;

/// A comparison of a record's sensitivity with a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    Less,
    LessEq,
    Greater,
    GreaterEq,
    Eq,
    NotEq,
}

/// A condition on a record's access attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessCondition {
    True,
    False,
    And(Vec<AccessCondition>),
    Or(Vec<AccessCondition>),
    Not(Box<AccessCondition>),
    /// The record has an owner.
    OwnerSet,
    OwnerIs(Uuid),
    TeamSet,
    TeamIs(String),
    RegionSet,
    RegionIs(String),
    Sensitivity(Compare, i64),
    /// The record is (soft-)deleted.
    Deleted,
    /// A complaint about the contact is assigned to this user (contacts only).
    CaseHandler(Uuid),
}

impl AccessCondition {
    /// `And`, folding constants so the SQL stays what a person would write.
    pub fn and(parts: Vec<AccessCondition>) -> AccessCondition {
        let mut kept = Vec::new();
        for part in parts {
            match part {
                AccessCondition::True => {}
                AccessCondition::False => return AccessCondition::False,
                AccessCondition::And(inner) => kept.extend(inner),
                other => kept.push(other),
            }
        }
        match kept.len() {
            0 => AccessCondition::True,
            1 => kept.pop().unwrap_or(AccessCondition::True),
            _ => AccessCondition::And(kept),
        }
    }

    /// `Or`, folding constants.
    pub fn or(parts: Vec<AccessCondition>) -> AccessCondition {
        let mut kept = Vec::new();
        for part in parts {
            match part {
                AccessCondition::False => {}
                AccessCondition::True => return AccessCondition::True,
                AccessCondition::Or(inner) => kept.extend(inner),
                other => kept.push(other),
            }
        }
        match kept.len() {
            0 => AccessCondition::False,
            1 => kept.pop().unwrap_or(AccessCondition::False),
            _ => AccessCondition::Or(kept),
        }
    }

    /// `Not`, folding constants and double negation.
    #[allow(clippy::should_implement_trait)]
    pub fn not(inner: AccessCondition) -> AccessCondition {
        match inner {
            AccessCondition::True => AccessCondition::False,
            AccessCondition::False => AccessCondition::True,
            AccessCondition::Not(inner) => *inner,
            other => AccessCondition::Not(Box::new(other)),
        }
    }
}

/// The access columns of one record table.
#[derive(Debug, Clone, Copy)]
pub struct AccessColumns {
    pub table: &'static str,
    pub owner: Option<&'static str>,
    pub team: Option<&'static str>,
    pub region: Option<&'static str>,
    pub sensitivity: Option<&'static str>,
    pub deleted_at: &'static str,
}

pub const CONTACTS: AccessColumns = AccessColumns {
    table: "contacts",
    owner: Some("owner_id"),
    team: Some("team"),
    region: Some("region"),
    sensitivity: Some("sensitivity"),
    deleted_at: "deleted_at",
};

pub const COMPANIES: AccessColumns = AccessColumns {
    table: "companies",
    owner: Some("owner_id"),
    team: Some("team"),
    region: Some("region"),
    sensitivity: Some("sensitivity"),
    deleted_at: "deleted_at",
};

pub const DEALS: AccessColumns = AccessColumns {
    table: "deals",
    owner: Some("owner_id"),
    team: Some("team"),
    region: Some("region"),
    sensitivity: Some("sensitivity"),
    deleted_at: "deleted_at",
};

pub const LEADS: AccessColumns = AccessColumns {
    table: "leads",
    owner: Some("owner_id"),
    team: Some("team"),
    region: Some("region"),
    sensitivity: Some("sensitivity"),
    deleted_at: "deleted_at",
};

pub const ORDERS: AccessColumns = AccessColumns {
    table: "orders",
    owner: Some("owner_id"),
    team: Some("team"),
    region: Some("region"),
    sensitivity: Some("sensitivity"),
    deleted_at: "deleted_at",
};

pub const ACTIVITIES: AccessColumns = AccessColumns {
    table: "activities",
    owner: Some("owner_id"),
    team: Some("team"),
    region: Some("region"),
    sensitivity: Some("sensitivity"),
    deleted_at: "deleted_at",
};

pub const TASKS: AccessColumns = AccessColumns {
    table: "tasks",
    owner: Some("assignee_id"),
    team: Some("team"),
    region: Some("region"),
    sensitivity: Some("sensitivity"),
    deleted_at: "deleted_at",
};

pub const COMPLAINTS: AccessColumns = AccessColumns {
    table: "complaints",
    owner: Some("assignee_id"),
    team: Some("team"),
    region: Some("region"),
    sensitivity: Some("sensitivity"),
    deleted_at: "deleted_at",
};

pub const SURVEY_RESPONSES: AccessColumns = AccessColumns {
    table: "survey_responses",
    owner: Some("recorded_by"),
    team: Some("team"),
    region: Some("region"),
    sensitivity: Some("sensitivity"),
    deleted_at: "deleted_at",
};

/// An access column as a value, not as something an index can serve: `COALESCE(col, NULL)`.
/// The access condition is an OR of owner, team and region terms; given indexes on those
/// columns SQLite serves it as a multi-index OR and then sorts every visible row for the
/// page (at 1,000,000 contacts a team-restricted list took 0.3 s). As a plain filter the
/// list walks its sort index and stops when the page is full (0.2 ms). A user who can see
/// only a sliver of a large table pays by scanning further before the page fills.
fn column(columns: &AccessColumns, name: Option<&'static str>) -> Option<Expr> {
    name.map(|n| {
        Func::coalesce([
            Expr::col((Alias::new(columns.table), Alias::new(n))),
            Expr::cust("NULL"),
        ])
        .into()
    })
}

/// The condition as a SQL expression over `columns`. An attribute the table does not have is
/// absent on every row (the `*Set` atoms are false, comparisons with it false).
pub fn to_sql(condition: &AccessCondition, columns: &AccessColumns) -> Expr {
    use AccessCondition as C;
    let present_and =
        |name: Option<&'static str>, f: &dyn Fn(Expr) -> Expr| match column(columns, name) {
            Some(col) => col.clone().is_not_null().and(f(col)),
            None => Expr::val(false),
        };
    match condition {
        C::True => Expr::val(true),
        C::False => Expr::val(false),
        C::And(parts) => parts
            .iter()
            .map(|p| to_sql(p, columns))
            .reduce(|a, b| a.and(b))
            .unwrap_or_else(|| Expr::val(true)),
        C::Or(parts) => parts
            .iter()
            .map(|p| to_sql(p, columns))
            .reduce(|a, b| a.or(b))
            .unwrap_or_else(|| Expr::val(false)),
        C::Not(inner) => to_sql(inner, columns).not(),
        C::OwnerSet => present_and(columns.owner, &|_| Expr::val(true)),
        C::OwnerIs(id) => present_and(columns.owner, &|col| col.eq(*id)),
        C::TeamSet => present_and(columns.team, &|_| Expr::val(true)),
        C::TeamIs(team) => present_and(columns.team, &|col| col.eq(team.as_str())),
        C::RegionSet => present_and(columns.region, &|_| Expr::val(true)),
        C::RegionIs(region) => present_and(columns.region, &|col| col.eq(region.as_str())),
        C::Sensitivity(op, value) => {
            // A table without the column holds only ordinary (0) records.
            let col: Expr = match column(columns, columns.sensitivity) {
                Some(col) => col,
                None => Expr::val(0i64),
            };
            let value = *value;
            match op {
                Compare::Less => col.lt(value),
                Compare::LessEq => col.lte(value),
                Compare::Greater => col.gt(value),
                Compare::GreaterEq => col.gte(value),
                Compare::Eq => col.eq(value),
                Compare::NotEq => col.ne(value),
            }
        }
        C::Deleted => {
            Expr::col((Alias::new(columns.table), Alias::new(columns.deleted_at))).is_not_null()
        }
        C::CaseHandler(user) => {
            if columns.table != "contacts" {
                return Expr::val(false);
            }
            Expr::exists(
                Query::select()
                    .expr(Expr::val(1))
                    .from(Alias::new("complaints"))
                    .and_where(
                        Expr::col((Alias::new("complaints"), Alias::new("contact_id")))
                            .equals((Alias::new("contacts"), Alias::new("id"))),
                    )
                    .and_where(
                        Expr::col((Alias::new("complaints"), Alias::new("assignee_id"))).eq(*user),
                    )
                    .to_owned(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_fold() {
        use AccessCondition as C;
        assert_eq!(C::and(vec![C::True, C::TeamSet]), C::TeamSet);
        assert_eq!(C::and(vec![C::TeamSet, C::False]), C::False);
        assert_eq!(C::or(vec![C::False, C::False]), C::False);
        assert_eq!(C::or(vec![C::TeamSet, C::True]), C::True);
        assert_eq!(C::not(C::not(C::RegionSet)), C::RegionSet);
        assert_eq!(
            C::and(vec![C::and(vec![C::TeamSet, C::RegionSet]), C::OwnerSet]),
            C::And(vec![C::TeamSet, C::RegionSet, C::OwnerSet])
        );
    }
}
