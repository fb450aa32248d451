//! Any bytes through the manifest_edit decoder: values or `Error::Corruption`,
//! never a panic (see `holdfast::fuzzing::manifest_edit`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    holdfast::fuzzing::manifest_edit(data);
});
