//! Cedar entity JSON as `turnstile import` and `PUT /v1/entities` read it,
//! checked against the Todo example pack (its types take imported entities).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use turnstile::policy::PolicyPack;

fn pack() -> &'static PolicyPack {
    static PACK: OnceLock<PolicyPack> = OnceLock::new();
    PACK.get_or_init(|| {
        PolicyPack::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/todo"))
            .expect("the Todo pack")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = turnstile::import::element_lines(text);
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        let _ = turnstile::import::check(pack(), &value);
    }
});
