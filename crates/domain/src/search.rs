//! Normalisation for searchable fields. Blind indexes are computed over these normalised forms,
//! so the same rules must apply when writing and when searching.

use unicode_normalization::UnicodeNormalization;

/// Lower-cased, NFKC-normalised words of a name, for blind-index search by name.
///
/// Latin-script names split into words ("Ana María López" → `ana`, `maria`, `lopez`).
/// Runs of CJK characters have no spaces, so they are split into overlapping two-character
/// pieces plus the whole run ("王小明" → `王小`, `小明`, `王小明`): a two-character query such as
/// a given name then matches, while single characters (very common surnames) are never indexed
/// on their own, which would leak too much by frequency.
pub fn name_tokens(name: &str) -> Vec<String> {
    let normalized = fold(name);
    let mut tokens = Vec::new();
    let mut latin = String::new();
    let mut cjk: Vec<char> = Vec::new();
    let flush_latin = |latin: &mut String, tokens: &mut Vec<String>| {
        if !latin.is_empty() {
            tokens.push(std::mem::take(latin));
        }
    };
    let flush_cjk = |cjk: &mut Vec<char>, tokens: &mut Vec<String>| {
        if cjk.is_empty() {
            return;
        }
        if cjk.len() >= 2 {
            for pair in cjk.windows(2) {
                tokens.push(pair.iter().collect());
            }
        }
        if cjk.len() != 2 {
            tokens.push(cjk.iter().collect());
        }
        cjk.clear();
    };
    for c in normalized.chars() {
        if is_cjk(c) {
            flush_latin(&mut latin, &mut tokens);
            cjk.push(c);
        } else if c.is_alphanumeric() {
            flush_cjk(&mut cjk, &mut tokens);
            latin.push(c);
        } else if c == '\'' || c == '’' {
            // O'Brien and O’Brien are one word.
        } else {
            flush_latin(&mut latin, &mut tokens);
            flush_cjk(&mut cjk, &mut tokens);
        }
    }
    flush_latin(&mut latin, &mut tokens);
    flush_cjk(&mut cjk, &mut tokens);
    tokens.sort_unstable();
    tokens.dedup();
    tokens
}

/// The exact-match form used to confirm a candidate after blind-index lookup: NFKC, lower case,
/// whitespace collapsed.
pub fn normalize_for_match(text: &str) -> String {
    fold(text).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// NFKC, lower case, and Latin diacritics removed, so "López" is found by "lopez" as users
/// expect. CJK text is unaffected.
fn fold(text: &str) -> String {
    // ASCII is its own NFKC, NFD and NFC, and has no diacritics to strip.
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    let lowered: String = text.nfkc().flat_map(char::to_lowercase).collect();
    lowered
        .nfd()
        .filter(|c| !matches!(*c as u32, 0x0300..=0x036F))
        .nfc()
        .collect()
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F
        | 0x3040..=0x30FF | 0xAC00..=0xD7AF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn ascii_folding_equals_full_folding(s in "[ -~]{0,60}") {
            let lowered: String = s.nfkc().flat_map(char::to_lowercase).collect();
            let full: String = lowered
                .nfd()
                .filter(|c| !matches!(*c as u32, 0x0300..=0x036F))
                .nfc()
                .collect();
            prop_assert_eq!(fold(&s), full);
        }
    }

    #[test]
    fn latin_names_split_into_words() {
        assert_eq!(
            name_tokens("Ana  María López"),
            vec!["ana", "lopez", "maria"]
        );
        assert_eq!(name_tokens("Seán O'Brien"), vec!["obrien", "sean"]);
    }

    #[test]
    fn cjk_names_use_bigrams_and_whole_run() {
        assert_eq!(name_tokens("王小明"), vec!["小明", "王小", "王小明"]);
        assert_eq!(name_tokens("李娜"), vec!["李娜"]);
        // Full-width letters normalise to ASCII.
        assert_eq!(name_tokens("ＡＢＣ 张伟"), vec!["abc", "张伟"]);
    }

    #[test]
    fn query_tokens_are_a_subset_of_name_tokens() {
        let name = name_tokens("王小明 Wang Xiaoming");
        for query in ["小明", "wang", "王小明", "Xiaoming"] {
            for t in name_tokens(query) {
                assert!(name.contains(&t), "{t} missing");
            }
        }
    }
}
