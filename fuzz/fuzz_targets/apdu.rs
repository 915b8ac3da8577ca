//! Raw bytes as a whole APDU and as one A-XDR `Data` value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use reanimator::dlms::apdu::Apdu;
use reanimator::dlms::codec::Codec;
use reanimator::dlms::data::Data;
use reanimator_fuzz::{assert_round_trip, bounded};

fuzz_target!(|input: &[u8]| {
    if let Ok(apdu) = bounded("Apdu", input.len(), || Apdu::from_bytes(input)) {
        assert_round_trip("Apdu", &apdu);
    }
    if let Ok(data) = bounded("Data", input.len(), || Data::from_bytes(input)) {
        assert_round_trip("Data", &data);
    }
});
