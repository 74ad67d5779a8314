//! The subspace gradient g_d = Pᵀ·∇θ_D against central finite differences of
//! the loss along θ_0 + P·(θ_d + ε·e_j), for every projection kind, and the
//! d = 1 geometry: θ_D − θ_0 stays on P's single column through training.

use intrinsic_dim::data::IMAGE_LEN;
use intrinsic_dim::nn::Arch;
use intrinsic_dim::projection::ProjectionKind;
use intrinsic_dim::rng::{self, Stream};
use intrinsic_dim::train::subspace::{Timing, Trainer};
use intrinsic_dim::train::{ProjSpec, TrainConfig};

fn small_config(proj: ProjSpec, dim: usize) -> TrainConfig {
    // Adam with its defaults, constant rate, test metric: the subspace defaults.
    TrainConfig {
        arch: Arch::parse("mlp:16").expect("mlp:16 parses"),
        proj,
        dim,
        lr: 1e-2,
        l2: 1e-3,
        batch: 8,
        epochs: 1,
        seed: 3,
        proj_seed: 4,
        data_seed: 5,
        ..TrainConfig::default_subspace()
    }
}

/// A synthetic batch: standard-normal pixels, labels 0..10.
fn batch(rows: usize, seed: u64) -> (Vec<f32>, Vec<u8>) {
    let mut r = rng::stream(seed, Stream::Misc, 0);
    let mut x = vec![0.0f32; rows * IMAGE_LEN];
    rng::fill_normal(&mut r, 1.0, &mut x);
    let y = (0..rows).map(|_| rng::below(&mut r, 10) as u8).collect();
    (x, y)
}

#[test]
fn subspace_gradient_matches_central_differences_for_every_projection() {
    let (x, y) = batch(8, 11);
    for kind in [
        ProjectionKind::Dense,
        ProjectionKind::Sparse,
        ProjectionKind::Fastfood,
    ] {
        let d = 6;
        let mut t = Trainer::new(&small_config(ProjSpec::Kind(kind), d)).expect("trainer builds");
        // Move away from θ_d = 0 so the check is not at a special point.
        let mut r = rng::stream(99, Stream::Misc, 1);
        rng::fill_normal(&mut r, 0.3, t.params_mut());
        let base: Vec<f32> = t.params().to_vec();
        let mut g = vec![0.0f32; d];
        t.loss_and_param_grad(&x, &y, &mut g);
        let eps = 1e-2f32;
        let mut probe = vec![0.0f32; d];
        for (j, &gj) in g.iter().enumerate() {
            t.params_mut().copy_from_slice(&base);
            t.params_mut()[j] += eps;
            let lp = t.loss_and_param_grad(&x, &y, &mut probe) as f64;
            t.params_mut().copy_from_slice(&base);
            t.params_mut()[j] -= eps;
            let lm = t.loss_and_param_grad(&x, &y, &mut probe) as f64;
            let fd = (lp - lm) / (2.0 * eps as f64);
            let err = (fd - gj as f64).abs();
            assert!(
                err <= 2e-3 + 2e-2 * fd.abs().max(gj.abs() as f64),
                "{kind:?}: g_d[{j}] = {gj} but the central difference is {fd} (error {err})"
            );
        }
    }
}

#[test]
fn full_space_gradient_matches_central_differences() {
    let (x, y) = batch(8, 12);
    let mut t = Trainer::new(&small_config(ProjSpec::None, 0)).expect("trainer builds");
    let n = t.small_dim();
    let mut g = vec![0.0f32; n];
    t.loss_and_param_grad(&x, &y, &mut g);
    let base: Vec<f32> = t.params().to_vec();
    let mut probe = vec![0.0f32; n];
    // A few coordinates spread over every tensor.
    for j in (0..n).step_by(n / 13) {
        let eps = 1e-3f32;
        t.params_mut()[j] = base[j] + eps;
        let lp = t.loss_and_param_grad(&x, &y, &mut probe) as f64;
        t.params_mut()[j] = base[j] - eps;
        let lm = t.loss_and_param_grad(&x, &y, &mut probe) as f64;
        t.params_mut()[j] = base[j];
        let fd = (lp - lm) / (2.0 * eps as f64);
        assert!(
            (fd - g[j] as f64).abs() <= 2e-3 + 2e-2 * fd.abs(),
            "∇θ_D[{j}] = {} but the central difference is {fd}",
            g[j]
        );
    }
}

#[test]
fn with_d_equal_one_theta_moves_along_the_single_column() {
    for kind in [
        ProjectionKind::Dense,
        ProjectionKind::Sparse,
        ProjectionKind::Fastfood,
    ] {
        let mut t = Trainer::new(&small_config(ProjSpec::Kind(kind), 1)).expect("trainer builds");
        // P's column, independently: θ_D at θ_d = 1 minus θ_0.
        t.params_mut()[0] = 1.0;
        t.refresh_theta();
        let column: Vec<f64> = t
            .theta()
            .iter()
            .zip(t.theta0())
            .map(|(&a, &b)| a as f64 - b as f64)
            .collect();
        let norm = column.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!(
            (norm - 1.0).abs() < 1e-3,
            "{kind:?}: column norm {norm}, expected 1"
        );
        t.params_mut()[0] = 0.0;
        let mut timing = Timing::default();
        for step in 0..20 {
            let (x, y) = batch(8, 100 + step);
            t.step(&x, &y, &mut timing);
            t.refresh_theta();
            let delta: Vec<f64> = t
                .theta()
                .iter()
                .zip(t.theta0())
                .map(|(&a, &b)| a as f64 - b as f64)
                .collect();
            let dn = delta.iter().map(|v| v * v).sum::<f64>().sqrt();
            let dot: f64 = delta.iter().zip(&column).map(|(a, b)| a * b).sum();
            // |cos| = 1 up to rounding: the component orthogonal to the column is tiny.
            let orth = (dn * dn - dot * dot / (norm * norm)).max(0.0).sqrt();
            assert!(dn > 0.0, "{kind:?}: θ_D did not move at step {step}");
            assert!(
                orth <= 1e-5 * dn.max(1.0),
                "{kind:?}: step {step}: θ_D − θ_0 has an orthogonal part {orth} (norm {dn})"
            );
            assert!(
                (dot / norm - t.params()[0] as f64).abs() <= 1e-4 * dn.max(1.0),
                "{kind:?}: the coordinate along the column ({}) is not θ_d ({})",
                dot / norm,
                t.params()[0]
            );
        }
    }
}
