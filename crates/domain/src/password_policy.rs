//! Password rules after NIST SP 800-63B §3.1.1.2 and OWASP ASVS 5.0 V6.2: a length window,
//! a blocklist of common and breached passwords, context-specific words, and repetitive or
//! sequential characters — and nothing else, because composition rules ("one digit, one
//! symbol") make passwords harder to remember without making them harder to guess.
//!
//! Strength feedback comes from zxcvbn and is advice only: it never rejects a password.
//!
//! Callers pass the password already NFKC-normalized, so the same password typed on another
//! keyboard or input method is judged (and later hashed) the same way.

use std::sync::LazyLock;
use zxcvbn::feedback::{Suggestion, Warning};

/// Common and breached passwords, lowercased; see the header of the file for its sources.
const COMMON_PASSWORDS_FILE: &str = include_str!("../data/common-passwords.txt");

/// Sorted once on first use so a lookup is a binary search, without trusting the file order.
static COMMON_PASSWORDS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let mut entries: Vec<&'static str> = COMMON_PASSWORDS_FILE
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    entries.sort_unstable();
    entries.dedup();
    entries
});

/// Context words shorter than this would reject too much ("li" is in many passphrases).
const MIN_CONTEXT_WORD_CHARS: usize = 3;
/// Parts of a context word (e-mail name split at dots and dashes) count from this length:
/// a surname such as "zhang" does, a syllable such as "wei" (in "weighted") does not.
const MIN_CONTEXT_PART_CHARS: usize = 4;

/// The longest unit whose repetition ("abcdabcd…") counts as one repeated pattern.
const MAX_REPEATED_UNIT_CHARS: usize = 4;

/// zxcvbn's work grows with the input; beyond this many characters it learns nothing new.
const MAX_STRENGTH_CHARS: usize = 100;

/// Length limits in Unicode scalar values (what a person counts as characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
}

/// Why a new password was refused. Messages never echo the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRejection {
    #[error("must be at least {min_length} characters; a passphrase of several words is easiest")]
    TooShort { min_length: usize },
    #[error("must be at most {max_length} characters")]
    TooLong { max_length: usize },
    #[error(
        "is on a list of common or breached passwords; choose another, e.g. several unrelated words"
    )]
    Common,
    #[error("must not contain the product name or the name part of your e-mail address")]
    ContainsContext,
    #[error(
        "must not be one character or a short pattern repeated, or a run such as abcdef or 987654"
    )]
    Repetitive,
}

impl PasswordRejection {
    /// Every code [`PasswordRejection::code`] returns; the UI has a `field_error.<code>` text
    /// for each.
    pub const CODES: [&'static str; 5] = [
        "password_too_short",
        "password_too_long",
        "password_common",
        "password_contains_context",
        "password_repetitive",
    ];

    /// Stable machine code for forms, the API and translations.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooShort { .. } => "password_too_short",
            Self::TooLong { .. } => "password_too_long",
            Self::Common => "password_common",
            Self::ContainsContext => "password_contains_context",
            Self::Repetitive => "password_repetitive",
        }
    }

    /// The number a message shows in place of `{n}` (the length limit), if it has one.
    pub fn limit(&self) -> Option<usize> {
        match self {
            Self::TooShort { min_length } => Some(*min_length),
            Self::TooLong { max_length } => Some(*max_length),
            Self::Common | Self::ContainsContext | Self::Repetitive => None,
        }
    }

    /// The rejection as the error of one form field.
    pub fn to_field_error(&self, field: &str) -> crate::FieldError {
        crate::FieldError::new(field, self.code(), self.to_string())
    }
}

impl PasswordPolicy {
    pub fn new(min_length: usize, max_length: usize) -> Self {
        Self {
            min_length,
            max_length,
        }
    }

