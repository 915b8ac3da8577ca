//! The network's timing, probabilities and platform limits.

use std::time::Duration;

use super::ratelimit::Rate;

/// How the simulated network behaves. Durations are the mean; the network adds ±`jitter`.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorConfig {
    /// Startup: modems attach at a random point within this span.
    pub startup_spread: Duration,
    pub attach_delay: Duration,
    /// Re-registration after a cancel location.
    pub reattach_delay: Duration,
    pub session_delay: Duration,
    pub network_check_delay: Duration,
    /// The network gives up waiting for RADIUS after this long.
    pub auth_deadline: Duration,
    /// First retry after a failed session setup; doubles per failure up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// On-demand sessions are released after this long without traffic.
    pub idle_timeout: Duration,
    /// Fraction of each delay drawn at random either side (0.0 to 1.0).
    pub jitter: f64,
    /// Chance that a modem stays off the network after a cancel location until power-cycled.
    pub stay_off_after_cancel_location: f64,
    /// Chance that a session setup fails on the radio in a cell forecast as marginal (MC).
    pub marginal_failure: f64,
    pub sms_delivery_delay: Duration,
    pub sms_default_validity: Duration,
    pub sms_max_validity: Duration,
    /// SMS waiting per SIM at most.
    pub sms_queue_limit: usize,
    /// How long a connectivity reset takes to be carried out.
    pub reset_delay: Duration,
    /// How far ahead maintenance is announced by default.
    pub maintenance_notice: Duration,
    pub records_per_sim: usize,
    pub events_per_sim: usize,
    pub audit_entries: usize,
    pub limits: Limits,
}

/// Platform rate limits, per tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Every API request.
    pub api: Rate,
    pub reset: Rate,
    /// Cancel locations are scarcer (Verizon ThingSpace: 40 per hour).
    pub cancel_location: Rate,
    pub status_change: Rate,
    pub sms: Rate,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            api: Rate::new(2000, 1000.0),
            reset: Rate::new(10, 0.2),
            cancel_location: Rate::per_hour(40),
            status_change: Rate::new(5, 1.0),
            sms: Rate::new(50, 5.0),
        }
    }
}

impl Default for OperatorConfig {
    fn default() -> Self {
        OperatorConfig {
            startup_spread: Duration::from_secs(10),
            attach_delay: Duration::from_secs(5),
            reattach_delay: Duration::from_secs(20),
            session_delay: Duration::from_secs(2),
            network_check_delay: Duration::from_millis(200),
            auth_deadline: Duration::from_secs(10),
            retry_base: Duration::from_secs(30),
            retry_max: Duration::from_secs(15 * 60),
            idle_timeout: Duration::from_secs(5 * 60),
            jitter: 0.3,
            stay_off_after_cancel_location: 0.05,
            marginal_failure: 0.3,
            sms_delivery_delay: Duration::from_secs(2),
            sms_default_validity: Duration::from_secs(3600),
            sms_max_validity: Duration::from_secs(3 * 24 * 3600),
            sms_queue_limit: 10,
            reset_delay: Duration::from_secs(3),
            maintenance_notice: Duration::from_secs(24 * 3600),
            records_per_sim: 100,
            events_per_sim: 100,
            audit_entries: 10_000,
            limits: Limits::default(),
        }
    }
}

impl OperatorConfig {
    /// The same network with every modem and network delay multiplied by `factor` (for tests and
    /// demos). Calendar windows, rate limits and the RADIUS deadline keep their real length: the
    /// RADIUS exchange runs on real sockets in real time.
    pub fn time_scaled(mut self, factor: f64) -> Self {
        let f = factor.max(0.0);
        for d in [
            &mut self.startup_spread,
            &mut self.attach_delay,
            &mut self.reattach_delay,
            &mut self.session_delay,
            &mut self.network_check_delay,
            &mut self.retry_base,
            &mut self.retry_max,
            &mut self.idle_timeout,
            &mut self.sms_delivery_delay,
            &mut self.reset_delay,
        ] {
            *d = d.mul_f64(f);
        }
        self
    }
}
