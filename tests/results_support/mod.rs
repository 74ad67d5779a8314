//! A results row for tests of the sweep summaries and report analyses.

use intrinsic_dim::train::results::Row;

/// An fc run (2 epochs, batch 128, Adam) of `proj` at `dim` whose test
/// accuracy is `acc`, with a per-epoch curve ending at `acc`.
pub fn row(proj: &str, dim: usize, seed: u64, acc: f64) -> Row {
    Row {
        model: "fc".into(),
        proj: proj.into(),
        big_dim: 199_210,
        dim,
        seed,
        proj_seed: seed,
        data_seed: seed,
        epochs: 2,
        batch: 128,
        optimizer: "adam(lr=0.01;b1=0.9;b2=0.999)".into(),
        l2: 0.0,
        dataset: "mnist".into(),
        train_examples: 60_000,
        test_examples: 10_000,
        test_correct: (acc * 10_000.0).round() as usize,
        test_accuracy: acc,
        test_loss: 0.3,
        train_loss: 0.25,
        seconds: 2.0,
        examples_per_sec: 90_000.0,
        train_accuracy: None,
        curve: vec![acc - 0.1, acc],
    }
}
