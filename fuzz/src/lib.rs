//! What every fuzz target shares: an allocator that remembers the largest single allocation made
//! while a decoder runs, and the canonical round-trip check.
//!
//! The allocation bound catches `Vec::with_capacity(count_from_wire)`: a decoder may allocate in
//! proportion to the bytes it was given (each element of a decoded sequence is larger than the
//! byte or two it came from), never in proportion to a count the wire merely announces.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use reanimator::dlms::codec::Codec;

/// Bytes a decoder may allocate at once per input byte: the largest decoded element type
/// (`Data`, a GET-Response result, ...) is well under this, and one input byte is the least an
/// element can take on the wire.
pub const ALLOC_PER_INPUT_BYTE: usize = 64;
/// Allocation any decode may make whatever its input (error messages, small fixed buffers).
pub const ALLOC_SLACK: usize = 4096;

/// The system allocator, watching allocation sizes while [`largest_allocation`] runs.
pub struct TrackingAllocator;

static ARMED: AtomicBool = AtomicBool::new(false);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

fn note(size: usize) {
    if ARMED.load(Ordering::Relaxed) {
        LARGEST.fetch_max(size, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for TrackingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: TrackingAllocator = TrackingAllocator;

/// Runs `f` and returns its result with the largest single allocation it made.
///
/// libFuzzer runs one input at a time on one thread, so a global flag is enough.
pub fn largest_allocation<R>(f: impl FnOnce() -> R) -> (R, usize) {
    LARGEST.store(0, Ordering::Relaxed);
    ARMED.store(true, Ordering::Relaxed);
    let out = f();
    ARMED.store(false, Ordering::Relaxed);
    (out, LARGEST.load(Ordering::Relaxed))
}

/// Runs a decode of `input_len` bytes and asserts it allocated nothing out of proportion.
pub fn bounded<R>(what: &str, input_len: usize, f: impl FnOnce() -> R) -> R {
    let (out, largest) = largest_allocation(f);
    let limit = ALLOC_PER_INPUT_BYTE * input_len + ALLOC_SLACK;
    assert!(
        largest <= limit,
        "{what}: one allocation of {largest} bytes for {input_len} input bytes (limit {limit})"
    );
    out
}

/// Asserts decode(encode(x)) == x, and that the canonical bytes are a fixed point.
///
/// Values are compared with `==` and, failing that, by their debug form and bytes, so that a
/// float NaN (never equal to itself) still counts as the same value when its bits are the same.
pub fn assert_round_trip<T: Codec + PartialEq + Debug>(what: &str, value: &T) {
    let canonical = value.to_bytes();
    let again = bounded(what, canonical.len(), || T::from_bytes(&canonical))
        .unwrap_or_else(|e| panic!("{what}: re-encoded {value:?} does not decode: {e}"));
    if again != *value {
        assert_eq!(
            format!("{again:?}"),
            format!("{value:?}"),
            "{what}: round trip changed the value"
        );
    }
    assert_eq!(
        again.to_bytes(),
        canonical,
        "{what}: canonical bytes are not a fixed point"
    );
}
