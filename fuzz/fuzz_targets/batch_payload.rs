//! Any bytes as a batch payload: decoded or refused, never a panic, and a
//! decoded batch re-encodes to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    holdfast::fuzzing::batch_payload(data);
});
