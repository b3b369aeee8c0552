use super::*;
use custodian_store::access::{AccessCondition as C, Compare};

fn engine() -> Authz {
    Authz::new(model::DEFAULT_POLICIES, 1).unwrap()
}

fn user(n: u128, roles: &[&str], team: Option<&str>, region: Option<&str>) -> Principal {
    Principal {
        user_id: Uuid::from_u128(n),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        team: team.map(str::to_owned),
        department: None,
        region: region.map(str::to_owned),
        mfa: false,
        clearance: 0,
        training_current: false,
    }
}

fn ctx() -> RequestContext {
    RequestContext {
        now_ms: 1_790_000_000_000,
        ip: Some("198.51.100.7".parse().unwrap()),
        session_age_secs: 60,
        stepped_up: false,
        via_token: false,
    }
}

fn record(owner: Option<u128>, team: Option<&str>, region: Option<&str>) -> RecordAttrs {
    RecordAttrs {
        id: Uuid::from_u128(999),
        owner: owner.map(Uuid::from_u128),
        team: team.map(str::to_owned),
        region: region.map(str::to_owned),
        sensitivity: 0,
        deleted: false,
        case_handlers: Vec::new(),
    }
}

fn allowed(e: &Authz, p: &Principal, action: Action, r: &RecordAttrs) -> bool {
    e.is_allowed(p, action, Resource::Record(RecordType::Contact, r), &ctx())
        .unwrap()
}

/// The condition evaluated in memory, as the SQL would.
fn holds(c: &C, r: &RecordAttrs) -> bool {
    match c {
        C::True => true,
        C::False => false,
        C::And(parts) => parts.iter().all(|p| holds(p, r)),
        C::Or(parts) => parts.iter().any(|p| holds(p, r)),
        C::Not(inner) => !holds(inner, r),
        C::OwnerSet => r.owner.is_some(),
        C::OwnerIs(u) => r.owner == Some(*u),
        C::TeamSet => r.team.is_some(),
        C::TeamIs(t) => r.team.as_deref() == Some(t.as_str()),
        C::RegionSet => r.region.is_some(),
        C::RegionIs(g) => r.region.as_deref() == Some(g.as_str()),
        C::Sensitivity(op, v) => match op {
            Compare::Less => r.sensitivity < *v,
            Compare::LessEq => r.sensitivity <= *v,
            Compare::Greater => r.sensitivity > *v,
            Compare::GreaterEq => r.sensitivity >= *v,
            Compare::Eq => r.sensitivity == *v,
            Compare::NotEq => r.sensitivity != *v,
        },
        C::Deleted => r.deleted,
        C::CaseHandler(u) => r.case_handlers.contains(u),
    }
}

fn all_records() -> Vec<RecordAttrs> {
    let mut out = Vec::new();
    for owner in [None, Some(1), Some(2)] {
        for team in [None, Some("north"), Some("south")] {
            for region in [None, Some("cn"), Some("eu")] {
                for sensitivity in [0, 2] {
                    for deleted in [false, true] {
                        for handlers in [vec![], vec![Uuid::from_u128(1)]] {
                            let mut r = record(owner, team, region);
                            r.sensitivity = sensitivity;
                            r.deleted = deleted;
                            r.case_handlers = handlers;
                            out.push(r);
                        }
                    }
                }
            }
        }
    }
    out
}

#[test]
fn the_schema_and_default_policies_validate() {
    let e = engine();
    assert!(e.validate(model::DEFAULT_POLICIES).is_ok());
    assert!(Authz::schema_text().contains("action \"contact_details.reveal\""));
}

#[test]
fn every_action_the_code_asks_about_is_in_the_schema() {
    let schema = Authz::schema().unwrap();
    let actions: HashSet<String> = schema
        .actions()
        .map(|a| a.id().unescaped().to_owned())
        .collect();
    for action in Action::all() {
        assert!(actions.contains(&action.id()), "{}", action.id());
        assert_eq!(Action::parse(&action.id()), Some(action));
    }
}

#[test]
fn a_policy_naming_an_unknown_attribute_or_action_is_refused() {
    let e = engine();
    assert!(matches!(
        e.validate("permit(principal, action, resource) when { resource.colour == \"red\" };"),
        Err(PolicyError::Invalid(_))
    ));
    assert!(matches!(
        e.validate("permit(principal, action == Action::\"steal\", resource);"),
        Err(PolicyError::Invalid(_))
    ));
    assert!(matches!(
        e.validate("permit(principal, action, resource"),
        Err(PolicyError::Parse(_))
    ));
}

