//! The paper's toy problem, whose intrinsic dimension is exactly 10.
//!
//! θ ∈ R^1000 is split into 10 groups of 100 consecutive entries; the loss is
//!
//! ```text
//! L(θ) = Σ_{g=0}^{9} (Σ_{i ∈ group g} θ_i − (g + 1))²,   performance = e^(−L)
//! ```
//!
//! so only the 10 group sums matter: the solution set is an affine subspace
//! of codimension 10, and a random d-dimensional affine subspace θ_0 + P·θ_d
//! meets it (for almost every P) if and only if d ≥ 10.
//!
//! With S the 10×1000 group-sum matrix, L = ‖M·θ_d − r‖² with M = S·P
//! (10×d) and r = target − S·θ_0. Training here is *exact least squares* in
//! the subspace (the optimum any optimiser converges to): M is formed column
//! by column through the real projection (`forward_add` of unit vectors),
//! the normal equations are solved in f64 (MᵀM·θ_d = Mᵀr for d < 10, the
//! minimum-norm θ_d = Mᵀ(MMᵀ)⁻¹r for d ≥ 10), and the loss is then measured
//! on θ_D = θ_0 + P·θ_d in f32, the way the network is trained.
//!
//! A d **solves** the problem when the performance e^(−L) reaches
//! [`SOLVED`] = 0.99 (L ≤ 0.01). For d < 10 the residual is the distance
//! from r (‖r‖ ≈ 20) to a random d-dimensional subspace of R^10, L ≈ 39·(10 −
//! d)/10 on average, so performance is ≈ 0; for d ≥ 10 L is only rounding.

use super::ProjSpec;
use super::TrainError;
use super::subspace::projection_for;
use crate::projection::ProjectionKind;
use crate::rng::{self, Stream};

/// D of the toy problem.
pub const TOY_BIG: usize = 1000;
/// Number of groups (the intrinsic dimension).
pub const TOY_GROUPS: usize = 10;
/// The performance e^(−L) at and above which a d solves the problem.
pub const SOLVED: f64 = 0.99;

/// The toy loss Σ_g (Σ_{i∈g} θ_i − (g+1))², accumulated in f64. O(D).
///
/// # Panics
/// If `theta.len() != 1000`.
pub fn toy_loss(theta: &[f32]) -> f64 {
    assert_eq!(theta.len(), TOY_BIG, "toy θ has 1000 entries");
    let per = TOY_BIG / TOY_GROUPS;
    (0..TOY_GROUPS)
        .map(|g| {
            let s: f64 = theta[g * per..(g + 1) * per]
                .iter()
                .map(|&v| v as f64)
                .sum();
            (s - (g + 1) as f64).powi(2)
        })
        .sum()
}

/// One row of the toy sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct ToyRow {
    /// d.
    pub dim: usize,
    /// The loss at the subspace optimum, measured on θ_D in f32.
    pub loss: f64,
    /// e^(−loss).
    pub performance: f64,
    /// performance ≥ [`SOLVED`].
    pub solved: bool,
}

/// The outcome of [`toy_sweep`].
#[derive(Clone, Debug)]
pub struct ToyOutcome {
    /// One row per d.
    pub rows: Vec<ToyRow>,
    /// The smallest d that solves the problem (the intrinsic dimension).
    pub intrinsic_dim: Option<usize>,
}

/// Solves the square system A·x = b (n×n, row-major) by Gaussian
/// elimination with partial pivoting in f64. Returns None if A is singular
/// to working precision. O(n³).
fn solve(mut a: Vec<f64>, mut b: Vec<f64>, n: usize) -> Option<Vec<f64>> {
    let scale = a.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
    for c in 0..n {
        let p = (c..n).max_by(|&i, &j| a[i * n + c].abs().total_cmp(&a[j * n + c].abs()))?;
        if a[p * n + c].abs() <= 1e-13 * scale {
            return None;
        }
        if p != c {
            for k in 0..n {
                a.swap(p * n + k, c * n + k);
            }
            b.swap(p, c);
        }
        for r in c + 1..n {
            let f = a[r * n + c] / a[c * n + c];
            for k in c..n {
                a[r * n + k] -= f * a[c * n + k];
            }
            b[r] -= f * b[c];
        }
    }
    let mut x = vec![0.0; n];
    for c in (0..n).rev() {
        let s: f64 = (c + 1..n).map(|k| a[c * n + k] * x[k]).sum();
        x[c] = (b[c] - s) / a[c * n + c];
    }
    Some(x)
}

