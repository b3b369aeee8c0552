//! Authorization: Cedar policies over principals (users with roles and attributes), resources
//! (records with owner, team, region, sensitivity, state; collections; the system) and the
//! request's context. Every use case asks here; nothing is allowed that no policy permits.
//!
//! Three questions are answered:
//! - *may this principal do this to this resource?* ([`Authz::decide`], with the deciding
//!   policies for "explain");
//! - *which records of a type may they read?* ([`Authz::record_filter`]: the policies
//!   partially evaluated with the record unknown, the residuals translated into a condition
//!   the store runs in SQL, so pages stay full and keyset pagination stays correct);
//! - *is this policy text acceptable?* ([`Authz::validate`]).

mod enforce;
pub mod fields;
pub mod model;
mod residual;

pub use model::{
    Action, CollectionAction, FieldAccess, FieldGroup, RecordAction, RecordType, SystemAction,
};

use cedar_policy::{
    Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, PartialEntities,
    PartialEntityUid, PartialRequest, PolicySet, Request, RestrictedExpression, Schema,
    ValidationMode, Validator,
};
use custodian_store::access::AccessCondition;
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use uuid::Uuid;

pub(crate) const STATE_ACTIVE: &str = "active";
pub(crate) const STATE_DELETED: &str = "deleted";

/// Why a policy set was refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PolicyError {
    #[error("the policies do not parse: {0}")]
    Parse(String),
    #[error("the policies do not match the authorization model: {0}")]
    Invalid(String),
}

/// The user a decision is about, with what policies may test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: Uuid,
    pub roles: Vec<String>,
    pub team: Option<String>,
    pub department: Option<String>,
    pub region: Option<String>,
    /// The user has a second factor.
    pub mfa: bool,
    pub clearance: i64,
    /// Filled by the training feature; false until then.
    pub training_current: bool,
}

/// The request's circumstances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestContext {
    /// Now, in Unix milliseconds (hour and weekday are taken in UTC).
    pub now_ms: i64,
    pub ip: Option<std::net::IpAddr>,
    pub session_age_secs: i64,
    /// The session confirmed the user recently (sign-in or step-up within the step-up window).
    pub stepped_up: bool,
    pub via_token: bool,
}

/// A record's access attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordAttrs {
    pub id: Uuid,
    pub owner: Option<Uuid>,
    pub team: Option<String>,
    pub region: Option<String>,
    pub sensitivity: i64,
    pub deleted: bool,
    /// Users a complaint about this contact is assigned to (contacts only).
    pub case_handlers: Vec<Uuid>,
}

/// What a decision is about.
#[derive(Debug, Clone, Copy)]
pub enum Resource<'a> {
    Record(RecordType, &'a RecordAttrs),
    Collection(RecordType),
    System,
}

/// A decision with the policies that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub allowed: bool,
    /// The permits that allowed it, or the forbids that denied it (empty: nothing permitted it).
    pub policies: Vec<String>,
    /// Policies that could not be evaluated for this request (they count as not applying).
    pub errors: Vec<String>,
}

/// The record condition for a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFilter {
    pub condition: AccessCondition,
    /// Some policy could not be expressed as a condition: the condition is wider than the
    /// policies and every row must still be decided one by one.
    pub exact: bool,
}

#[derive(Debug)]
struct Active {
    version: i64,
    policies: PolicySet,
    /// The policies whose scope can match a principal with these roles doing this action,
    /// by (roles, action): Cedar builds and evaluates every policy of the set it is given, so
    /// a decision over the few policies that can apply is several times faster. Bounded.
    slices: RwLock<HashMap<SliceKey, Arc<PolicySet>>>,
}

/// A principal's roles and an action id.
type SliceKey = (Vec<String>, String);

/// Slices kept before the cache starts over (role combinations × actions in use).
const MAX_SLICES: usize = 4096;

impl Active {
    fn new(version: i64, policies: PolicySet) -> Self {
        Active {
            version,
            policies,
            slices: RwLock::new(HashMap::new()),
        }
    }

