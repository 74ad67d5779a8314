//! Arbitrary bytes as an IDX labels file, an IDX images file, a SHA256SUMS
//! list and a cache sidecar: every parser must return `Ok`/`Err`, never
//! panic, and what it accepts must satisfy its invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    intrinsic_dim::data::idx::exercise_parsers(data);
});
