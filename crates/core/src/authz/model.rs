//! The vocabulary policies are written in: entity types, field groups, actions and the request
//! context. The Cedar schema is generated from these lists, so a policy naming something the
//! code does not know is refused when it is validated, and the code cannot ask about an action
//! the schema lacks (a unit test checks every action against the schema).

use std::fmt::Write as _;

/// A kind of customer record. Every record carries the same access attributes: owner, team,
/// region, sensitivity and lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    Contact,
    Company,
    Deal,
    Lead,
    Activity,
    Task,
    Order,
    Complaint,
    SurveyResponse,
}

impl RecordType {
    pub const ALL: [RecordType; 9] = [
        RecordType::Contact,
        RecordType::Company,
        RecordType::Deal,
        RecordType::Lead,
        RecordType::Activity,
        RecordType::Task,
        RecordType::Order,
        RecordType::Complaint,
        RecordType::SurveyResponse,
    ];

    /// The Cedar entity type name.
    pub fn cedar_type(self) -> &'static str {
        match self {
            RecordType::Contact => "Contact",
            RecordType::Company => "Company",
            RecordType::Deal => "Deal",
            RecordType::Lead => "Lead",
            RecordType::Activity => "Activity",
            RecordType::Task => "Task",
            RecordType::Order => "Order",
            RecordType::Complaint => "Complaint",
            RecordType::SurveyResponse => "SurveyResponse",
        }
    }

    /// The collection (list, export, import) this record type belongs to.
    pub fn collection(self) -> &'static str {
        match self {
            RecordType::Contact => "contacts",
            RecordType::Company => "companies",
            RecordType::Deal => "deals",
            RecordType::Lead => "leads",
            RecordType::Activity => "activities",
            RecordType::Task => "tasks",
            RecordType::Order => "orders",
            RecordType::Complaint => "complaints",
            RecordType::SurveyResponse => "surveys",
        }
    }

    /// The name in "not found" errors (`contact`, `company`, …).
    pub fn entity_name(self) -> &'static str {
        match self {
            RecordType::Contact => "contact",
            RecordType::Company => "company",
            RecordType::Deal => "deal",
            RecordType::Lead => "lead",
            RecordType::Activity => "activity",
            RecordType::Task => "task",
            RecordType::Order => "order",
            RecordType::Complaint => "complaint",
            RecordType::SurveyResponse => "survey response",
        }
    }
}

/// Fields that are granted together. A record's identifying fields (a contact's name, a
/// company's name, a deal's title) and its access attributes come with reading the record;
/// everything personal or commercially sensitive beyond that is in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldGroup {
    /// E-mail addresses, phone numbers, postal address.
    ContactDetails,
    /// Orders and per-customer purchase totals.
    PurchaseHistory,
    /// Communication preferences, product interests, survey answers and complaints.
    PreferencesFeedback,
    /// Deal amounts and order values.
    Financials,
    /// Free-text notes and activity bodies.
    Notes,
    /// Custom fields classified sensitive.
    SensitiveCustom,
}

impl FieldGroup {
    pub const ALL: [FieldGroup; 6] = [
        FieldGroup::ContactDetails,
        FieldGroup::PurchaseHistory,
        FieldGroup::PreferencesFeedback,
        FieldGroup::Financials,
        FieldGroup::Notes,
        FieldGroup::SensitiveCustom,
    ];

    pub fn code(self) -> &'static str {
        match self {
            FieldGroup::ContactDetails => "contact_details",
            FieldGroup::PurchaseHistory => "purchase_history",
            FieldGroup::PreferencesFeedback => "preferences_feedback",
            FieldGroup::Financials => "financials",
            FieldGroup::Notes => "notes",
            FieldGroup::SensitiveCustom => "sensitive_custom",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.code() == code)
    }
}

/// What may be done to one field group of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldAccess {
    Read,
    /// See that a value exists in masked form (`zh***@e***.com`).
    ReadMasked,
    Update,
    /// Show a masked value in full, once, after step-up; audited.
    Reveal,
}

