//! Operation sequences — writes, batches, flushes, compactions, injected
//! I/O errors, power cuts and reopens — on the simulated file system,
//! against a model (see `holdfast::fuzzing::op_sequence`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    holdfast::fuzzing::op_sequence(data);
});
