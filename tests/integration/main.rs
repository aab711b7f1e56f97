//! turnstile's integration tests, one binary; the modules read as a table of contents.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod http_client;

mod author_loop;
mod authoring;
mod authzen_conformance;
mod concurrency;
mod console;
mod console_browser;
mod durability;
mod error_language;
mod hostile_input;
mod house;
mod ledger_api;
mod ledger_facts;
mod migrate_data;
mod multi_node;
mod openapi;
mod operations;
mod prove;
mod readme;
mod sabotage;
mod scenarios;
mod search_licensing;
mod slow_clients;
mod story_http;
mod todo_interop;
