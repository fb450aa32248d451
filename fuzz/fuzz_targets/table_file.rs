//! Any bytes through the table_file decoder: values or `Error::Corruption`,
//! never a panic (see `holdfast::fuzzing::table_file`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    holdfast::fuzzing::table_file(data);
});
