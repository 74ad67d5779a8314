//! A short real MNIST run: fc in full space on 2,000 training examples for 2
//! epochs must be far above chance on the 10,000 test images.
//!
//! Threshold 80 %: a classifier at chance (10 %) has a binomial standard
//! deviation of 0.3 % on 10,000 test examples, so 80 % is ~230 standard
//! deviations away: it cannot pass by luck, only by learning. (PyTorch with
//! the same schedule reaches about 88–90 %.)

use intrinsic_dim::data::{self, DataConfig};
use intrinsic_dim::train::progress::Silent;
use intrinsic_dim::train::subspace::train;
use intrinsic_dim::train::{ProjSpec, TrainConfig};

#[test]
fn fc_full_space_on_2000_examples_learns() {
    let mut c = DataConfig::mnist_default();
    c.train_subset = Some(2000);
    let data = data::load(&c).expect("bundled MNIST");
    let mut cfg = TrainConfig::default_subspace();
    cfg.proj = ProjSpec::None;
    cfg.lr = 1e-3;
    cfg.epochs = 2;
    let r = train(&cfg, &data, &mut Silent).unwrap();
    assert_eq!(r.epochs.len(), 2);
    assert_eq!(r.train_examples, 2000);
    assert_eq!(r.test_examples, 10_000);
    let acc = r.last().test_accuracy;
    assert!(acc >= 0.80, "test accuracy {acc}");
    // Training reduced the loss from its initial value (ln 10 ≈ 2.3 or more).
    assert!(r.epochs[1].train_loss < r.epochs[0].train_loss);
    assert!(r.last().test_loss < 1.0);
}
