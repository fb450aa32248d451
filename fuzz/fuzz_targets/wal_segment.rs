//! Any bytes as the newest or an older WAL segment, in both recovery modes:
//! the parser returns records or `Error::Corruption`, never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    holdfast::fuzzing::wal_segment(data);
});
