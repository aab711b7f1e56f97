//! turnstile's integration tests, one binary; the modules read as a table of contents.

mod common;

mod scenarios;
