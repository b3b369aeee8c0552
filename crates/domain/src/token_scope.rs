//! What an API token may do and from where. A scope is `admin` (user administration and the
//! MFA policy), or `RESOURCE:read` / `RESOURCE:write` where RESOURCE is a top-level API
//! resource (`contacts`, `deals`, …) or `*` for all of them; `write` includes `read`. Tokens
//! made before scopes existed hold `*`, full access. Networks are CIDRs (`203.0.113.0/24`,
//! `2001:db8::/32`).

use crate::FieldError;
use std::net::IpAddr;

/// The API's top-level resources, the RESOURCE part of a scope.
pub const RESOURCES: &[&str] = &[
    "activities",
    "audit",
    "companies",
    "complaints",
    "contacts",
    "custom-fields",
    "dashboard",
    "deals",
    "export-requests",
    "exports",
    "imports",
    "leads",
    "metrics",
    "notifications",
    "orders",
    "pipelines",
    "products",
    "search",
    "security",
    "surveys",
    "tasks",
    "views",
];

/// Resources only the `admin` scope reaches.
const ADMIN_RESOURCES: &[&str] = &["users", "mfa-policy"];

/// The most scopes and networks one token may carry.
const MAX_ENTRIES: usize = 64;

/// A token's parsed scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenScopes(Vec<String>);

impl TokenScopes {
    /// Parses space- or comma-separated scopes, refusing unknown ones.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let mut scopes: Vec<String> = raw
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if scopes.is_empty() {
            return Err(FieldError::new(
                field,
                "required",
                "name at least one scope",
            ));
        }
        if scopes.len() > MAX_ENTRIES {
            return Err(FieldError::new(field, "too_many", "at most 64 scopes"));
        }
        for scope in &scopes {
            let valid = scope == "admin"
                || scope.split_once(':').is_some_and(|(resource, access)| {
                    (resource == "*" || RESOURCES.contains(&resource))
                        && matches!(access, "read" | "write")
                });
            if !valid {
                return Err(FieldError::new(
                    field,
                    "invalid_scope",
                    "scopes are admin, or RESOURCE:read / RESOURCE:write with RESOURCE one of the API's resources (contacts, deals, …) or *",
                ));
            }
        }
        scopes.sort();
        scopes.dedup();
        Ok(Self(scopes))
    }

    /// Scopes as stored; `*` (full access) is kept as is.
    pub fn from_stored(stored: &str) -> Self {
        Self(
            stored
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    pub fn to_stored(&self) -> String {
        self.0.join(" ")
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    fn has(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope || s == "*")
    }

    /// Whether the token may make a request to `resource` (the first path segment under
    /// `/api/v1`), reading or writing.
    pub fn allows(&self, resource: &str, write: bool) -> bool {
        if ADMIN_RESOURCES.contains(&resource) {
            return self.has("admin");
        }
        if !RESOURCES.contains(&resource) {
            return self.has("*");
        }
        let wrote = self.has(&format!("{resource}:write")) || self.has("*:write");
        if write {
            wrote
        } else {
            wrote || self.has(&format!("{resource}:read")) || self.has("*:read")
        }
    }
}

/// One network a token may be used from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let invalid = || {
            FieldError::new(
                field,
                "invalid_network",
                "use CIDR notation such as 203.0.113.0/24 or 2001:db8::/32 (a bare address means that address only)",
            )
        };
        let (addr, prefix) = match raw.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (raw.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| invalid())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().map_err(|_| invalid())?,
            None => max,
        };
        if prefix > max {
            return Err(invalid());
        }
        Ok(Self { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Parses a list of networks (comma- or space-separated); empty means anywhere.
pub fn parse_networks(field: &str, raw: &str) -> Result<Vec<Network>, FieldError> {
    let networks = raw
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(|n| Network::parse(field, n))
        .collect::<Result<Vec<_>, _>>()?;
    if networks.len() > MAX_ENTRIES {
        return Err(FieldError::new(field, "too_many", "at most 64 networks"));
    }
    Ok(networks)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn scopes_parse_and_allow_per_resource_with_write_including_read() {
        let s = TokenScopes::parse("scope", "contacts:read deals:write").unwrap();
        assert!(s.allows("contacts", false));
        assert!(!s.allows("contacts", true));
        assert!(s.allows("deals", false) && s.allows("deals", true));
        assert!(!s.allows("leads", false));
        assert!(!s.allows("users", false), "admin is separate");
        let all_read = TokenScopes::parse("scope", "*:read").unwrap();
        assert!(all_read.allows("orders", false) && !all_read.allows("orders", true));
        assert!(!all_read.allows("mfa-policy", false));
        let admin = TokenScopes::parse("scope", "admin").unwrap();
        assert!(admin.allows("users", true) && !admin.allows("contacts", false));
        let legacy = TokenScopes::from_stored("*");
        assert!(legacy.allows("users", true) && legacy.allows("contacts", true));
        for bad in [
            "",
            "contacts",
            "contacts:delete",
            "secrets:read",
            "*",
            "admin:write",
        ] {
            assert!(TokenScopes::parse("scope", bad).is_err(), "{bad}");
        }
        let round = TokenScopes::parse("scope", "deals:write,contacts:read contacts:read").unwrap();
        assert_eq!(round.to_stored(), "contacts:read deals:write");
    }

    #[test]
    fn networks_match_by_prefix() {
        let n = Network::parse("n", "203.0.113.0/24").unwrap();
        assert!(n.contains("203.0.113.77".parse().unwrap()));
        assert!(!n.contains("203.0.114.1".parse().unwrap()));
        assert!(
            n.contains("::ffff:203.0.113.5".parse().unwrap()),
            "mapped IPv4"
        );
        let one = Network::parse("n", "198.51.100.7").unwrap();
        assert!(one.contains("198.51.100.7".parse().unwrap()));
        assert!(!one.contains("198.51.100.8".parse().unwrap()));
        let v6 = Network::parse("n", "2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::9".parse().unwrap()));
        assert!(!v6.contains("203.0.113.77".parse().unwrap()));
        let any = Network::parse("n", "0.0.0.0/0").unwrap();
        assert!(any.contains("8.8.8.8".parse().unwrap()));
        for bad in ["10.0.0.0/33", "nonsense", "10.0.0.0/x", "::/129"] {
            assert!(Network::parse("n", bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_networks("n", "10.0.0.0/8, 192.168.1.1")
                .unwrap()
                .len(),
            2
        );
    }
}
