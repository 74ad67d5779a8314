//! Compressed checkpoints: round trip through training and `evaluate_checkpoint`
//! (same accuracy bits), thread-count independence, and every corruption path
//! of the reader (a clear error, never a panic), plus a replay of the fuzz corpus.

use intrinsic_dim::checkpoint::{Checkpoint, CheckpointError, fnv1a64};
use intrinsic_dim::data::{self, DataConfig, Dataset};
use intrinsic_dim::nn::Arch;
use intrinsic_dim::projection::ProjectionKind;
use intrinsic_dim::train::progress::Silent;
use intrinsic_dim::train::restore::{checkpoint_of, evaluate_checkpoint, rebuild_theta};
use intrinsic_dim::train::subspace::train;
use intrinsic_dim::train::{ProjSpec, TrainConfig};
use proptest::prelude::*;
use std::sync::OnceLock;

fn dataset() -> &'static Dataset {
    static D: OnceLock<Dataset> = OnceLock::new();
    D.get_or_init(|| {
        let mut c = DataConfig::mnist_default();
        c.train_subset = Some(600);
        data::load(&c).expect("the bundled MNIST loads")
    })
}

fn config(proj: ProjSpec, dim: usize) -> TrainConfig {
    // Adam with its defaults, constant rate, test metric: the subspace defaults.
    TrainConfig {
        arch: Arch::parse("mlp:32").expect("mlp:32 parses"),
        proj,
        dim,
        lr: if proj == ProjSpec::None { 1e-3 } else { 2e-2 },
        l2: 0.0,
        batch: 32,
        epochs: 2,
        seed: 7,
        proj_seed: 8,
        data_seed: 9,
        ..TrainConfig::default_subspace()
    }
}

fn trained(proj: ProjSpec, dim: usize) -> Checkpoint {
    let r = train(&config(proj, dim), dataset(), &mut Silent).expect("training runs");
    checkpoint_of(&r, None)
}

/// A valid small checkpoint without training (for the corruption tests).
fn sample() -> Checkpoint {
    let arch = Arch::parse("mlp:32").unwrap();
    let big = intrinsic_dim::nn::Network::new(&arch, 1)
        .unwrap()
        .num_params();
    Checkpoint {
        arch,
        proj: ProjSpec::Kind(ProjectionKind::Fastfood),
        big_dim: big,
        small_dim: 5,
        seed: 1,
        proj_seed: 2,
        pixel_shuffle_seed: None,
        test_correct: 3,
        test_examples: 4,
        test_accuracy: 0.75,
        params: vec![0.5, -1.0, 2.0, 0.0, 1e-3],
    }
}

/// Recomputes the trailing checksum after an edit, so a test reaches the check behind it.
fn reseal(b: &mut [u8]) {
    let n = b.len() - 8;
    let h = fnv1a64(&b[..n]);
    b[n..].copy_from_slice(&h.to_le_bytes());
}

/// Offset of the fixed fields after the model name.
fn after_name(b: &[u8]) -> usize {
    14 + u16::from_le_bytes([b[12], b[13]]) as usize
}

#[test]
fn round_trip_reproduces_the_recorded_accuracy_bit_for_bit() {
    for (proj, dim) in [
        (ProjSpec::Kind(ProjectionKind::Fastfood), 200),
        (ProjSpec::Kind(ProjectionKind::Sparse), 200),
        (ProjSpec::Kind(ProjectionKind::Dense), 200),
        (ProjSpec::None, 0),
    ] {
        let ck = trained(proj, dim);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("net.idim");
        ck.save(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), ck.encoded_len());
        assert_eq!(bytes.len(), 14 + "mlp:32".len() + 66 + 4 * ck.small_dim + 8);
        let back = Checkpoint::load(&path).unwrap();
        assert_eq!(back, ck);
        let out = evaluate_checkpoint(&back, dataset()).unwrap();
        assert_eq!(out.correct as u64, ck.test_correct, "{proj:?}");
        assert_eq!(
            out.accuracy.to_bits(),
            ck.test_accuracy.to_bits(),
            "{proj:?}"
        );
        assert!(out.matches_recorded);
        // The trained network is far above chance (10 %): on 10,000 test
        // examples a chance-level classifier exceeds 20 % with probability < 1e-200.
        assert!(
            ck.test_accuracy > 0.2,
            "{proj:?}: accuracy {}",
            ck.test_accuracy
        );
    }
}

#[test]
fn same_seed_gives_identical_checkpoint_bytes_with_one_and_two_threads() {
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| trained(ProjSpec::Kind(ProjectionKind::Fastfood), 30).to_bytes())
    };
    let a = run(1);
    let b = run(2);
    assert!(a == b, "checkpoint bytes differ between 1 and 2 threads");
}

