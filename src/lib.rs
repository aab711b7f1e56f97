//! turnstile: licensing decisions as Cedar policies over SQLite slices.
pub mod policy;
pub mod time;
pub mod store;
pub mod ledger;
pub mod slice;
pub mod decide;
pub mod notice;
