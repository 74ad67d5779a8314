//! A short real training run of fc and LeNet on a synthetic but non-trivial
//! learnable problem (the MNIST run is added with the data module).
//!
//! Problem: 10 classes, each a smooth 28×28 prototype (a 7×7 N(0,1) grid
//! blown up 4×), shown at a random translation of −2..=2 pixels in each
//! direction (zero fill) under N(0, 2²) pixel noise (twice the prototype scale). Fresh examples every
//! step (no overfitting), 1,000 held-out test examples.
//!
//! Threshold: ≥ 80 % test accuracy after the stated number of Adam steps.
//! Chance is 10 %; a classifier guessing at random reaches 80 % of 1,000
//! with probability < 10⁻⁵⁰⁰ (binomial tail), so passing by luck is
//! impossible; an untrained network (θ_0) is checked to be near chance.

#![allow(clippy::needless_range_loop)] // index loops mirror the formulas

use intrinsic_dim::nn::{Arch, Network};
use intrinsic_dim::rng::{self, Stream};
use intrinsic_dim::train::optim::{Optimizer, OptimizerKind};

struct Problem {
    protos: Vec<f32>, // 10 × 784
}

impl Problem {
    fn new(seed: u64) -> Problem {
        let mut r = rng::stream(seed, Stream::Misc, 0);
        let mut protos = vec![0.0; 10 * 784];
        for c in 0..10 {
            let grid: Vec<f32> = (0..49).map(|_| rng::normal(&mut r) as f32).collect();
            for y in 0..28 {
                for x in 0..28 {
                    protos[c * 784 + y * 28 + x] = grid[(y / 4) * 7 + x / 4];
                }
            }
        }
        Problem { protos }
    }

    /// Fill `x`, `y` with examples drawn from stream `sub`.
    fn sample(&self, seed: u64, sub: u64, x: &mut [f32], y: &mut [u8]) {
        let mut r = rng::stream(seed, Stream::Misc, sub);
        for (e, label) in y.iter_mut().enumerate() {
            let c = rng::below(&mut r, 10) as usize;
            *label = c as u8;
            let dy = rng::below(&mut r, 5) as isize - 2;
            let dx = rng::below(&mut r, 5) as isize - 2;
            let img = &mut x[e * 784..(e + 1) * 784];
            for yy in 0..28isize {
                for xx in 0..28isize {
                    let (sy, sx) = (yy - dy, xx - dx);
                    let v = if (0..28).contains(&sy) && (0..28).contains(&sx) {
                        self.protos[c * 784 + (sy * 28 + sx) as usize]
                    } else {
                        0.0
                    };
                    img[(yy * 28 + xx) as usize] = v + 2.0 * rng::normal(&mut r) as f32;
                }
            }
        }
    }
}

fn train(arch: Arch, steps: u64, batch: usize, lr: f32) -> (f64, f64) {
    let seed = 42;
    let problem = Problem::new(seed);
    let mut net = Network::new(&arch, batch).unwrap();
    let mut theta = vec![0.0; net.num_params()];
    net.init(seed, &mut theta);
    let mut grad = vec![0.0; theta.len()];
    let mut opt = Optimizer::new(OptimizerKind::adam(), lr, theta.len());
    let nt = 1000;
    let (mut xt, mut yt) = (vec![0.0; nt * 784], vec![0u8; nt]);
    problem.sample(seed, 1_000_000, &mut xt, &mut yt);
    let (_, before) = net.evaluate(&theta, &xt, &yt);
    let (mut x, mut y) = (vec![0.0; batch * 784], vec![0u8; batch]);
    for step in 0..steps {
        problem.sample(seed, step + 1, &mut x, &mut y);
        let loss = net.loss_grad(&theta, &x, &y, 1e-4, &mut grad);
        assert!(loss.is_finite(), "step {step}: loss {loss}");
        opt.step(&mut theta, &grad);
    }
    let (_, after) = net.evaluate(&theta, &xt, &yt);
    (before as f64 / nt as f64, after as f64 / nt as f64)
}

#[test]
fn fc_learns_the_synthetic_problem() {
    let (before, after) = train(Arch::fc(), 100, 32, 1e-3);
    println!("fc: test accuracy {before:.3} at θ_0, {after:.3} after 100 steps");
    assert!(before < 0.3, "θ_0 should be near chance, got {before}");
    assert!(after >= 0.8, "fc reached only {after}");
}

#[test]
fn lenet_learns_the_synthetic_problem() {
    let (before, after) = train(Arch::lenet(), 100, 32, 2e-3);
    println!("lenet: test accuracy {before:.3} at θ_0, {after:.3} after 100 steps");
    assert!(before < 0.3, "θ_0 should be near chance, got {before}");
    assert!(after >= 0.8, "lenet reached only {after}");
}