#[test]
fn rebuilt_theta_is_theta0_plus_p_theta_d() {
    // θ_D − θ_0 from the rebuild is linear in θ_d: rebuild(2·θ_d) − θ_0 = 2·(rebuild(θ_d) − θ_0).
    let mut ck = sample();
    let zero = {
        let mut z = ck.clone();
        z.params = vec![0.0; 5];
        rebuild_theta(&z).unwrap()
    };
    let one = rebuild_theta(&ck).unwrap();
    ck.params.iter_mut().for_each(|v| *v *= 2.0);
    let two = rebuild_theta(&ck).unwrap();
    let mut moved = 0.0f64;
    for i in 0..one.len() {
        let a = (one[i] - zero[i]) as f64;
        let b = (two[i] - zero[i]) as f64;
        assert!(
            (b - 2.0 * a).abs() <= 1e-5 * (1.0 + a.abs()),
            "entry {i}: {a} vs {b}"
        );
        moved += a * a;
    }
    assert!(moved > 0.0);
}

#[test]
fn truncated_files_are_errors() {
    let b = sample().to_bytes();
    for n in [
        0,
        1,
        7,
        8,
        13,
        14,
        20,
        b.len() - 9,
        b.len() - 8,
        b.len() - 1,
    ] {
        let e = Checkpoint::from_bytes(&b[..n]).unwrap_err();
        assert!(
            matches!(
                e,
                CheckpointError::Truncated { .. } | CheckpointError::Size { .. }
            ),
            "length {n}: {e}"
        );
    }
}

#[test]
fn bad_magic_version_and_checksum_are_errors() {
    let good = sample().to_bytes();
    let mut b = good.clone();
    b[0] = b'X';
    assert!(matches!(
        Checkpoint::from_bytes(&b),
        Err(CheckpointError::BadMagic)
    ));
    let mut b = good.clone();
    b[8..12].copy_from_slice(&2u32.to_le_bytes());
    reseal(&mut b);
    let e = Checkpoint::from_bytes(&b).unwrap_err();
    assert!(matches!(e, CheckpointError::Version { found: 2 }), "{e}");
    assert!(e.to_string().contains("version 2"));
    // One flipped bit anywhere after the version is caught by the checksum.
    for pos in [
        12 + 2,
        after_name(&good) + 5,
        good.len() - 12,
        good.len() - 1,
    ] {
        let mut b = good.clone();
        b[pos] ^= 0x10;
        let e = Checkpoint::from_bytes(&b).unwrap_err();
        assert!(
            matches!(
                e,
                CheckpointError::Checksum { .. }
                    | CheckpointError::Size { .. }
                    | CheckpointError::BadName(_)
                    | CheckpointError::Truncated { .. }
            ),
            "flip at {pos}: {e}"
        );
    }
    let mut b = good.clone();
    let last = b.len() - 20;
    b[last] ^= 1;
    assert!(matches!(
        Checkpoint::from_bytes(&b),
        Err(CheckpointError::Checksum { .. })
    ));
}

#[test]
fn inconsistent_sizes_and_dimensions_are_errors() {
    let good = sample().to_bytes();
    let o = after_name(&good);
    // d field says 6 but 5 values follow.
    let mut b = good.clone();
    b[o + 9..o + 17].copy_from_slice(&6u64.to_le_bytes());
    assert!(matches!(
        Checkpoint::from_bytes(&b),
        Err(CheckpointError::Size { d: 6, .. })
    ));
    // A huge d must not allocate or overflow.
    let mut b = good.clone();
    b[o + 9..o + 17].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        Checkpoint::from_bytes(&b),
        Err(CheckpointError::Size { .. })
    ));
    // d > D with a consistent size.
    let mut ck = sample();
    ck.big_dim = 4;
    let b = ck.to_bytes();
    let e = Checkpoint::from_bytes(&b).unwrap_err();
    assert!(matches!(e, CheckpointError::Dims(_)), "{e}");
    // D that is not the model's parameter count.
    let mut ck = sample();
    ck.big_dim += 1;
    let e = Checkpoint::from_bytes(&ck.to_bytes()).unwrap_err();
    assert!(matches!(e, CheckpointError::ModelSize { .. }), "{e}");
    // Full space with d ≠ D.
    let mut ck = sample();
    ck.proj = ProjSpec::None;
    let e = Checkpoint::from_bytes(&ck.to_bytes()).unwrap_err();
    assert!(matches!(e, CheckpointError::Dims(_)), "{e}");
    // d = 0.
    let mut ck = sample();
    ck.small_dim = 0;
    ck.params.clear();
    let e = Checkpoint::from_bytes(&ck.to_bytes()).unwrap_err();
    assert!(matches!(e, CheckpointError::Dims(_)), "{e}");
}

