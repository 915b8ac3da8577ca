//! The COSEM object model of a simulated meter and its deterministic readings.

pub mod application;
pub mod load_profile;
pub mod objects;
pub mod readings;

pub use application::{logical_device_name, MeterApplication, MeterSettings};
pub use readings::{Energy, LoadModel};
