//! The operation-sequence fuzz target's function, run over pseudo-random
//! inputs on every `cargo test`, so the target cannot rot between fuzzing
//! campaigns (`fuzz/fuzz_targets/op_sequence.rs`; `HOLDFAST_OPSEQ_CASES`
//! for more cases).

#[test]
fn pseudo_random_operation_sequences_match_the_model() {
    let cases: u64 = std::env::var("HOLDFAST_OPSEQ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let mut x = 0x0123_4567_89AB_CDEFu64;
    for case in 0..cases {
        let len = 16 + (case % 200) as usize;
        let input: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        holdfast::fuzzing::op_sequence(&input);
    }
}

/// The committed seeds of the fuzz target, each replayed.
#[test]
fn committed_seeds_replay() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/op_sequence");
    let mut replayed = 0;
    for entry in std::fs::read_dir(dir).expect("seed directory") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("seed");
        holdfast::fuzzing::op_sequence(&bytes);
        replayed += 1;
    }
    assert!(replayed > 0);
}