#[test]
fn sales_see_their_own_and_their_teams_records_in_their_region() {
    let e = engine();
    let sales = user(1, &["sales"], Some("north"), Some("cn"));
    let read = Action::Record(RecordAction::Read);
    assert!(allowed(&e, &sales, read, &record(Some(1), None, None)));
    assert!(allowed(
        &e,
        &sales,
        read,
        &record(Some(2), Some("north"), Some("cn"))
    ));
    assert!(!allowed(
        &e,
        &sales,
        read,
        &record(Some(2), Some("south"), Some("cn"))
    ));
    // Their own record, but in another territory.
    assert!(!allowed(
        &e,
        &sales,
        read,
        &record(Some(1), None, Some("eu"))
    ));
    let details = Action::Field(FieldGroup::ContactDetails, FieldAccess::Read);
    assert!(allowed(&e, &sales, details, &record(Some(1), None, None)));
    let prefs = Action::Field(FieldGroup::PreferencesFeedback, FieldAccess::Read);
    assert!(!allowed(&e, &sales, prefs, &record(Some(1), None, None)));
}

#[test]
fn marketing_see_preferences_and_only_masked_contact_details() {
    let e = engine();
    let m = user(5, &["marketing"], None, Some("cn"));
    let r = record(Some(1), Some("north"), Some("cn"));
    assert!(allowed(&e, &m, Action::Record(RecordAction::Read), &r));
    assert!(!allowed(&e, &m, Action::Record(RecordAction::Update), &r));
    let group = |g, a| Action::Field(g, a);
    assert!(allowed(
        &e,
        &m,
        group(FieldGroup::PreferencesFeedback, FieldAccess::Read),
        &r
    ));
    assert!(!allowed(
        &e,
        &m,
        group(FieldGroup::ContactDetails, FieldAccess::Read),
        &r
    ));
    assert!(allowed(
        &e,
        &m,
        group(FieldGroup::ContactDetails, FieldAccess::ReadMasked),
        &r
    ));
    // Reveal needs a recent step-up.
    let reveal = group(FieldGroup::ContactDetails, FieldAccess::Reveal);
    assert!(!allowed(&e, &m, reveal, &r));
    let stepped = RequestContext {
        stepped_up: true,
        ..ctx()
    };
    assert!(
        e.is_allowed(
            &m,
            reveal,
            Resource::Record(RecordType::Contact, &r),
            &stepped
        )
        .unwrap()
    );
}

#[test]
fn administration_and_customer_data_are_separate() {
    let e = engine();
    let admin = user(7, &["administrator"], None, None);
    let r = record(Some(7), None, None);
    assert!(!allowed(&e, &admin, Action::Record(RecordAction::Read), &r));
    let users = Action::System(SystemAction::ManageUsers);
    assert!(
        e.is_allowed(&admin, users, Resource::System, &ctx())
            .unwrap()
    );
    for role in ["auditor", "security_officer"] {
        let p = user(8, &[role], None, None);
        assert!(
            !allowed(&e, &p, Action::Record(RecordAction::Read), &r),
            "{role}"
        );
        assert!(
            !e.is_allowed(&p, users, Resource::System, &ctx()).unwrap(),
            "{role}"
        );
    }
    let auditor = user(8, &["auditor"], None, None);
    let audit = Action::System(SystemAction::ReadAudit);
    assert!(
        e.is_allowed(&auditor, audit, Resource::System, &ctx())
            .unwrap()
    );
}

#[test]
fn explanations_name_the_deciding_policies() {
    let e = engine();
    let sales = user(1, &["sales"], None, Some("cn"));
    let read = Action::Record(RecordAction::Read);
    let own = record(Some(1), None, Some("cn"));
    let x = e
        .decide(
            &sales,
            read,
            Resource::Record(RecordType::Contact, &own),
            &ctx(),
        )
        .unwrap();
    assert!(x.allowed);
    assert_eq!(x.policies, vec!["sales.records".to_owned()]);
    let elsewhere = record(Some(1), None, Some("eu"));
    let x = e
        .decide(
            &sales,
            read,
            Resource::Record(RecordType::Contact, &elsewhere),
            &ctx(),
        )
        .unwrap();
    assert!(!x.allowed);
    assert_eq!(x.policies, vec!["region.territory".to_owned()]);
    let nobody = user(2, &[], None, None);
    let unplaced = record(Some(2), None, None);
    let x = e
        .decide(
            &nobody,
            read,
            Resource::Record(RecordType::Contact, &unplaced),
            &ctx(),
        )
        .unwrap();
    assert!(!x.allowed);
    assert!(x.policies.is_empty());
}