/// Solves the toy problem in a random subspace of each dimension in `dims`
/// with projection `kind` (seed `proj_seed`) and θ_0 ~ N(0, 1) (seed
/// `seed`, stream Misc). Time O(Σ_d (d·cost(P·x) + d·10² + 10³)).
pub fn toy_sweep(
    kind: ProjectionKind,
    dims: &[usize],
    seed: u64,
    proj_seed: u64,
) -> Result<ToyOutcome, TrainError> {
    let per = TOY_BIG / TOY_GROUPS;
    let mut theta0 = vec![0.0f32; TOY_BIG];
    rng::fill_normal(&mut rng::stream(seed, Stream::Misc, 0), 1.0, &mut theta0);
    let group_sums = |v: &[f32]| -> Vec<f64> {
        (0..TOY_GROUPS)
            .map(|g| v[g * per..(g + 1) * per].iter().map(|&x| x as f64).sum())
            .collect()
    };
    let s0 = group_sums(&theta0);
    let r: Vec<f64> = (0..TOY_GROUPS).map(|g| (g + 1) as f64 - s0[g]).collect();
    let mut rows = Vec::with_capacity(dims.len());
    for &d in dims {
        let mut p = projection_for(ProjSpec::Kind(kind), TOY_BIG, d, proj_seed)?
            .expect("a projection kind always builds a projection");
        // M = S·P, column by column: P·e_j then the group sums.
        let mut m = vec![0.0f64; TOY_GROUPS * d];
        let mut e = vec![0.0f32; d];
        let mut col = vec![0.0f32; TOY_BIG];
        for j in 0..d {
            e[j] = 1.0;
            col.fill(0.0);
            p.forward_add(&e, &mut col);
            e[j] = 0.0;
            for (g, s) in group_sums(&col).into_iter().enumerate() {
                m[g * d + j] = s;
            }
        }
        let theta_d: Vec<f64> = if d < TOY_GROUPS {
            // MᵀM θ = Mᵀ r
            let mut a = vec![0.0; d * d];
            let mut b = vec![0.0; d];
            for i in 0..d {
                for k in 0..d {
                    a[i * d + k] = (0..TOY_GROUPS).map(|g| m[g * d + i] * m[g * d + k]).sum();
                }
                b[i] = (0..TOY_GROUPS).map(|g| m[g * d + i] * r[g]).sum();
            }
            solve(a, b, d).unwrap_or_else(|| vec![0.0; d])
        } else {
            // θ = Mᵀ (M Mᵀ)⁻¹ r
            let n = TOY_GROUPS;
            let mut a = vec![0.0; n * n];
            for g in 0..n {
                for h in 0..n {
                    a[g * n + h] = (0..d).map(|j| m[g * d + j] * m[h * d + j]).sum();
                }
            }
            match solve(a, r.clone(), n) {
                Some(y) => (0..d)
                    .map(|j| (0..n).map(|g| m[g * d + j] * y[g]).sum())
                    .collect(),
                None => vec![0.0; d],
            }
        };
        let theta_d32: Vec<f32> = theta_d.iter().map(|&v| v as f32).collect();
        let mut theta = theta0.clone();
        p.forward_add(&theta_d32, &mut theta);
        let loss = toy_loss(&theta);
        let performance = (-loss).exp();
        rows.push(ToyRow {
            dim: d,
            loss,
            performance,
            solved: performance >= SOLVED,
        });
    }
    let intrinsic_dim = rows.iter().find(|r| r.solved).map(|r| r.dim);
    Ok(ToyOutcome {
        rows,
        intrinsic_dim,
    })
}
