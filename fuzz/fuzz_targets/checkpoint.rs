//! Arbitrary bytes as a compressed checkpoint: `Checkpoint::from_bytes` must
//! return `Ok`/`Err`, never panic, and whatever it accepts must satisfy the
//! format's invariants and re-encode to exactly the same bytes.
#![no_main]

use intrinsic_dim::checkpoint::Checkpoint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(ck) = Checkpoint::from_bytes(data) {
        assert!(ck.small_dim >= 1 && ck.small_dim <= ck.big_dim);
        assert_eq!(ck.params.len(), ck.small_dim);
        assert!(ck.params.iter().all(|v| v.is_finite()));
        assert!(ck.test_correct <= ck.test_examples);
        assert_eq!(ck.to_bytes(), data);
    }
});