#[test]
fn unknown_model_projection_and_bad_values_are_errors() {
    let good = sample().to_bytes();
    let o = after_name(&good);
    let mut b = good.clone();
    b[14..17].copy_from_slice(b"zzz");
    reseal(&mut b);
    let e = Checkpoint::from_bytes(&b).unwrap_err();
    assert!(matches!(e, CheckpointError::Model { .. }), "{e}");
    assert!(e.to_string().contains("zzz:32"));
    // "MLP:32" parses (case-insensitively) but is not the canonical spelling.
    let mut b = good.clone();
    b[14..17].copy_from_slice(b"MLP");
    reseal(&mut b);
    let e = Checkpoint::from_bytes(&b).unwrap_err();
    assert!(e.to_string().contains("canonical"), "{e}");
    // A pixel seed without the flag.
    let mut b = good.clone();
    b[o + 34] = 1;
    reseal(&mut b);
    assert!(matches!(
        Checkpoint::from_bytes(&b),
        Err(CheckpointError::Values(_))
    ));
    let mut b = good.clone();
    b[14] = 0xff;
    reseal(&mut b);
    assert!(matches!(
        Checkpoint::from_bytes(&b),
        Err(CheckpointError::BadName(_))
    ));
    let mut b = good.clone();
    b[12..14].copy_from_slice(&0u16.to_le_bytes());
    assert!(matches!(
        Checkpoint::from_bytes(&b),
        Err(CheckpointError::BadName(_))
    ));
    let mut b = good.clone();
    b[o] = 9;
    reseal(&mut b);
    assert!(matches!(
        Checkpoint::from_bytes(&b),
        Err(CheckpointError::Projection(9))
    ));
    let mut b = good.clone();
    b[o + 33] = 2;
    reseal(&mut b);
    assert!(matches!(
        Checkpoint::from_bytes(&b),
        Err(CheckpointError::Flag(2))
    ));
    let mut ck = sample();
    ck.params[2] = f32::NAN;
    let e = Checkpoint::from_bytes(&ck.to_bytes()).unwrap_err();
    assert!(matches!(e, CheckpointError::Values(_)), "{e}");
    let mut ck = sample();
    ck.test_accuracy = 0.5;
    let e = Checkpoint::from_bytes(&ck.to_bytes()).unwrap_err();
    assert!(matches!(e, CheckpointError::Values(_)), "{e}");
    let mut ck = sample();
    ck.test_correct = 5;
    let e = Checkpoint::from_bytes(&ck.to_bytes()).unwrap_err();
    assert!(matches!(e, CheckpointError::Values(_)), "{e}");
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let e = Checkpoint::load(std::path::Path::new("/no/such/file.idim")).unwrap_err();
    assert!(e.to_string().contains("/no/such/file.idim"));
}

#[test]
fn fnv1a64_matches_published_vectors() {
    // Test vectors from the FNV reference (Fowler, Noll, Vo).
    assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
    assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
    assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
}

#[test]
fn fuzz_corpus_replays_without_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/checkpoint");
    let entries = std::fs::read_dir(&dir).expect("fuzz/corpus/checkpoint exists");
    let mut n = 0;
    let mut valid = 0;
    for e in entries {
        let p = e.unwrap().path();
        if p.is_file() {
            let bytes = std::fs::read(&p).unwrap();
            if Checkpoint::from_bytes(&bytes).is_ok() {
                valid += 1;
            }
            n += 1;
        }
    }
    assert!(n >= 3, "the corpus has only {n} files");
    assert!(
        valid >= 1,
        "the corpus should hold at least one valid checkpoint"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn random_edits_never_panic(pos in 0usize..200, byte in any::<u8>(), cut in 0usize..200) {
        let mut b = sample().to_bytes();
        let p = pos % b.len();
        b[p] = byte;
        let c = cut.min(b.len());
        let _ = Checkpoint::from_bytes(&b[..b.len() - c]);
        reseal(&mut b);
        if let Ok(ck) = Checkpoint::from_bytes(&b) {
            // Whatever is accepted re-encodes to exactly the same bytes.
            prop_assert_eq!(ck.to_bytes(), b);
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Checkpoint::from_bytes(&bytes);
        let mut b = b"IDIMCKPT\x01\x00\x00\x00".to_vec();
        b.extend_from_slice(&bytes);
        let _ = Checkpoint::from_bytes(&b);
    }
}
