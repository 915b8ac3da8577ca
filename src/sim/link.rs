//! How a link between the head-end and a meter behaves: latency per frame, frames lost and
//! retransmitted as TCP would, connections reset. Draws from the run's seeded generator.

use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::meter::profile::Latency;

/// The first TCP retransmission timeout; it doubles for each further loss of the same segment.
const RTO: Duration = Duration::from_secs(1);
/// TCP gives up on a segment after this many retransmissions (the connection is then dead).
const MAX_RETRANSMISSIONS: u32 = 6;

/// A link's behaviour at one moment: the scenario's, worsened by a lossy-link fault.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkState {
    pub latency: Latency,
    pub extra_latency: Duration,
    pub loss: f64,
    pub resets: f64,
}

impl LinkState {
    /// When a frame sent now arrives, or `None` if TCP gives up on it.
    pub fn transit(&self, rng: &mut ChaCha8Rng) -> Option<Duration> {
        let mut delay = self.latency.sample(rng.gen()) + self.extra_latency;
        if self.loss > 0.0 {
            let mut rto = RTO;
            let mut tries = 0;
            while rng.gen_bool(self.loss.clamp(0.0, 1.0)) {
                tries += 1;
                if tries > MAX_RETRANSMISSIONS {
                    return None;
                }
                delay += rto;
                rto *= 2;
            }
        }
        Some(delay)
    }

    /// A connection's handshake time (a round trip), or `None` if the SYN never gets through.
    pub fn handshake(&self, rng: &mut ChaCha8Rng) -> Option<Duration> {
        Some(self.transit(rng)? + self.transit(rng)?)
    }

    /// If the connection will be reset: after how long.
    pub fn reset_after(&self, rng: &mut ChaCha8Rng) -> Option<Duration> {
        (self.resets > 0.0 && rng.gen_bool(self.resets.clamp(0.0, 1.0)))
            .then(|| Duration::from_millis(rng.gen_range(0..3000)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn link(loss: f64) -> LinkState {
        let ms = Duration::from_millis;
        LinkState {
            latency: Latency {
                min: ms(10),
                mode: ms(20),
                max: ms(100),
            },
            extra_latency: Duration::ZERO,
            loss,
            resets: 0.0,
        }
    }

    #[test]
    fn a_lossless_link_delivers_within_its_latency() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..1000 {
            let d = link(0.0).transit(&mut rng).unwrap();
            assert!(d >= Duration::from_millis(10) && d <= Duration::from_millis(100));
        }
    }

    #[test]
    fn lost_frames_arrive_late_after_retransmission() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let late = (0..1000)
            .filter_map(|_| link(0.3).transit(&mut rng))
            .filter(|d| *d >= RTO)
            .count();
        assert!((200..400).contains(&late), "{late} of 1000 retransmitted");
    }
}
