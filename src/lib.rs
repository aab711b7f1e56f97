//! turnstile: licensing decisions as Cedar policies over SQLite slices.
pub mod policy;
pub mod time;
pub mod store;
