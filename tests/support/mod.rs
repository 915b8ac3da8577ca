//! Helpers shared by the store tests.

pub mod postgres;