    /// Checks a new, NFKC-normalized password. `context_words` are words an attacker would try
    /// first for this account (the product name, the e-mail's local part); each is also split
    /// at non-alphanumeric characters, so "wei.zhang" rules out "zhang" as well.
    ///
    /// The first failing rule is reported, in the order: length, common list, context words,
    /// repetition.
    pub fn check(&self, password: &str, context_words: &[&str]) -> Result<(), PasswordRejection> {
        let length = password.chars().count();
        if length < self.min_length {
            return Err(PasswordRejection::TooShort {
                min_length: self.min_length,
            });
        }
        if length > self.max_length {
            return Err(PasswordRejection::TooLong {
                max_length: self.max_length,
            });
        }
        let lower = password.to_lowercase();
        if is_listed(&lower) {
            return Err(PasswordRejection::Common);
        }
        if contains_context_word(&lower, context_words) {
            return Err(PasswordRejection::ContainsContext);
        }
        if is_repetitive_or_sequential(&lower) {
            return Err(PasswordRejection::Repetitive);
        }
        Ok(())
    }
}

/// Whether the password, in any letter case, is on the shipped list.
pub fn is_common_password(password: &str) -> bool {
    is_listed(&password.to_lowercase())
}

fn is_listed(lower_password: &str) -> bool {
    COMMON_PASSWORDS.binary_search(&lower_password).is_ok()
}

/// How many entries the shipped list holds (for diagnostics and tests).
pub fn common_password_count() -> usize {
    COMMON_PASSWORDS.len()
}

fn contains_context_word(lower_password: &str, context_words: &[&str]) -> bool {
    context_words.iter().any(|word| {
        let word = word.to_lowercase();
        let whole = (word.chars().count() >= MIN_CONTEXT_WORD_CHARS).then_some(word.as_str());
        let parts = word
            .split(|c: char| !c.is_alphanumeric())
            .filter(|part| part.chars().count() >= MIN_CONTEXT_PART_CHARS);
        whole
            .into_iter()
            .chain(parts)
            .any(|part| lower_password.contains(part))
    })
}

/// The whole password is one short unit repeated ("aaaa…", "abcabc…", "12341234…"), or a run
/// in which every character is one after (or one before) the previous — letters a–z, or digits
/// where 9 and 0 are neighbours, as on the keyboard row ("4567890123").
fn is_repetitive_or_sequential(lower_password: &str) -> bool {
    let chars: Vec<char> = lower_password.chars().collect();
    is_repeated_unit(&chars) || is_straight_run(&chars)
}

fn is_repeated_unit(chars: &[char]) -> bool {
    (1..=MAX_REPEATED_UNIT_CHARS)
        .filter(|unit| chars.len() >= unit * 2)
        .any(|unit| {
            chars
                .iter()
                .zip(chars.iter().skip(unit))
                .all(|(a, b)| a == b)
        })
}

fn is_straight_run(chars: &[char]) -> bool {
    if chars.len() < 3 {
        return false;
    }
    let steps = || chars.iter().zip(chars.iter().skip(1));
    steps().all(|(&a, &b)| next_in_run(a) == Some(b))
        || steps().all(|(&a, &b)| next_in_run(b) == Some(a))
}

/// The character after `c` in an ascending run: a→b … y→z (z ends it), 0→1 … 8→9, 9→0.
fn next_in_run(c: char) -> Option<char> {
    match c {
        '9' => Some('0'),
        '0'..='8' | 'a'..='y' => char::from_u32(u32::from(c) + 1),
        _ => None,
    }
}

/// zxcvbn's estimate with its feedback as stable codes for translation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PasswordStrength {
    /// 0 (very weak) to 4 (very strong); zxcvbn calls anything below 3 too guessable.
    pub score: u8,
    /// One of [`WARNING_CODES`]; the UI text is `password_warning.<code>`.
    pub warning: Option<&'static str>,
    /// Codes from [`SUGGESTION_CODES`]; the UI text is `password_suggestion.<code>`.
    pub suggestions: Vec<&'static str>,
}

