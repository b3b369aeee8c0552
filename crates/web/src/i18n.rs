//! Message catalogs (English and Simplified Chinese). Every UI string comes from a catalog;
//! templates never hard-code text. Catalogs ship inside the binary and are checked at start to
//! hold the same keys, so a missing translation fails loudly in tests instead of silently.

use std::collections::{BTreeMap, BTreeSet};

pub const DEFAULT_LOCALE: &str = "en";
pub const LOCALES: &[(&str, &str)] = &[
    ("en", include_str!("../locales/en.toml")),
    ("zh-CN", include_str!("../locales/zh-CN.toml")),
];

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("message catalog {locale} is not valid TOML: {message}")]
    Parse { locale: String, message: String },
    #[error("message catalog {locale} lacks keys {missing:?} that {reference} has")]
    Missing {
        locale: String,
        reference: String,
        missing: Vec<String>,
    },
}

#[derive(Debug)]
pub struct Catalogs {
    catalogs: BTreeMap<&'static str, BTreeMap<String, String>>,
}

impl Catalogs {
    pub fn load() -> Result<Self, CatalogError> {
        let mut catalogs = BTreeMap::new();
        for (locale, text) in LOCALES {
            let map: BTreeMap<String, String> =
                toml::from_str(text).map_err(|e| CatalogError::Parse {
                    locale: (*locale).to_owned(),
                    message: e.to_string(),
                })?;
            catalogs.insert(*locale, map);
        }
        let reference: BTreeSet<&String> = catalogs
            .get(DEFAULT_LOCALE)
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        for (locale, map) in &catalogs {
            let keys: BTreeSet<&String> = map.keys().collect();
            let missing: Vec<String> = reference
                .symmetric_difference(&keys)
                .map(|k| (*k).clone())
                .collect();
            if !missing.is_empty() {
                return Err(CatalogError::Missing {
                    locale: (*locale).to_owned(),
                    reference: DEFAULT_LOCALE.to_owned(),
                    missing,
                });
            }
        }
        Ok(Self { catalogs })
    }

    /// The translator for a locale (falls back to English).
    pub fn translator(&self, locale: &str) -> Tr<'_> {
        let (locale, map) = self
            .catalogs
            .get_key_value(locale)
            .or_else(|| self.catalogs.get_key_value(DEFAULT_LOCALE))
            .map(|(l, m)| (*l, Some(m)))
            .unwrap_or((DEFAULT_LOCALE, None));
        Tr { locale, map }
    }
}

/// Looks up messages for one locale; used by templates as `t.t("key")`.
#[derive(Debug, Clone, Copy)]
pub struct Tr<'a> {
    pub locale: &'static str,
    map: Option<&'a BTreeMap<String, String>>,
}

impl Tr<'_> {
    pub fn t<'k>(&'k self, key: &'k str) -> &'k str {
        self.map
            .and_then(|m| m.get(key))
            .map_or(key, String::as_str)
    }

    /// The `lang` attribute value.
    pub fn lang(&self) -> &'static str {
        self.locale
    }
}

/// Picks the UI language: the user's own choice wins, then the browser's Accept-Language
/// (by q-value), then English.
pub fn negotiate(user_choice: Option<&str>, accept_language: Option<&str>) -> &'static str {
    let supported = |tag: &str| -> Option<&'static str> {
        let tag = tag.trim().to_ascii_lowercase();
        if tag.starts_with("zh") {
            // zh, zh-CN, zh-Hans, zh-SG → Simplified; Traditional variants also get Simplified
            // until a zh-TW catalog exists.
            Some("zh-CN")
        } else if tag.starts_with("en") {
            Some("en")
        } else {
            None
        }
    };
    if let Some(choice) = user_choice.and_then(supported) {
        return choice;
    }
    let mut best: Option<(&'static str, f32)> = None;
    for part in accept_language.unwrap_or_default().split(',') {
        let mut pieces = part.split(';');
        let tag = pieces.next().unwrap_or_default();
        let q = pieces
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        if let Some(locale) = supported(tag)
            && best.is_none_or(|(_, bq)| q > bq)
        {
            best = Some((locale, q));
        }
    }
    best.map_or(DEFAULT_LOCALE, |(l, _)| l)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn catalogs_load_with_identical_keys() {
        let c = Catalogs::load().unwrap();
        assert_eq!(c.translator("zh-CN").locale, "zh-CN");
        assert_eq!(c.translator("fr").locale, "en");
        assert_ne!(
            c.translator("zh-CN").t("nav.contacts"),
            c.translator("en").t("nav.contacts")
        );
    }

    #[test]
    fn negotiation_prefers_user_then_header_quality() {
        assert_eq!(negotiate(Some("zh-CN"), Some("en-US")), "zh-CN");
        assert_eq!(
            negotiate(None, Some("fr;q=1, zh-CN;q=0.8, en;q=0.5")),
            "zh-CN"
        );
        assert_eq!(negotiate(None, Some("en-GB,en;q=0.9,zh;q=0.8")), "en");
        assert_eq!(negotiate(None, Some("de")), "en");
        assert_eq!(negotiate(None, None), "en");
    }
}
