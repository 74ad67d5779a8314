//! Optimiser steps against the textbook formulas, evaluated here in f64
//! element by element (37 parameters: two 16-wide vector blocks plus a
//! 5-element scalar tail), and against numbers worked out by hand.

#![allow(clippy::needless_range_loop)] // index loops mirror the formulas

use intrinsic_dim::train::optim::{Optimizer, OptimizerKind};

fn values(seed: u64, n: usize) -> Vec<f32> {
    let mut r = intrinsic_dim::rng::from_seed(seed);
    (0..n)
        .map(|_| intrinsic_dim::rng::normal(&mut r) as f32)
        .collect()
}

/// Relative tolerance: the library runs in f32 (a handful of roundings per
/// step, ≲ 1e-6 relative); any formula error (missing bias correction, wrong
/// β) is ≥ 1e-2 relative on these numbers.
fn close(a: f32, b: f64, what: &str) {
    assert!(
        ((a as f64) - b).abs() <= 1e-5 * (1.0 + b.abs()),
        "{what}: {a} vs {b}"
    );
}

#[test]
fn adam_matches_the_bias_corrected_formula() {
    let n = 37;
    let (b1, b2, eps, lr) = (0.8f64, 0.95f64, 1e-3f64, 0.05f64);
    let mut opt = Optimizer::new(
        OptimizerKind::Adam {
            beta1: b1 as f32,
            beta2: b2 as f32,
            eps: eps as f32,
        },
        lr as f32,
        n,
    );
    let mut p = values(1, n);
    let mut pr: Vec<f64> = p.iter().map(|&v| v as f64).collect();
    let (mut m, mut v) = (vec![0.0f64; n], vec![0.0f64; n]);
    for t in 1..=5 {
        let g = values(10 + t as u64, n);
        opt.step(&mut p, &g);
        for i in 0..n {
            let gi = g[i] as f64;
            m[i] = b1 * m[i] + (1.0 - b1) * gi;
            v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
            let mh = m[i] / (1.0 - b1.powi(t));
            let vh = v[i] / (1.0 - b2.powi(t));
            pr[i] -= lr * mh / (vh.sqrt() + eps);
        }
        for i in 0..n {
            close(p[i], pr[i], &format!("step {t}, θ[{i}]"));
        }
    }
    assert_eq!(opt.steps(), 5);
}

#[test]
fn adam_first_step_by_hand() {
    // After one step m̂ = g and v̂ = g², so θ ← θ − lr·g/(|g| + ε) ≈ θ − lr·sign(g).
    let mut opt = Optimizer::new(OptimizerKind::adam(), 0.1, 3);
    let mut p = [1.0f32, -2.0, 0.5];
    opt.step(&mut p, &[4.0, -0.25, 0.0]);
    close(p[0], 0.9, "θ0");
    close(p[1], -1.9, "θ1");
    assert_eq!(p[2], 0.5, "zero gradient, no move");
    // Second step, same g = 4 on θ0: m = 0.9·0.4 + 0.4 = 0.76 → m̂ = 0.76/0.19 = 4;
    // v = 0.999·0.016 + 0.016 = 0.031984 → v̂ = 0.031984/0.001999 = 16: again −lr.
    opt.step(&mut p, &[4.0, 0.0, 0.0]);
    close(p[0], 0.8, "θ0 after two steps");
}

