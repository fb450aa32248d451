//! Any bytes as a record's retention metadata: decoded or refused, never a
//! panic; decoded metadata re-encodes to the same bytes (see
//! `holdfast::fuzzing::record_meta`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    holdfast::fuzzing::record_meta(data);
});
