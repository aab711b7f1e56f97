//! turnstile: licensing decisions as Cedar policies over SQLite slices, served
//! over OpenID AuthZEN, with the licence ledger they protect.
//!
//! Data flows one way: `console` → `http` → `decide` / `ledger` → `policy` + `slice` → `store`;
//! no two modules depend on each other (`tests/integration/house.rs` checks it).
//!
//! | module | owns |
//! | --- | --- |
//! | [`cli`] | the command line: each command calls into the library |
//! | [`config`] | the validated settings of a running service |
//! | [`server`] | building the service and running it until asked to stop |
//! | [`http`] | routes by surface (AuthZEN, ledger, entities, health) and the one `ApiError` |
//! | [`console`] | the web console at `/console`: server-rendered pages over the same services |
//! | [`contract`] | what the ledger asks of a pack before it serves (notice kinds, catalogue codes, entity types) |
//! | [`decide`] | request → slice → Cedar → decision (reasons, errors, message, notices) |
//! | [`search`] | AuthZEN search: the candidates an evaluation would allow, a page at a time |
//! | [`notice`] | when notice policies start to apply, asked of Cedar, cached per tenant |
//! | [`facts`] | the read side: the ledger's Cedar entities and the facts they carry |
//! | [`slice`] | the entities one decision needs, and their cache |
//! | [`policy`] | loading, validating (strict and at entity level) and indexing a pack |
//! | [`ledger`] | licensing operations: facts + policy check + write in one transaction; R9 |
//! | [`store`] | the only module that speaks SQL: migrations, rows, the single writer |
//! | [`migrate`] | copying a ledger to another database (SQLite → PostgreSQL), verified |
//! | [`import`] | Cedar entity JSON for other packs, checked against the schema |
//! | [`prove`] | invariants of a pack proved with Cedar's symbolic compiler and cvc5 |
//! | [`scenario`] | the scenario runner behind `cargo test` and `turnstile test` |
//! | [`time`] | RFC 3339 at the edges, Unix seconds inside; the clock |

pub mod cli;
pub mod config;
pub mod console;
pub mod contract;
pub mod decide;
pub mod facts;
pub mod http;
pub mod import;
pub mod ledger;
pub mod migrate;
pub mod notice;
pub mod policy;
pub mod prove;
pub mod scenario;
pub mod search;
pub mod server;
pub mod slice;
pub mod store;
pub mod time;

pub mod bench_data;
pub mod decision_log;
pub mod explain;
pub mod reload;
pub mod replay;

/// The whole service: the HTTP API and, at `/console`, the web console.
pub fn app(state: http::AppState) -> axum::Router {
    http::app_with(state, console::routes())
}
