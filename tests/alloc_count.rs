//! Decoding allocates per container, never per scalar: counted with a global allocator.

mod fixtures;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use reanimator::dlms::codec::Codec;
use reanimator::dlms::data::Data;
use reanimator::dlms::xdlms::GetResponse;

/// Counts allocations made by the current thread while counting is switched on, so that
/// other test threads and the harness do not disturb the figure.
struct CountingAllocator;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn note_allocation() {
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Runs `f` and returns its result with the number of allocations (and reallocations) it made.
fn count_allocations<T>(f: impl FnOnce() -> T) -> (T, usize) {
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    let out = f();
    COUNTING.with(|c| c.set(false));
    (out, ALLOCATIONS.with(Cell::get))
}

#[test]
fn the_counter_sees_allocations() {
    let (v, n) = count_allocations(|| std::hint::black_box(vec![1u8, 2, 3]));
    assert_eq!(v.len(), 3);
    assert_eq!(n, 1);
}

#[test]
fn decoding_a_96_row_load_profile_allocates_at_most_two_per_row() {
    let bytes = fixtures::load_profile_response_bytes();
    let (decoded, allocations) = count_allocations(|| GetResponse::from_bytes(&bytes));
    assert_eq!(decoded.unwrap(), fixtures::load_profile_response());
    // Each row is one structure Vec and one octet-string Vec; the outer array is one more.
    // Its six scalars (status, A+, A-, and the three tags' values) must cost nothing.
    let bound = 2 * fixtures::ROWS + 1;
    assert!(
        allocations <= bound,
        "decoding {} rows made {allocations} allocations, bound {bound}",
        fixtures::ROWS
    );
}

#[test]
fn decoding_scalars_allocates_nothing_beyond_their_container() {
    // structure of 200 double-long-unsigned: one Vec for the structure, nothing per value.
    let mut bytes = vec![0x02, 0x81, 200];
    for i in 0..200u32 {
        bytes.push(0x06);
        bytes.extend_from_slice(&(i * 1000).to_be_bytes());
    }
    let (decoded, allocations) = count_allocations(|| Data::from_bytes(&bytes));
    assert_eq!(decoded.unwrap().as_elements().map(<[Data]>::len), Some(200));
    assert_eq!(allocations, 1);
}

#[test]
fn reading_every_value_of_the_profile_in_place_allocates_nothing() {
    use reanimator::dlms::data_view::DataView;
    use reanimator::dlms::xdlms::GetResponseRef;
    fn sum(d: DataView<'_>) -> i128 {
        d.elements().map(sum).sum::<i128>()
            + d.as_i128().unwrap_or(0)
            + d.as_octets().map_or(0, |b| b.len() as i128)
    }
    let bytes = fixtures::load_profile_response_bytes();
    let (total, allocations) = count_allocations(|| match GetResponseRef::from_bytes(&bytes) {
        Ok(GetResponseRef::Normal {
            result: Ok(view), ..
        }) => sum(view),
        other => panic!("{other:?}"),
    });
    assert!(total > 0);
    assert_eq!(allocations, 0);
}
