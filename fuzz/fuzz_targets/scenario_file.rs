//! A scenario file's text as `turnstile test` reads it: times relative to
//! `now`, the YAML, the checks on every step.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = turnstile::scenario::parse(text);
    }
});
