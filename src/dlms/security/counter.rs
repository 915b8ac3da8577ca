//! Invocation counters: the sender's, which must never repeat under one key, and the receiver's
//! guard, which refuses any counter not above the last one it accepted.

use serde::Serialize;

use super::SecurityError;

/// The sending side's counter for one key: hands out each value once, then refuses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvocationCounter {
    /// The value `next` hands out; `None` once u32::MAX has been used.
    next: Option<u32>,
}

impl InvocationCounter {
    /// A counter whose first value is `first` (e.g. a persisted value, or 0 for a fresh key).
    pub const fn new(first: u32) -> Self {
        InvocationCounter { next: Some(first) }
    }

    /// The value to use for the next message, consumed.
    #[allow(clippy::should_implement_trait)] // fallible, so not an Iterator
    pub fn next(&mut self) -> Result<u32, SecurityError> {
        let value = self.next.ok_or(SecurityError::CounterExhausted)?;
        self.next = value.checked_add(1);
        Ok(value)
    }

    /// The value `next` would return, without consuming it (to persist across restarts).
    pub const fn peek(&self) -> Option<u32> {
        self.next
    }
}

/// The receiving side's memory of one peer's counter (per peer and per key).
///
/// Call [`check`](Self::check) before or after deciphering, and [`accept`](Self::accept) only
/// once the message authenticated, so that a forged counter cannot move the guard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InvocationCounterGuard {
    last: Option<u32>,
}

impl InvocationCounterGuard {
    /// A guard that has accepted nothing yet: any counter passes.
    pub const fn new() -> Self {
        InvocationCounterGuard { last: None }
    }

    /// A guard that already accepted `last` (restored from storage or learned at association).
    pub const fn with_last(last: u32) -> Self {
        InvocationCounterGuard { last: Some(last) }
    }

    pub const fn last(&self) -> Option<u32> {
        self.last
    }

    /// Refuses a counter equal to or below one already accepted.
    pub fn check(&self, received: u32) -> Result<(), SecurityError> {
        match self.last {
            Some(last) if received <= last => Err(SecurityError::Replay { received, last }),
            _ => Ok(()),
        }
    }

    /// Records an authenticated counter; never moves the guard backwards.
    pub fn accept(&mut self, received: u32) {
        self.last = Some(self.last.map_or(received, |last| last.max(received)));
    }

    /// `check` then `accept`, for a message already authenticated.
    pub fn check_and_accept(&mut self, received: u32) -> Result<(), SecurityError> {
        self.check(received)?;
        self.accept(received);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_hands_out_each_value_once() {
        let mut ic = InvocationCounter::new(7);
        assert_eq!(ic.next(), Ok(7));
        assert_eq!(ic.next(), Ok(8));
        assert_eq!(ic.peek(), Some(9));
    }

    #[test]
    fn rejects_counter_past_the_last_value() {
        let mut ic = InvocationCounter::new(u32::MAX - 1);
        assert_eq!(ic.next(), Ok(u32::MAX - 1));
        assert_eq!(ic.next(), Ok(u32::MAX));
        assert_eq!(ic.next(), Err(SecurityError::CounterExhausted));
        assert_eq!(ic.next(), Err(SecurityError::CounterExhausted));
        assert_eq!(ic.peek(), None);
    }

    #[test]
    fn rejects_replayed_or_lower_counter() {
        let mut guard = InvocationCounterGuard::new();
        assert_eq!(guard.check(0), Ok(()));
        guard.accept(10);
        assert_eq!(
            guard.check(10),
            Err(SecurityError::Replay {
                received: 10,
                last: 10
            })
        );
        assert_eq!(
            guard.check(3),
            Err(SecurityError::Replay {
                received: 3,
                last: 10
            })
        );
        assert_eq!(guard.check(11), Ok(()));
        assert_eq!(guard.check_and_accept(12), Ok(()));
        assert_eq!(
            guard.check_and_accept(12),
            Err(SecurityError::Replay {
                received: 12,
                last: 12
            })
        );
        guard.accept(5);
        assert_eq!(guard.last(), Some(12), "accept never moves backwards");
        let full = InvocationCounterGuard::with_last(u32::MAX);
        assert_eq!(
            full.check(u32::MAX),
            Err(SecurityError::Replay {
                received: u32::MAX,
                last: u32::MAX
            })
        );
    }
}
