//! A simulated meter device: profiles, modem and wake-up behaviour, and fleets of them.

pub mod device;
pub mod identity;
pub mod manifest;
pub mod profile;
