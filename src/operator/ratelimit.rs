//! Token buckets on the passed-in clock, as SIM platforms throttle their APIs.

use std::time::Duration;

use super::time::Timestamp;

/// A bucket's shape: at most `burst` at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub burst: u32,
    pub per_second: f64,
}

impl Rate {
    pub const fn new(burst: u32, per_second: f64) -> Rate {
        Rate { burst, per_second }
    }

    /// `n` per hour, all of them available at once (as Verizon's 40 cancel locations per hour).
    pub fn per_hour(n: u32) -> Rate {
        Rate {
            burst: n,
            per_second: f64::from(n) / 3600.0,
        }
    }
}

/// A token bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    rate: Rate,
    tokens: f64,
    last: Timestamp,
}

impl TokenBucket {
    pub fn new(rate: Rate, now: Timestamp) -> TokenBucket {
        TokenBucket {
            rate,
            tokens: f64::from(rate.burst),
            last: now,
        }
    }

    fn refill(&mut self, now: Timestamp) {
        if now > self.last {
            let secs = now.since(self.last).as_secs_f64();
            self.tokens =
                (self.tokens + secs * self.rate.per_second).min(f64::from(self.rate.burst));
            self.last = now;
        }
    }

    /// Takes one token, or says how long until one is available.
    pub fn try_take(&mut self, now: Timestamp) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else if self.rate.per_second <= 0.0 {
            Err(Duration::from_secs(3600))
        } else {
            let wait = (1.0 - self.tokens) / self.rate.per_second;
            Err(Duration::from_secs_f64(wait.max(0.001)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_beyond_the_burst_until_refilled() {
        let t0 = Timestamp::from_secs(1000);
        let mut b = TokenBucket::new(Rate::new(2, 0.5), t0);
        assert!(b.try_take(t0).is_ok());
        assert!(b.try_take(t0).is_ok());
        let wait = b.try_take(t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(2));
        assert!(b.try_take(t0 + Duration::from_millis(1999)).is_err());
        assert!(b.try_take(t0 + Duration::from_secs(2)).is_ok());
    }

    #[test]
    fn per_hour_allows_the_burst_then_one_per_interval() {
        let t0 = Timestamp::from_secs(0);
        let mut b = TokenBucket::new(Rate::per_hour(40), t0);
        for _ in 0..40 {
            b.try_take(t0).unwrap();
        }
        assert_eq!(b.try_take(t0).unwrap_err(), Duration::from_secs(90));
    }
}