#[test]
fn the_sales_list_condition_is_exact_and_readable() {
    let e = engine();
    let sales = user(1, &["sales"], Some("north"), Some("cn"));
    let f = e
        .record_filter(
            &sales,
            Action::Record(RecordAction::Read),
            RecordType::Contact,
            &ctx(),
        )
        .unwrap();
    assert!(f.exact);
    let text = format!("{:?}", f.condition);
    assert!(text.contains("OwnerIs"), "{text}");
    assert!(text.contains("TeamIs(\"north\")"), "{text}");
    assert!(text.contains("RegionIs(\"cn\")"), "{text}");
}

#[test]
fn roles_without_record_access_get_an_empty_condition_and_all_records_an_open_one() {
    let e = engine();
    let admin = user(7, &["administrator"], None, None);
    let f = e
        .record_filter(
            &admin,
            Action::Record(RecordAction::Read),
            RecordType::Contact,
            &ctx(),
        )
        .unwrap();
    assert_eq!(f.condition, C::False);
    let everything = user(7, &["all_records"], None, None);
    let f = e
        .record_filter(
            &everything,
            Action::Record(RecordAction::Read),
            RecordType::Contact,
            &ctx(),
        )
        .unwrap();
    // Only clearance still limits them.
    assert!(f.exact);
    assert!(
        all_records()
            .iter()
            .all(|r| holds(&f.condition, r) == (r.sensitivity == 0))
    );
}

/// For every default role and many records, the list condition selects exactly the records
/// the full decision allows: the SQL and the per-record checks never disagree.
#[test]
fn list_conditions_agree_with_decisions_for_every_record() {
    let e = engine();
    let principals = [
        user(1, &["sales"], Some("north"), Some("cn")),
        user(1, &["sales"], None, None),
        user(1, &["marketing"], None, Some("eu")),
        user(1, &["support"], None, Some("cn")),
        user(1, &["manager"], Some("south"), Some("cn")),
        user(1, &["manager", "all_regions"], Some("south"), None),
        user(1, &["privacy_officer"], None, Some("eu")),
        user(1, &["sales", "marketing"], Some("north"), None),
        user(1, &["auditor"], None, None),
    ];
    let records = all_records();
    for p in &principals {
        for action in [
            RecordAction::Read,
            RecordAction::Update,
            RecordAction::Delete,
        ] {
            let f = e
                .record_filter(p, Action::Record(action), RecordType::Contact, &ctx())
                .unwrap();
            assert!(f.exact, "{:?} {action:?}", p.roles);
            for r in &records {
                let decided = e
                    .is_allowed(
                        p,
                        Action::Record(action),
                        Resource::Record(RecordType::Contact, r),
                        &ctx(),
                    )
                    .unwrap();
                assert_eq!(
                    holds(&f.condition, r),
                    decided,
                    "{:?} {action:?} {r:?} {:?}",
                    p.roles,
                    f.condition
                );
            }
        }
    }
}

#[test]
fn a_custom_policy_outside_the_translated_subset_widens_the_condition_and_says_so() {
    let e = engine();
    let text = format!(
        "{}\n@id(\"custom.like\") permit(principal in Role::\"sales\", action == Action::\"read\", resource) when {{ resource has team && resource.team like \"n*\" }};",
        model::DEFAULT_POLICIES
    );
    e.install(&text, 2).unwrap();
    assert_eq!(e.version(), 2);
    let sales = user(1, &["sales"], None, None);
    let f = e
        .record_filter(
            &sales,
            Action::Record(RecordAction::Read),
            RecordType::Contact,
            &ctx(),
        )
        .unwrap();
    assert!(!f.exact);
    // Wider, never narrower, than the decisions.
    for r in all_records() {
        let decided = allowed(&e, &sales, Action::Record(RecordAction::Read), &r);
        assert!(!decided || holds(&f.condition, &r), "{r:?}");
    }
}