    /// The policies that can apply to `principal` doing `action`. A policy is left out only
    /// when its scope names a role the principal does not hold, or actions that do not include
    /// this one (the schema has no action groups and roles have no parents, so such a policy
    /// can neither match nor fail); anything else is kept.
    fn slice(&self, principal: &Principal, action: &EntityUid) -> Arc<PolicySet> {
        let key = (principal.roles.clone(), action.id().unescaped().to_owned());
        if let Some(found) = self
            .slices
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return found.clone();
        }
        let mut sliced = PolicySet::new();
        for policy in self.policies.policies() {
            let role_ok = match policy.principal_constraint() {
                cedar_policy::PrincipalConstraint::In(uid)
                | cedar_policy::PrincipalConstraint::IsIn(_, uid)
                    if uid.type_name().to_string() == "Role" =>
                {
                    principal.roles.iter().any(|r| r == uid.id().unescaped())
                }
                _ => true,
            };
            let action_ok = match policy.action_constraint() {
                cedar_policy::ActionConstraint::Any => true,
                cedar_policy::ActionConstraint::Eq(a) => a == *action,
                cedar_policy::ActionConstraint::In(list) => list.contains(action),
            };
            if role_ok && action_ok && sliced.add(policy.clone()).is_err() {
                // Ids are unique in the full set; should adding fail, decide by the full set.
                return Arc::new(self.policies.clone());
            }
        }
        let sliced = Arc::new(sliced);
        let mut slices = self.slices.write().unwrap_or_else(|e| e.into_inner());
        if slices.len() >= MAX_SLICES {
            slices.clear();
        }
        slices.insert(key, sliced.clone());
        sliced
    }
}

/// The schema and the policies in force.
#[derive(Debug)]
pub struct Authz {
    schema: Schema,
    active: RwLock<Arc<Active>>,
}

fn uid(ty: &str, id: &str) -> Result<EntityUid, crate::CoreError> {
    let ty = EntityTypeName::from_str(ty).map_err(|_| crate::CoreError::Internal("entity type"))?;
    Ok(EntityUid::from_type_name_and_id(ty, EntityId::new(id)))
}

fn action_uid(action: Action) -> Result<EntityUid, crate::CoreError> {
    uid("Action", &action.id())
}

fn optional_string(
    attrs: &mut HashMap<String, RestrictedExpression>,
    name: &str,
    value: &Option<String>,
) {
    if let Some(v) = value {
        attrs.insert(name.to_owned(), RestrictedExpression::new_string(v.clone()));
    }
}

impl Authz {
    /// The engine with the given policies, which must parse and validate.
    pub fn new(policies: &str, version: i64) -> Result<Self, crate::CoreError> {
        let schema = Self::schema()?;
        let policies = Self::check(&schema, policies).map_err(|e| {
            tracing::error!(error = %e, "authorization policies refused");
            crate::CoreError::Internal("the authorization policies are invalid")
        })?;
        Ok(Self {
            schema,
            active: RwLock::new(Arc::new(Active::new(version, policies))),
        })
    }

    fn schema() -> Result<Schema, crate::CoreError> {
        Schema::from_cedarschema_str(&model::schema_text())
            .map(|(schema, _warnings)| schema)
            .map_err(|e| {
                tracing::error!(error = %e, "authorization schema invalid");
                crate::CoreError::Internal("the authorization schema is invalid")
            })
    }

    fn check(schema: &Schema, text: &str) -> Result<PolicySet, PolicyError> {
        let parsed = PolicySet::from_str(text).map_err(|e| PolicyError::Parse(e.to_string()))?;
        // Policies are known by their `@id`, so explanations cite names people wrote.
        let mut policies = PolicySet::new();
        for policy in parsed.policies() {
            let Some(name) = policy.annotation("id") else {
                return Err(PolicyError::Invalid(format!(
                    "every policy needs an @id(\"…\") naming it; this one has none: {}",
                    first_line(&policy.to_string())
                )));
            };
            let renamed = policy.new_id(cedar_policy::PolicyId::new(name));
            policies.add(renamed).map_err(|_| {
                PolicyError::Invalid(format!("two policies are named @id(\"{name}\")"))
            })?;
        }
        if parsed.templates().next().is_some() {
            return Err(PolicyError::Invalid(
                "policy templates are not supported; write each policy out".into(),
            ));
        }
        let result = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        if !result.validation_passed() {
            let errors = result
                .validation_errors()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ");
            return Err(PolicyError::Invalid(errors));
        }
        Ok(policies)
    }

