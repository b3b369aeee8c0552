//! Micro-benchmark: one authorization decision by the Cedar policies (the request's entities
//! built — principal with its roles, the record with its attributes — then evaluated against
//! the default policies), against the same rule hand-written in Rust (the baseline, measured
//! in the same run). Also prints the decision's p50/p99 over single, separately timed calls.

use criterion::{Criterion, criterion_group, criterion_main};
use custodian_core::authz::model::DEFAULT_POLICIES;
use custodian_core::authz::{
    Action, Authz, FieldAccess, FieldGroup, Principal, RecordAction, RecordAttrs, RecordType,
    RequestContext, Resource,
};
use std::hint::black_box;
use uuid::Uuid;

fn sales_user() -> Principal {
    Principal {
        user_id: Uuid::from_u128(1),
        roles: vec!["sales".to_owned()],
        team: Some("china-sales".to_owned()),
        department: None,
        region: Some("cn".to_owned()),
        mfa: true,
        clearance: 0,
        training_current: false,
    }
}

fn team_contact() -> RecordAttrs {
    RecordAttrs {
        id: Uuid::from_u128(2),
        owner: Some(Uuid::from_u128(3)),
        team: Some("china-sales".to_owned()),
        region: Some("cn".to_owned()),
        sensitivity: 0,
        deleted: false,
        case_handlers: Vec::new(),
    }
}

const CTX: RequestContext = RequestContext {
    now_ms: 1_790_000_000_000,
    ip: None,
    session_age_secs: 60,
    stepped_up: false,
    via_token: false,
};

/// The default policies' answer for a sales user reading a record, written by hand.
fn hand_written(p: &Principal, r: &RecordAttrs) -> bool {
    let sales = p.roles.iter().any(|role| role == "sales");
    let mine = r.owner == Some(p.user_id) || (p.team.is_some() && r.team == p.team);
    let territory = r.region.is_none() || r.region == p.region;
    sales && mine && territory && r.sensitivity <= p.clearance
}

fn decisions(c: &mut Criterion) {
    let authz = Authz::new(DEFAULT_POLICIES, 0).unwrap_or_else(|_| std::process::abort());
    let principal = sales_user();
    let record = team_contact();
    let read = Action::Record(RecordAction::Read);
    let details = Action::Field(FieldGroup::ContactDetails, FieldAccess::Read);
    assert!(hand_written(&principal, &record));
    let mut group = c.benchmark_group("authorization");
    group.bench_function("baseline_hand_written_rule", |b| {
        b.iter(|| black_box(hand_written(black_box(&principal), black_box(&record))))
    });
    for (name, action) in [
        ("cedar_read_contact", read),
        ("cedar_read_contact_details", details),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                black_box(authz.is_allowed(
                    black_box(&principal),
                    action,
                    Resource::Record(RecordType::Contact, black_box(&record)),
                    &CTX,
                ))
            })
        });
    }
    group.finish();
    latency_percentiles(&authz, &principal, &record);
}

/// p50 and p99 of single decisions, each timed on its own (criterion reports means).
#[allow(clippy::disallowed_methods, clippy::print_stdout)] // a pure latency metric, printed
fn latency_percentiles(authz: &Authz, principal: &Principal, record: &RecordAttrs) {
    let read = Action::Record(RecordAction::Read);
    let mut samples: Vec<u128> = (0..20_000)
        .map(|_| {
            let start = std::time::Instant::now();
            black_box(authz.is_allowed(
                principal,
                read,
                Resource::Record(RecordType::Contact, record),
                &CTX,
            ))
            .ok();
            start.elapsed().as_nanos()
        })
        .skip(1_000)
        .collect();
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
    println!(
        "authorization decision (Cedar, entities built per call): p50 {:.1} µs, p99 {:.1} µs  (target p99 ≤ 20 µs: {})",
        at(0.50),
        at(0.99),
        if at(0.99) <= 20.0 { "met" } else { "NOT met" }
    );
}

criterion_group!(benches, decisions);
criterion_main!(benches);