impl FieldAccess {
    pub const ALL: [FieldAccess; 4] = [
        FieldAccess::Read,
        FieldAccess::ReadMasked,
        FieldAccess::Update,
        FieldAccess::Reveal,
    ];

    fn suffix(self) -> &'static str {
        match self {
            FieldAccess::Read => "read",
            FieldAccess::ReadMasked => "read_masked",
            FieldAccess::Update => "update",
            FieldAccess::Reveal => "reveal",
        }
    }
}

/// Whole-record actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordAction {
    Read,
    Create,
    Update,
    Delete,
    Restore,
}

impl RecordAction {
    pub const ALL: [RecordAction; 5] = [
        RecordAction::Read,
        RecordAction::Create,
        RecordAction::Update,
        RecordAction::Delete,
        RecordAction::Restore,
    ];

    fn id(self) -> &'static str {
        match self {
            RecordAction::Read => "read",
            RecordAction::Create => "create",
            RecordAction::Update => "update",
            RecordAction::Delete => "delete",
            RecordAction::Restore => "restore",
        }
    }
}

/// Actions on a whole collection (`Collection::"contacts"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CollectionAction {
    List,
    Export,
    Import,
    /// Decide on someone else's request for a bulk export (never one's own).
    ApproveExport,
}

impl CollectionAction {
    pub const ALL: [CollectionAction; 4] = [
        CollectionAction::List,
        CollectionAction::Export,
        CollectionAction::Import,
        CollectionAction::ApproveExport,
    ];

    fn id(self) -> &'static str {
        match self {
            CollectionAction::List => "list",
            CollectionAction::Export => "export",
            CollectionAction::Import => "import",
            CollectionAction::ApproveExport => "approve_export",
        }
    }
}

/// Functions outside customer data, on `System::"custodian"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SystemAction {
    /// Users, invitations, MFA rules, account links, throttles.
    ManageUsers,
    /// Role assignments.
    ManageRoles,
    /// Authorization policies.
    ManagePolicies,
    /// Pipelines, custom fields, the product catalogue.
    ManageSettings,
    /// Key rotation and destruction.
    ManageKeys,
    /// Backups and restores.
    ManageBackups,
    /// The audit log and audit reports.
    ReadAudit,
    /// Everyone's sessions and security events, alerts.
    MonitorSecurity,
    /// Key versions and rotation progress (not the keys).
    ReadKeyStatus,
    /// Data-subject requests and consent records.
    ManagePrivacy,
}

impl SystemAction {
    pub const ALL: [SystemAction; 10] = [
        SystemAction::ManageUsers,
        SystemAction::ManageRoles,
        SystemAction::ManagePolicies,
        SystemAction::ManageSettings,
        SystemAction::ManageKeys,
        SystemAction::ManageBackups,
        SystemAction::ReadAudit,
        SystemAction::MonitorSecurity,
        SystemAction::ReadKeyStatus,
        SystemAction::ManagePrivacy,
    ];

    fn id(self) -> &'static str {
        match self {
            SystemAction::ManageUsers => "admin.users",
            SystemAction::ManageRoles => "admin.roles",
            SystemAction::ManagePolicies => "admin.policies",
            SystemAction::ManageSettings => "admin.settings",
            SystemAction::ManageKeys => "admin.keys",
            SystemAction::ManageBackups => "admin.backups",
            SystemAction::ReadAudit => "audit.read",
            SystemAction::MonitorSecurity => "security.monitor",
            SystemAction::ReadKeyStatus => "security.key_status",
            SystemAction::ManagePrivacy => "privacy.manage",
        }
    }
}

/// Any action the code asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Record(RecordAction),
    Field(FieldGroup, FieldAccess),
    Collection(CollectionAction),
    System(SystemAction),
}