    /// Parses and validates a policy set against the schema without installing it.
    pub fn validate(&self, text: &str) -> Result<(), PolicyError> {
        Self::check(&self.schema, text).map(|_| ())
    }

    /// An engine with the same schema and `text` as its policies, to try a policy set out
    /// before accepting it.
    pub fn candidate(&self, text: &str) -> Result<Authz, PolicyError> {
        let policies = Self::check(&self.schema, text)?;
        Ok(Authz {
            schema: self.schema.clone(),
            active: RwLock::new(Arc::new(Active::new(0, policies))),
        })
    }

    /// Installs a validated policy set.
    pub fn install(&self, text: &str, version: i64) -> Result<(), PolicyError> {
        let policies = Self::check(&self.schema, text)?;
        let mut active = self.active.write().unwrap_or_else(|e| e.into_inner());
        *active = Arc::new(Active::new(version, policies));
        Ok(())
    }

    pub fn version(&self) -> i64 {
        self.current().version
    }

    fn current(&self) -> Arc<Active> {
        self.active
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn schema_text() -> String {
        model::schema_text()
    }

    fn principal_entities(principal: &Principal) -> Result<Vec<Entity>, crate::CoreError> {
        let mut attrs = HashMap::new();
        optional_string(&mut attrs, "team", &principal.team);
        optional_string(&mut attrs, "department", &principal.department);
        optional_string(&mut attrs, "region", &principal.region);
        attrs.insert("mfa".into(), RestrictedExpression::new_bool(principal.mfa));
        attrs.insert(
            "clearance".into(),
            RestrictedExpression::new_long(principal.clearance),
        );
        attrs.insert(
            "training_current".into(),
            RestrictedExpression::new_bool(principal.training_current),
        );
        let roles = principal
            .roles
            .iter()
            .map(|r| uid("Role", r))
            .collect::<Result<HashSet<_>, _>>()?;
        let mut entities: Vec<Entity> = roles
            .iter()
            .map(|r| Entity::new_no_attrs(r.clone(), HashSet::new()))
            .collect();
        entities.push(
            Entity::new(uid("User", &principal.user_id.to_string())?, attrs, roles)
                .map_err(|_| crate::CoreError::Internal("principal entity"))?,
        );
        Ok(entities)
    }

    fn record_entity(record: RecordType, attrs: &RecordAttrs) -> Result<Entity, crate::CoreError> {
        let mut values = HashMap::new();
        if let Some(owner) = attrs.owner {
            values.insert(
                "owner".into(),
                RestrictedExpression::new_entity_uid(uid("User", &owner.to_string())?),
            );
        }
        optional_string(&mut values, "team", &attrs.team);
        optional_string(&mut values, "region", &attrs.region);
        values.insert(
            "sensitivity".into(),
            RestrictedExpression::new_long(attrs.sensitivity),
        );
        values.insert(
            "state".into(),
            RestrictedExpression::new_string(
                if attrs.deleted {
                    STATE_DELETED
                } else {
                    STATE_ACTIVE
                }
                .to_owned(),
            ),
        );
        if record == RecordType::Contact {
            let handlers = attrs
                .case_handlers
                .iter()
                .map(|u| uid("User", &u.to_string()).map(RestrictedExpression::new_entity_uid))
                .collect::<Result<Vec<_>, _>>()?;
            values.insert(
                "case_handlers".into(),
                RestrictedExpression::new_set(handlers),
            );
        }
        Entity::new(
            uid(record.cedar_type(), &attrs.id.to_string())?,
            values,
            HashSet::new(),
        )
        .map_err(|_| crate::CoreError::Internal("record entity"))
    }

    fn context(ctx: &RequestContext) -> Result<Context, crate::CoreError> {
        let at = time::OffsetDateTime::from_unix_timestamp(ctx.now_ms.div_euclid(1000))
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let mut pairs = vec![
            (
                "hour".to_owned(),
                RestrictedExpression::new_long(i64::from(at.hour())),
            ),
            (
                "weekday".to_owned(),
                RestrictedExpression::new_long(i64::from(at.weekday().number_from_monday())),
            ),
            (
                "session_age_secs".to_owned(),
                RestrictedExpression::new_long(ctx.session_age_secs),
            ),
            (
                "stepped_up".to_owned(),
                RestrictedExpression::new_bool(ctx.stepped_up),
            ),
            (
                "via_token".to_owned(),
                RestrictedExpression::new_bool(ctx.via_token),
            ),
        ];
        if let Some(ip) = ctx.ip {
            pairs.push((
                "ip".to_owned(),
                RestrictedExpression::new_ip(ip.to_string()),
            ));
        }
        Context::from_pairs(pairs).map_err(|_| crate::CoreError::Internal("request context"))
    }

    fn resource_uid_and_entity(
        resource: Resource<'_>,
    ) -> Result<(EntityUid, Option<Entity>), crate::CoreError> {
        match resource {
            Resource::Record(record, attrs) => {
                let entity = Self::record_entity(record, attrs)?;
                Ok((entity.uid(), Some(entity)))
            }
            Resource::Collection(record) => Ok((uid("Collection", record.collection())?, None)),
            Resource::System => Ok((uid("System", "custodian")?, None)),
        }
    }

    /// Which of `actions` the principal may do to `resource`: the request's entities and
    /// context are built once for all of them (a record's field groups are decided together).
    /// A failure to decide one is a denial of it.
    pub fn allowed_actions(
        &self,
        principal: &Principal,
        actions: &[Action],
        resource: Resource<'_>,
        ctx: &RequestContext,
    ) -> Result<Vec<bool>, crate::CoreError> {
        let active = self.current();
        let mut entities = Self::principal_entities(principal)?;
        let (resource_uid, resource_entity) = Self::resource_uid_and_entity(resource)?;
        entities.extend(resource_entity);
        let entities = Entities::from_entities(entities, None)
            .map_err(|_| crate::CoreError::Internal("authorization entities"))?;
        let user = uid("User", &principal.user_id.to_string())?;
        let context = Self::context(ctx)?;
        let authorizer = cedar_policy::Authorizer::new();
        actions
            .iter()
            .map(|action| {
                let action = action_uid(*action)?;
                let policies = active.slice(principal, &action);
                let request = Request::new(
                    user.clone(),
                    action,
                    resource_uid.clone(),
                    context.clone(),
                    None,
                )
                .map_err(|_| crate::CoreError::Internal("authorization request"))?;
                Ok(authorizer
                    .is_authorized(&request, &policies, &entities)
                    .decision()
                    == Decision::Allow)
            })
            .collect()
    }

    /// Decides one request and names the policies that decided it.
    pub fn decide(
        &self,
        principal: &Principal,
        action: Action,
        resource: Resource<'_>,
        ctx: &RequestContext,
    ) -> Result<Explanation, crate::CoreError> {
        let active = self.current();
        let mut entities = Self::principal_entities(principal)?;
        let (resource_uid, resource_entity) = Self::resource_uid_and_entity(resource)?;
        entities.extend(resource_entity);
        let entities = Entities::from_entities(entities, None)
            .map_err(|_| crate::CoreError::Internal("authorization entities"))?;
        let action = action_uid(action)?;
        let policies = active.slice(principal, &action);
        let request = Request::new(
            uid("User", &principal.user_id.to_string())?,
            action,
            resource_uid,
            Self::context(ctx)?,
            None,
        )
        .map_err(|_| crate::CoreError::Internal("authorization request"))?;
        let response =
            cedar_policy::Authorizer::new().is_authorized(&request, &policies, &entities);
        let mut policies: Vec<String> = response
            .diagnostics()
            .reason()
            .map(ToString::to_string)
            .collect();
        policies.sort();
        let mut errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(|e| match e {
                cedar_policy::AuthorizationError::PolicyEvaluationError(e) => {
                    e.policy_id().to_string()
                }
            })
            .collect();
        errors.sort();
        Ok(Explanation {
            allowed: response.decision() == Decision::Allow,
            policies,
            errors,
        })
    }

    pub fn is_allowed(
        &self,
        principal: &Principal,
        action: Action,
        resource: Resource<'_>,
        ctx: &RequestContext,
    ) -> Result<bool, crate::CoreError> {
        Ok(self.decide(principal, action, resource, ctx)?.allowed)
    }

    /// The condition on records of `record` the principal may do `action` to, from the
    /// policies partially evaluated with the record unknown.
    pub fn record_filter(
        &self,
        principal: &Principal,
        action: Action,
        record: RecordType,
        ctx: &RequestContext,
    ) -> Result<RecordFilter, crate::CoreError> {
        let active = self.current();
        let internal = |_| crate::CoreError::Internal("partial authorization");
        let entities = Entities::from_entities(Self::principal_entities(principal)?, None)
            .map_err(|_| crate::CoreError::Internal("authorization entities"))?;
        let entities = PartialEntities::from_concrete(entities, &self.schema).map_err(|e| {
            tracing::error!(error = %e, "principal does not match the authorization schema");
            crate::CoreError::Internal("partial authorization")
        })?;
        let record_type =
            EntityTypeName::from_str(record.cedar_type()).map_err(|_| internal(()))?;
        let request = PartialRequest::new(
            PartialEntityUid::from_concrete(uid("User", &principal.user_id.to_string())?),
            action_uid(action)?,
            PartialEntityUid::new(record_type, None),
            Some(Self::context(ctx)?),
            &self.schema,
        )
        .map_err(|_| internal(()))?;
        let response = active
            .policies
            .tpe(&request, &entities, &self.schema)
            .map_err(|e| {
                tracing::error!(error = %e, "partial authorization failed");
                crate::CoreError::Internal("partial authorization")
            })?;
        match response.decision() {
            Some(Decision::Allow) => {
                return Ok(RecordFilter {
                    condition: AccessCondition::True,
                    exact: true,
                });
            }
            Some(Decision::Deny) => {
                return Ok(RecordFilter {
                    condition: AccessCondition::False,
                    exact: true,
                });
            }
            None => {}
        }
        let mut permits = Vec::new();
        let mut forbids = Vec::new();
        let mut exact = true;
        for policy in response.policies() {
            let effect = policy.effect();
            let translated = policy
                .to_pst()
                .ok()
                .and_then(|pst| policy_condition(&pst).ok());
            match (effect, translated) {
                (cedar_policy::Effect::Permit, Some(c)) => permits.push(c),
                (cedar_policy::Effect::Forbid, Some(c)) => forbids.push(c),
                // Untranslatable: widen (a permit may hold, a forbid may not) and recheck.
                (cedar_policy::Effect::Permit, None) => {
                    exact = false;
                    permits.push(AccessCondition::True);
                }
                (cedar_policy::Effect::Forbid, None) => exact = false,
            }
        }
        let condition = AccessCondition::and(vec![
            AccessCondition::or(permits),
            AccessCondition::not(AccessCondition::or(forbids)),
        ]);
        Ok(RecordFilter { condition, exact })
    }
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(120)
        .collect()
}

/// A residual policy's condition: the conjunction of its `when` clauses and negated `unless`
/// clauses (residuals have an unconstrained scope).
fn policy_condition(
    policy: &cedar_policy::pst::Policy,
) -> Result<AccessCondition, residual::Untranslatable> {
    use cedar_policy::pst::{Clause, Expr, UnaryOp};
    let parts = policy
        .body()
        .clauses()
        .iter()
        .map(|clause| match clause {
            Clause::When(expr) => residual::truth(expr),
            Clause::Unless(expr) => residual::truth(&Expr::UnaryOp {
                op: UnaryOp::Not,
                expr: expr.clone(),
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AccessCondition::and(parts))
}

#[cfg(test)]
mod tests;
