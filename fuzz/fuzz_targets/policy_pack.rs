//! A policy file (and, from one input in four, a schema) as the pack loader
//! reads them: parse, strict validation, entity level, annotations, notices,
//! the message catalogue. Refusing is fine; panicking is not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use turnstile::policy::{PolicyPack, SourceFile};

const SCHEMA: &str = include_str!("../../policies/schema.cedarschema");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (schema, policies, messages) = match data.first() {
        // Split the input: schema, policies and catalogue of the fuzzer's own.
        Some(b) if b % 4 == 0 => {
            let mut parts = text[1..].splitn(3, '\u{0}');
            (
                parts.next().unwrap_or("").to_string(),
                parts.next().unwrap_or("").to_string(),
                parts.next().map(str::to_string),
            )
        }
        _ => (SCHEMA.to_string(), text.to_string(), None),
    };
    let mut files = vec![
        SourceFile {
            name: turnstile::policy::SCHEMA_FILE.into(),
            text: schema,
        },
        SourceFile {
            name: "fuzz.cedar".into(),
            text: policies,
        },
    ];
    if let Some(m) = messages {
        files.push(SourceFile {
            name: turnstile::policy::MESSAGES_FILE.into(),
            text: m,
        });
    }
    if let Ok(pack) = PolicyPack::from_files(std::path::Path::new("fuzz"), files) {
        let _ = turnstile::decide::check_serving(&pack);
    }
});
