//! Any bytes as an audit entry payload or as the records of an audit file:
//! decoded or refused with `Error::Corruption`, never a panic; decoded
//! entries re-encode to the same bytes (see `holdfast::fuzzing::audit_entry`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    holdfast::fuzzing::audit_entry(data);
});
