//! Each pattern against the parser it describes, on many generated strings, with the regex
//! engine JSON Schema validators in Rust use (fancy-regex, ECMA-like: `$` is the end).

use super::*;
use crate::domain::calendar::TimeOfDay;
use crate::domain::search::Cursor;
use crate::domain::text::{clean, clean_prose};

fn regex(pattern: &str) -> fancy_regex::Regex {
    fancy_regex::RegexBuilder::new(pattern)
        .delegate_size_limit(1 << 28)
        .build()
        .unwrap_or_else(|e| panic!("{pattern}: {e}"))
}

fn matches(re: &fancy_regex::Regex, s: &str) -> bool {
    re.is_match(s).expect("no backtrack limit is reached")
}

/// `count` strings of up to `len` characters drawn from `alphabet`, the same every run.
fn samples(alphabet: &[char], len: usize, count: usize) -> Vec<String> {
    let mut rng = fastrand::Rng::with_seed(7);
    (0..count)
        .map(|_| {
            let n = rng.usize(0..=len);
            (0..n)
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect()
        })
        .collect()
}

const TEXT: &[char] = &[
    'a', 'Z', '0', ' ', ' ', '\t', '\n', '\r', '\u{0}', '\u{7f}', '\u{85}', '\u{9b}', '\u{a0}',
    '\u{2028}', '\u{2029}', '\u{3000}', '\u{200b}', 'é', '𝄞', '\u{1b}', '\u{b}',
];

/// Asserts `pattern` accepts exactly what `server` does on every sample.
fn agree(pattern: &str, samples: &[String], server: impl Fn(&str) -> bool) {
    let re = regex(pattern);
    for s in samples {
        assert_eq!(matches(&re, s), server(s), "{s:?} against {pattern}");
    }
}

#[test]
fn text_patterns_read_text_as_the_server_does() {
    let texts = samples(TEXT, 9, 20_000);
    for max in [1, 2, 3, 5] {
        agree(&line(max), &texts, |s| clean(s, max).is_ok());
        agree(&line_or_blank(max), &texts, |s| {
            s.trim().is_empty() || clean(s, max).is_ok()
        });
        agree(&prose(max), &texts, |s| clean_prose(s, max).is_ok());
        agree(&prose_or_blank(max), &texts, |s| {
            s.trim().is_empty() || clean_prose(s, max).is_ok()
        });
    }
    agree(&blank(), &texts, |s| s.trim().is_empty());
    // The real bounds, at their edges.
    let long = |n: usize| format!(" \u{3000}{}\r\n", "é".repeat(n));
    for max in [50, 200, 10_000] {
        let edges = [long(max), long(max + 1), "x\r\n".repeat(max / 2)];
        agree(&line(max), &edges, |s| clean(s, max).is_ok());
        agree(&prose(max), &edges, |s| clean_prose(s, max).is_ok());
    }
}

#[test]
fn times_and_phones_read_as_the_server_does() {
    let alphabet: Vec<char> = "0123456789:: 5\t\u{3000}+x".chars().collect();
    let mut times = samples(&alphabet, 10, 20_000);
    times.extend(
        [
            "09:30", "23:59:59", "24:00", "09:60", "9:30", "09: 3", "09:30:60",
        ]
        .map(String::from),
    );
    agree(&time(), &times, |s| TimeOfDay::parse(s).is_ok());

    let alphabet: Vec<char> = "0123456789 ()-+\t\u{a0}x".chars().collect();
    let phones = samples(&alphabet, 24, 40_000);
    let [shape, digits] = phone().map(|p| regex(&p));
    for s in &phones {
        let documented = matches(&shape, s) && matches(&digits, s);
        assert_eq!(documented, Phone::parse(s).is_ok(), "{s:?}");
    }
}

#[test]
fn cursors_read_as_the_server_does_but_for_their_instant() {
    let alphabet: Vec<char> = "AZaz09_-+/= \t".chars().collect();
    let mut cursors = samples(&alphabet, 36, 5_000);
    let mut rng = fastrand::Rng::with_seed(3);
    for _ in 0..2_000 {
        let at = chrono::DateTime::from_timestamp_micros(
            rng.i64(-8_000_000_000_000_000..8_000_000_000_000_000),
        );
        let id = crate::domain::SlotId(uuid::Uuid::from_u128(rng.u128(..)));
        let c = Cursor {
            starts_at: at.unwrap_or_default(),
            id,
        };
        cursors.push(format!(" {}\t", c.encode()));
        cursors.push(c.encode()[1..].to_owned());
    }
    let re = regex(&cursor());
    for s in &cursors {
        let read = Cursor::decode(s).is_ok();
        // Random bytes may name an instant outside chrono's years: a 400 no pattern states.
        assert!(read || !matches(&re, s) || s.trim().len() == 32, "{s:?}");
        assert!(!read || matches(&re, s), "{s:?}");
    }
}

#[test]
fn headers_read_as_the_server_does() {
    let alphabet: Vec<char> = "a~! \t\u{7f}é".chars().collect();
    let mut keys = samples(&alphabet, 8, 20_000);
    keys.extend([
        "k".repeat(255),
        "k".repeat(256),
        format!(" {} ", "r".repeat(500)),
    ]);
    keys.push("r".repeat(501));
    agree(IDEMPOTENCY_KEY, &keys, |s| {
        super::super::appointments::key_text(s).is_some()
    });
    agree(BREAK_GLASS_REASON, &keys, |s| {
        super::super::policy::reason_text(s).is_some()
    });
}

#[test]
fn webhook_urls_and_secrets_read_as_the_server_does() {
    let urls = [
        "https://example.com/hook",
        "https://example.com",
        "http://example.com/",
        "https://",
        "https:///x",
        "https://user@example.com/",
        "https://exa mple.com/",
        "https://example.com/a b",
        "https://example.com\\x",
        "HTTPS://example.com/",
        " https://example.com/",
        "https://example.com/\n",
        "https://[::1]:8080/x?y#z",
        "ftp://example.com/",
    ];
    let urls: Vec<String> = urls.map(String::from).to_vec();
    agree(&webhook_url(true), &urls, is_webhook_url);
    agree(&webhook_url(false), &urls, |s| {
        is_webhook_url(s) && s.starts_with("https:")
    });

    let key = |n: usize| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(vec![7u8; n])
    };
    let mut secrets: Vec<String> = [23, 24, 40, 64, 65]
        .iter()
        .flat_map(|n| {
            [
                format!("whsec_{}", key(*n)),
                format!("whsec_{}", key(*n).trim_end_matches('=')),
            ]
        })
        .collect();
    secrets.extend(samples(&['x', 'é', '\u{1}', ' '], 30, 5_000));
    secrets.push("y".repeat(257));
    let whsec = regex(WHSEC);
    let raw = regex(RAW_SECRET);
    for s in &secrets {
        let documented = matches(&whsec, s) || matches(&raw, s);
        let read = super::super::webhooks::read_secret(s).is_ok();
        // The pattern bounds a Standard Webhooks key by its length only: it may allow a
        // spelling the decoder refuses, never the other way round.
        assert!(documented || !read, "{s:?}");
        if !s.starts_with("whsec_") {
            assert_eq!(documented, read, "{s:?}");
        }
    }
}
