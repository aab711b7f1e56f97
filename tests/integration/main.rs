//! turnstile's integration tests, one binary; the modules read as a table of contents.

mod common;
mod http_client;

mod scenarios;
mod concurrency;
mod story_http;