impl Action {
    /// The Cedar action id (`Action::"<id>"`).
    pub fn id(self) -> String {
        match self {
            Action::Record(a) => a.id().to_owned(),
            Action::Field(group, access) => format!("{}.{}", group.code(), access.suffix()),
            Action::Collection(a) => a.id().to_owned(),
            Action::System(a) => a.id().to_owned(),
        }
    }

    /// Every action, in schema order.
    pub fn all() -> Vec<Action> {
        let mut all: Vec<Action> = RecordAction::ALL.into_iter().map(Action::Record).collect();
        for group in FieldGroup::ALL {
            for access in FieldAccess::ALL {
                all.push(Action::Field(group, access));
            }
        }
        all.extend(CollectionAction::ALL.into_iter().map(Action::Collection));
        all.extend(SystemAction::ALL.into_iter().map(Action::System));
        all
    }

    pub fn parse(id: &str) -> Option<Action> {
        Self::all().into_iter().find(|a| a.id() == id)
    }
}

/// Roles shipped with every installation. Their permissions are the default policies; an
/// administrator may add roles, whose permissions are whatever policies name them.
pub const BUILTIN_ROLES: &[&str] = &[
    ROLE_ADMINISTRATOR,
    "sales",
    "marketing",
    "support",
    "manager",
    "auditor",
    "privacy_officer",
    "security_officer",
    ROLE_ALL_REGIONS,
    ROLE_ALL_RECORDS,
];

pub const ROLE_ADMINISTRATOR: &str = "administrator";
/// A grant added to a data role: records of every region, not only the user's own.
pub const ROLE_ALL_REGIONS: &str = "all_regions";
/// Salesforce's "modify all data": every record and field group, every region. Given to the
/// first administrator of a new installation (someone must be able to work with the data)
/// and to be handed on and removed as the organisation grows.
pub const ROLE_ALL_RECORDS: &str = "all_records";

/// The Cedar schema, generated from the lists above.
pub fn schema_text() -> String {
    let mut s = String::new();
    s.push_str(
        "// Generated by Custodian from its authorization model; policies are validated against it.\n\
         entity Role;\n\
         entity User in [Role] = {\n  \
           \"team\"?: String,\n  \
           \"department\"?: String,\n  \
           \"region\"?: String,\n  \
           \"mfa\": Bool,\n  \
           \"clearance\": Long,\n  \
           \"training_current\": Bool,\n\
         };\n\
         entity System;\n\
         entity Collection;\n",
    );
    for record in RecordType::ALL {
        let extra = if record == RecordType::Contact {
            "  \"case_handlers\": Set<User>,\n"
        } else {
            ""
        };
        let _ = write!(
            s,
            "entity {} = {{\n  \"owner\"?: User,\n  \"team\"?: String,\n  \"region\"?: String,\n  \"sensitivity\": Long,\n  \"state\": String,\n{extra}}};\n",
            record.cedar_type()
        );
    }
    s.push_str(
        "type RequestContext = {\n  \
           \"hour\": Long,\n  \
           \"weekday\": Long,\n  \
           \"ip\"?: ipaddr,\n  \
           \"session_age_secs\": Long,\n  \
           \"stepped_up\": Bool,\n  \
           \"via_token\": Bool,\n\
         };\n",
    );
    let records = RecordType::ALL
        .iter()
        .map(|r| r.cedar_type())
        .collect::<Vec<_>>()
        .join(", ");
    let applies = |resource: &str| {
        format!(
            " appliesTo {{ principal: [User], resource: [{resource}], context: RequestContext }};\n"
        )
    };
    for action in Action::all() {
        let resource = match action {
            Action::Record(_) | Action::Field(..) => records.as_str(),
            Action::Collection(_) => "Collection",
            Action::System(_) => "System",
        };
        let _ = write!(s, "action \"{}\"{}", action.id(), applies(resource));
    }
    s
}

/// The policies a new installation starts with.
pub const DEFAULT_POLICIES: &str = include_str!("default.cedar");