#[test]
fn sgd_momentum_matches_the_formula_and_by_hand() {
    let n = 37;
    let (mu, lr) = (0.9f64, 0.1f64);
    let mut opt = Optimizer::new(
        OptimizerKind::Sgd {
            momentum: mu as f32,
        },
        lr as f32,
        n,
    );
    let mut p = values(2, n);
    let mut pr: Vec<f64> = p.iter().map(|&v| v as f64).collect();
    let mut vel = vec![0.0f64; n];
    for t in 1..=4 {
        let g = values(20 + t, n);
        opt.step(&mut p, &g);
        for i in 0..n {
            vel[i] = mu * vel[i] + g[i] as f64;
            pr[i] -= lr * vel[i];
            close(p[i], pr[i], &format!("step {t}, θ[{i}]"));
        }
    }
    // By hand: g = 1 twice from θ = 0 with μ = 0.5, lr = 1: v = 1, θ = −1; v = 1.5, θ = −2.5.
    let mut o = Optimizer::new(OptimizerKind::Sgd { momentum: 0.5 }, 1.0, 1);
    let mut q = [0.0f32];
    o.step(&mut q, &[1.0]);
    assert_eq!(q[0], -1.0);
    o.step(&mut q, &[1.0]);
    assert_eq!(q[0], -2.5);
    // Reset forgets the velocity: the next step is a plain gradient step.
    o.reset();
    o.step(&mut q, &[1.0]);
    assert_eq!(q[0], -3.5);
    assert_eq!(o.steps(), 1);
}

#[test]
fn adam_reset_restarts_bias_correction() {
    let mut opt = Optimizer::new(OptimizerKind::adam(), 0.01, 20);
    let mut p = vec![0.0f32; 20];
    for _ in 0..3 {
        opt.step(&mut p, &values(5, 20));
    }
    opt.reset();
    let mut fresh = Optimizer::new(OptimizerKind::adam(), 0.01, 20);
    let (mut a, mut b) = (p.clone(), p.clone());
    let g = values(6, 20);
    opt.step(&mut a, &g);
    fresh.step(&mut b, &g);
    assert_eq!(a, b);
}

#[test]
fn large_steps_split_across_threads_give_the_same_bits() {
    // 100,003 parameters: several parallel blocks plus a scalar tail.
    let n = 100_003;
    let g = values(7, n);
    for kind in [OptimizerKind::adam(), OptimizerKind::Sgd { momentum: 0.9 }] {
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    let mut opt = Optimizer::new(kind, 0.01, n);
                    let mut p = values(8, n);
                    opt.step(&mut p, &g);
                    opt.step(&mut p, &g);
                    p
                })
        };
        let one = run(1);
        assert_eq!(one, run(2));
        // And equal to the formula on a few coordinates (Adam: two equal
        // gradients give m̂ = g, v̂ = g², so each step moves by lr·g/(|g|+ε)).
        if let OptimizerKind::Adam { .. } = kind {
            let p0 = values(8, n);
            for i in [0, 65_535, 65_536, n - 1] {
                let want = p0[i] as f64 - 2.0 * 0.01 * g[i] as f64 / (g[i].abs() as f64 + 1e-8);
                close(one[i], want, &format!("θ[{i}]"));
            }
        }
    }
}

#[test]
fn cosine_schedule_follows_its_closed_form() {
    use intrinsic_dim::train::LrSchedule;
    let (lr, total) = (0.1f32, 1000u64);
    let c = LrSchedule::Cosine;
    assert_eq!(c.lr_at(lr, 0, total), lr);
    // cos(π/4) = 1/√2, cos(π/2) = 0, cos(3π/4) = −1/√2.
    let half = std::f64::consts::FRAC_1_SQRT_2;
    for (t, want) in [(250, 0.5 + 0.5 * half), (500, 0.5), (750, 0.5 - 0.5 * half)] {
        let got = c.lr_at(lr, t, total) as f64;
        assert!((got - 0.1 * want).abs() < 1e-8, "t = {t}: {got}");
    }
    let all: Vec<f32> = (0..total).map(|t| c.lr_at(lr, t, total)).collect();
    assert!(all.windows(2).all(|w| w[1] < w[0]));
    assert!(all[total as usize - 1] > 0.0 && all[total as usize - 1] < 1e-6);
    assert!((0..total).all(|t| LrSchedule::Constant.lr_at(lr, t, total) == lr));
    assert!(LrSchedule::parse("linear").is_err());
}
