//! An AuthZEN request body as the service reads it: the single-pass JSON
//! reader (duplicate keys, invisible characters), then the evaluation parser,
//! then a decision on the licensing pack over an empty store. Any input must
//! give an answer or an error, never a panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use turnstile::decide::Engine;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<(Engine, tempfile::TempDir)> = OnceLock::new();
    &ENGINE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let store = turnstile::store::Store::open(&dir.path().join("fuzz.db")).expect("a store");
            let pack = turnstile::policy::PolicyPack::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies"))
                .expect("the licensing pack");
            let engine = Engine::new(pack, store, turnstile::time::Clock::fixed(1_767_225_600)).expect("an engine");
            (engine, dir)
        })
        .0
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = turnstile::http::json::parse::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(query) = turnstile::http::authzen::parse_evaluation(&value) {
        let _ = engine().decide(&query);
    }
});