/// Rates a password for the strength meter. Only the first 100 characters are evaluated, so a
/// long input costs no more than a 100-character one; an empty password is score 0 without
/// feedback. `context_words` are matched like dictionary words (the e-mail, the product name).
pub fn strength(password: &str, context_words: &[&str]) -> PasswordStrength {
    let evaluated: String = password.chars().take(MAX_STRENGTH_CHARS).collect();
    if evaluated.is_empty() {
        return PasswordStrength {
            score: 0,
            warning: None,
            suggestions: Vec::new(),
        };
    }
    let entropy = zxcvbn::zxcvbn(&evaluated, context_words);
    let feedback = entropy.feedback();
    PasswordStrength {
        score: u8::from(entropy.score()).min(4),
        warning: feedback.and_then(|f| f.warning()).map(warning_code),
        suggestions: feedback
            .map(|f| {
                f.suggestions()
                    .iter()
                    .copied()
                    .map(suggestion_code)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Every code [`PasswordStrength::warning`] can hold.
pub const WARNING_CODES: [&str; 14] = [
    "straight_rows_of_keys",
    "short_keyboard_patterns",
    "repeated_characters",
    "repeated_patterns",
    "top_10_password",
    "top_100_password",
    "common_password",
    "similar_to_common_password",
    "sequences",
    "recent_years",
    "single_word",
    "dates",
    "names_by_themselves",
    "common_names",
];

/// Every code [`PasswordStrength::suggestions`] can hold.
pub const SUGGESTION_CODES: [&str; 13] = [
    "use_a_few_words",
    "no_need_for_symbols",
    "add_another_word",
    "capitalization_does_not_help",
    "all_uppercase_does_not_help",
    "reversed_words_do_not_help",
    "predictable_substitutions_do_not_help",
    "longer_keyboard_pattern",
    "avoid_repeats",
    "avoid_sequences",
    "avoid_recent_years",
    "avoid_personal_years",
    "avoid_personal_dates",
];

fn warning_code(warning: Warning) -> &'static str {
    match warning {
        Warning::StraightRowsOfKeysAreEasyToGuess => "straight_rows_of_keys",
        Warning::ShortKeyboardPatternsAreEasyToGuess => "short_keyboard_patterns",
        Warning::RepeatsLikeAaaAreEasyToGuess => "repeated_characters",
        Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess => "repeated_patterns",
        Warning::ThisIsATop10Password => "top_10_password",
        Warning::ThisIsATop100Password => "top_100_password",
        Warning::ThisIsACommonPassword => "common_password",
        Warning::ThisIsSimilarToACommonlyUsedPassword => "similar_to_common_password",
        Warning::SequencesLikeAbcAreEasyToGuess => "sequences",
        Warning::RecentYearsAreEasyToGuess => "recent_years",
        Warning::AWordByItselfIsEasyToGuess => "single_word",
        Warning::DatesAreOftenEasyToGuess => "dates",
        Warning::NamesAndSurnamesByThemselvesAreEasyToGuess => "names_by_themselves",
        Warning::CommonNamesAndSurnamesAreEasyToGuess => "common_names",
    }
}

fn suggestion_code(suggestion: Suggestion) -> &'static str {
    match suggestion {
        Suggestion::UseAFewWordsAvoidCommonPhrases => "use_a_few_words",
        Suggestion::NoNeedForSymbolsDigitsOrUppercaseLetters => "no_need_for_symbols",
        Suggestion::AddAnotherWordOrTwo => "add_another_word",
        Suggestion::CapitalizationDoesntHelpVeryMuch => "capitalization_does_not_help",
        Suggestion::AllUppercaseIsAlmostAsEasyToGuessAsAllLowercase => {
            "all_uppercase_does_not_help"
        }
        Suggestion::ReversedWordsArentMuchHarderToGuess => "reversed_words_do_not_help",
        Suggestion::PredictableSubstitutionsDontHelpVeryMuch => {
            "predictable_substitutions_do_not_help"
        }
        Suggestion::UseALongerKeyboardPatternWithMoreTurns => "longer_keyboard_pattern",
        Suggestion::AvoidRepeatedWordsAndCharacters => "avoid_repeats",
        Suggestion::AvoidSequences => "avoid_sequences",
        Suggestion::AvoidRecentYears => "avoid_recent_years",
        Suggestion::AvoidYearsThatAreAssociatedWithYou => "avoid_personal_years",
        Suggestion::AvoidDatesAndYearsThatAreAssociatedWithYou => "avoid_personal_dates",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::collections::BTreeSet;
    use std::time::Duration;

    const EN_LOCALE: &str = include_str!("../../web/locales/en.toml");
    const ZH_LOCALE: &str = include_str!("../../web/locales/zh-CN.toml");

    const CONTEXT: [&str; 2] = ["custodian", "wei.zhang"];

    fn policy() -> PasswordPolicy {
        PasswordPolicy::new(12, 256)
    }

    fn check(password: &str) -> Result<(), PasswordRejection> {
        policy().check(password, &CONTEXT)
    }

    #[test]
    fn list_is_large_sorted_deduplicated_and_lowercased() {
        assert!(
            common_password_count() >= 10_000,
            "{}",
            common_password_count()
        );
        let entries: Vec<&str> = COMMON_PASSWORDS_FILE
            .lines()
            .filter(|line| !line.starts_with('#'))
            .collect();
        assert_eq!(entries.len(), common_password_count());
        assert!(
            entries.windows(2).all(|pair| pair[0] < pair[1]),
            "not sorted and deduplicated"
        );
        for entry in &entries {
            assert_eq!(*entry, entry.to_lowercase(), "not lowercase: {entry}");
            assert!(entry.chars().count() >= 4, "shorter than 4: {entry}");
            assert_eq!(entry.trim(), *entry, "surrounding space: {entry:?}");
            use unicode_normalization::UnicodeNormalization;
            assert_eq!(
                entry.nfkc().collect::<String>(),
                *entry,
                "not NFKC: {entry}"
            );
        }
        assert!(COMMON_PASSWORDS_FILE.starts_with("# "), "header missing");
    }

    #[test]
    fn length_is_counted_in_characters() {
        assert_eq!(
            check("short pass"),
            Err(PasswordRejection::TooShort { min_length: 12 })
        );
        // 11 CJK characters are 33 bytes but still too short.
        assert_eq!(
            check("我们的客户管理系统很安"),
            Err(PasswordRejection::TooShort { min_length: 12 })
        );
        assert_eq!(check("我们的客户管理系统很安全可靠"), Ok(()));
        let long = "correct horse ".repeat(20);
        assert_eq!(
            check(&long),
            Err(PasswordRejection::TooLong { max_length: 256 })
        );
        assert_eq!(check(&"word list ".repeat(25)), Ok(()));
    }

    #[test]
    fn common_passwords_are_rejected_in_any_case() {
        assert!(is_common_password("password1234"));
        let policy = PasswordPolicy::new(8, 256);
        assert_eq!(
            policy.check("Password1234", &[]),
            Err(PasswordRejection::Common)
        );
        assert_eq!(
            policy.check("QWERTYUIOP", &[]),
            Err(PasswordRejection::Common)
        );
        assert_eq!(
            policy.check("1qaz2wsx", &[]),
            Err(PasswordRejection::Common)
        );
    }

    #[test]
    fn common_chinese_passwords_are_rejected() {
        let policy = PasswordPolicy::new(8, 256);
        for password in [
            "woaini1314",
            "WoAiNi520",
            "5201314a",
            "zhang123456",
            "wangyang1988",
            "qq123456",
            "147258369",
            "mimamima",
        ] {
            assert_eq!(
                policy.check(password, &[]),
                Err(PasswordRejection::Common),
                "{password}"
            );
        }
    }

    #[test]
    fn good_passphrases_pass() {
        assert_eq!(check("correct horse battery staple"), Ok(()));
        assert_eq!(check("Tr0ub4dor&3 on a blue bicycle"), Ok(()));
        assert_eq!(check("lanterns over quiet harbours"), Ok(()));
        assert_eq!(check("xiaoxiong chi pingguo wanshang"), Ok(()));
    }

    #[test]
    fn context_words_are_rejected_case_insensitively() {
        assert_eq!(
            check("MyCustodianLogin!"),
            Err(PasswordRejection::ContainsContext)
        );
        assert_eq!(
            check("wei.zhang and friends"),
            Err(PasswordRejection::ContainsContext)
        );
        // Parts of the e-mail name count too.
        assert_eq!(
            check("Zhang family trip 2024"),
            Err(PasswordRejection::ContainsContext)
        );
        // A short part ("wei") does not count on its own; a 3-character whole word does.
        assert_eq!(check("weighted blanket nights"), Ok(()));
        assert_eq!(
            policy().check("the bob and alice show", &["bob"]),
            Err(PasswordRejection::ContainsContext)
        );
        assert_eq!(policy().check("lighthouse keeper", &["li", "a.b"]), Ok(()));
    }

    #[test]
    fn repetitive_and_sequential_passwords_are_rejected() {
        for password in [
            "aaaaaaaaaaaa",
            "............",
            "abcabcabcabc",
            "abcdabcdabcd",
            "xyxyxyxyxyxyx",
            "abcdefghijklm",
            "zyxwvutsrqpo",
            "4567890123456",
            "9876543210987",
        ] {
            assert_eq!(
                check(password),
                Err(PasswordRejection::Repetitive),
                "{password}"
            );
        }
    }

    #[test]
    fn partly_repetitive_passwords_are_not_rejected() {
        for password in [
            "correct horse battery staple",
            "abcdeabcdeabcde",
            "aaaaaaaaaaab",
            "abcdefghijkx",
            "0123456789ab",
            "aaaabbbbccccdddd",
        ] {
            assert_eq!(check(password), Ok(()), "{password}");
        }
    }

    #[test]
    fn each_rejection_has_its_code() {
        let rejections = [
            PasswordRejection::TooShort { min_length: 12 },
            PasswordRejection::TooLong { max_length: 256 },
            PasswordRejection::Common,
            PasswordRejection::ContainsContext,
            PasswordRejection::Repetitive,
        ];
        let codes: Vec<&str> = rejections.iter().map(PasswordRejection::code).collect();
        assert_eq!(codes, PasswordRejection::CODES);
        assert_eq!(rejections[0].limit(), Some(12));
        assert_eq!(rejections[1].limit(), Some(256));
        let field = rejections[0].to_field_error("password");
        assert_eq!(field.code, "password_too_short");
        assert!(field.message.contains("12"));
    }

    #[test]
    fn strength_scores_weak_and_strong_passwords() {
        let weak = strength("password", &[]);
        assert_eq!(weak.score, 0);
        assert_eq!(weak.warning, Some("top_10_password"));
        let strong = strength("lanterns over quiet harbours", &[]);
        assert!(strong.score >= 3, "{strong:?}");
        assert_eq!(strong.warning, None);
        let own_name = strength("weizhang", &["wei.zhang@example.com", "weizhang"]);
        assert!(own_name.score <= 1, "{own_name:?}");
    }

    #[test]
    fn empty_password_has_score_zero_and_no_feedback() {
        assert_eq!(
            strength("", &CONTEXT),
            PasswordStrength {
                score: 0,
                warning: None,
                suggestions: Vec::new()
            }
        );
    }

    #[test]
    #[allow(
        clippy::disallowed_methods,
        reason = "measures latency, not domain time"
    )]
    fn long_password_is_rated_quickly() {
        let password: String = "aB3$xY9!".repeat(32);
        assert_eq!(password.chars().count(), 256);
        let started = std::time::Instant::now();
        let rated = strength(&password, &CONTEXT);
        assert!(rated.score <= 4);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        let cjk: String = "密码".repeat(128);
        assert!(strength(&cjk, &CONTEXT).score <= 4);
    }

    const ALL_WARNINGS: [Warning; 14] = [
        Warning::StraightRowsOfKeysAreEasyToGuess,
        Warning::ShortKeyboardPatternsAreEasyToGuess,
        Warning::RepeatsLikeAaaAreEasyToGuess,
        Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess,
        Warning::ThisIsATop10Password,
        Warning::ThisIsATop100Password,
        Warning::ThisIsACommonPassword,
        Warning::ThisIsSimilarToACommonlyUsedPassword,
        Warning::SequencesLikeAbcAreEasyToGuess,
        Warning::RecentYearsAreEasyToGuess,
        Warning::AWordByItselfIsEasyToGuess,
        Warning::DatesAreOftenEasyToGuess,
        Warning::NamesAndSurnamesByThemselvesAreEasyToGuess,
        Warning::CommonNamesAndSurnamesAreEasyToGuess,
    ];

    const ALL_SUGGESTIONS: [Suggestion; 13] = [
        Suggestion::UseAFewWordsAvoidCommonPhrases,
        Suggestion::NoNeedForSymbolsDigitsOrUppercaseLetters,
        Suggestion::AddAnotherWordOrTwo,
        Suggestion::CapitalizationDoesntHelpVeryMuch,
        Suggestion::AllUppercaseIsAlmostAsEasyToGuessAsAllLowercase,
        Suggestion::ReversedWordsArentMuchHarderToGuess,
        Suggestion::PredictableSubstitutionsDontHelpVeryMuch,
        Suggestion::UseALongerKeyboardPatternWithMoreTurns,
        Suggestion::AvoidRepeatedWordsAndCharacters,
        Suggestion::AvoidSequences,
        Suggestion::AvoidRecentYears,
        Suggestion::AvoidYearsThatAreAssociatedWithYou,
        Suggestion::AvoidDatesAndYearsThatAreAssociatedWithYou,
    ];

    #[test]
    fn every_feedback_variant_has_a_distinct_listed_code() {
        let warnings: Vec<&str> = ALL_WARNINGS.into_iter().map(warning_code).collect();
        assert_eq!(warnings, WARNING_CODES);
        let suggestions: Vec<&str> = ALL_SUGGESTIONS.into_iter().map(suggestion_code).collect();
        assert_eq!(suggestions, SUGGESTION_CODES);
        let distinct: BTreeSet<&str> = warnings.iter().chain(&suggestions).copied().collect();
        assert_eq!(distinct.len(), warnings.len() + suggestions.len());
    }

    /// The keys of a flat locale file: the quoted text before ` = ` on each line.
    fn locale_keys(file: &str) -> BTreeSet<&str> {
        file.lines()
            .filter_map(|line| line.strip_prefix('"'))
            .filter_map(|line| line.split_once("\" = "))
            .map(|(key, _)| key)
            .collect()
    }

    #[test]
    fn every_code_has_text_in_both_locales() {
        let mut needed: Vec<String> = Vec::new();
        needed.extend(
            PasswordRejection::CODES
                .iter()
                .map(|c| format!("field_error.{c}")),
        );
        needed.extend(
            WARNING_CODES
                .iter()
                .map(|c| format!("password_warning.{c}")),
        );
        needed.extend(
            SUGGESTION_CODES
                .iter()
                .map(|c| format!("password_suggestion.{c}")),
        );
        needed.extend((0..=4).map(|score| format!("password_strength.score_{score}")));
        needed.push("password_strength.label".to_owned());
        for (name, file) in [("en", EN_LOCALE), ("zh-CN", ZH_LOCALE)] {
            let keys = locale_keys(file);
            assert!(keys.len() > 100, "{name}: the key scan found too few keys");
            for key in &needed {
                assert!(keys.contains(key.as_str()), "{name} lacks {key}");
            }
        }
    }
}
