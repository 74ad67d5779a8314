//! Property tests of the three random projections: explicit reference
//! matrices built from the documented random draws by the most obvious code,
//! unit columns, near-orthogonality against derived high-probability bounds,
//! the adjoint identity, determinism across thread counts, and every
//! constructor error.

#![allow(clippy::needless_range_loop)] // the reference code indexes on purpose

use intrinsic_dim::projection::{
    self, DEFAULT_BUDGET_BYTES, DenseProjection, FastfoodProjection, Projection, ProjectionError,
    ProjectionKind, SparseProjection,
};
use intrinsic_dim::rng::{self, Stream};
use proptest::prelude::*;

/// Failure probability allowed for one near-orthogonality check (all pairs of one P).
const DELTA: f64 = 1e-6;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Column j of P, by applying P to the unit vector e_j.
fn column(p: &mut dyn Projection, j: usize) -> Vec<f32> {
    let mut e = vec![0.0f32; p.small_dim()];
    e[j] = 1.0;
    let mut out = vec![0.0f32; p.big_dim()];
    p.forward_add(&e, &mut out);
    out
}

fn columns(p: &mut dyn Projection) -> Vec<Vec<f32>> {
    (0..p.small_dim()).map(|j| column(p, j)).collect()
}

fn norm(v: &[f32]) -> f64 {
    v.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt()
}

/// The Gram matrix CᵀC of the given columns (row-major d×d), by matrixmultiply's
/// SGEMM (an independent implementation from the crate's kernels).
fn gram(cols: &[Vec<f32>]) -> Vec<f32> {
    let d = cols.len();
    let n = cols[0].len();
    let a: Vec<f32> = cols.concat(); // d×n row-major
    let mut c = vec![0.0f32; d * d];
    // SAFETY: a is d×n with strides (n, 1); its transpose is read with strides (1, n);
    // c is d×d with strides (d, 1); all in bounds.
    unsafe {
        matrixmultiply::sgemm(
            d,
            n,
            d,
            1.0,
            a.as_ptr(),
            n as isize,
            1,
            a.as_ptr(),
            1,
            n as isize,
            0.0,
            c.as_mut_ptr(),
            d as isize,
            1,
        );
    }
    c
}

/// ℓ = ln(d²/δ): the union bound over d(d−1)/2 two-sided pair events and d
/// column-norm events, each of probability ≤ e^{−ℓ}, gives total ≤ d²·e^{−ℓ} = δ.
fn ell(d: usize) -> f64 {
    ((d * d).max(1) as f64 / DELTA).ln()
}

/// High-probability bound on |⟨c_j, c_k⟩| / (‖c_j‖‖c_k‖) for Fastfood, D rows.
///
/// Derivation. Column j of block b is M_b·e_j = B_j·H·(G_b ⊙ σ) with σ = Π_b·H·e_j
/// a ±1 vector, so a = G_b ⊙ σ is exactly N(0, I_L) whatever Π_b and B_b are.
/// Column k uses a ⊙ τ with τ = Π_b·(H e_j ⊙ H e_k) = Π_b·H e_{j⊕k}, a balanced
/// ±1 vector. With R_b the r_b rows of block b that P keeps (Σ r_b = D):
///   ⟨c_j, c_k⟩ = Σ_b ±aᵀ·(H_Rᵀ H_R)·D_τ·a,      ‖c_j‖² = Σ_b aᵀ·(H_Rᵀ H_R)·a,
/// Gaussian quadratic forms in the concatenated a (independent across blocks).
/// For the first: trace = Σ_b ±r_b·Σ_i τ_i = 0, Frobenius norm ≤ (Σ_b r_b L²)^½ = L√D,
/// operator norm ≤ L. The sub-gamma bound for Σ λ_i (z_i² − 1) (Boucheron, Lugosi,
/// Massart, §2.4: variance factor 2Σλ², scale 2·max|λ|) gives
/// |⟨c_j, c_k⟩| ≤ 2L√(Dℓ) + 2Lℓ with probability ≥ 1 − 2e^{−ℓ}. The second has
/// eigenvalues L (D times) and 0, so (Laurent–Massart lower tail)
/// ‖c_j‖² ≥ L·(D − 2√(Dℓ)) with probability ≥ 1 − e^{−ℓ}. Hence
///   |ρ_jk| ≤ (2√(Dℓ) + 2ℓ) / (D − 2√(Dℓ)),   ℓ = ln(d²/δ),
/// ≈ 2√(ℓ/D): the 1/√L of one block, averaged over D/L blocks. The column
/// scaling S does not change ρ. If the blocks shared their G (e.g. every block
/// drawn from the same stream), the Frobenius norm would be L·nb·√L instead of
/// L·√D and the bound fails: `shared_blocks_break_the_fastfood_bound` checks that.
fn fastfood_bound(big_dim: usize, small_dim: usize) -> f64 {
    let (dd, l) = (big_dim as f64, ell(small_dim));
    let den = dd - 2.0 * (dd * l).sqrt();
    if den <= 0.0 {
        return 1.0;
    }
    ((2.0 * (dd * l).sqrt() + 2.0 * l) / den).min(1.0)
}

/// Dense: columns g_j, g_k iid N(0, I_D). ⟨g_j, g_k⟩ is the quadratic form of
/// (g_j, g_k) with K = [[0, I/2], [I/2, 0]] (eigenvalues ±½, D each: Σλ² = D/2,
/// max|λ| = ½), so |⟨g_j, g_k⟩| ≤ √(2Dℓ) + ℓ with probability ≥ 1 − 2e^{−ℓ}, and
/// ‖g_j‖² ≥ D − 2√(Dℓ) with probability ≥ 1 − e^{−ℓ}:
///   |ρ_jk| ≤ (√(2Dℓ) + ℓ) / (D − 2√(Dℓ)).
fn dense_bound(big_dim: usize, small_dim: usize) -> f64 {
    let (dd, l) = (big_dim as f64, ell(small_dim));
    let den = dd - 2.0 * (dd * l).sqrt();
    if den <= 0.0 {
        return 1.0;
    }
    (((2.0 * dd * l).sqrt() + l) / den).min(1.0)
}

/// Sparse: the overlap K of two columns (rows where both are non-zero) is
/// Binomial(D, p²) with p = 1/√D, mean μ = 1; by Chernoff
/// P(K ≥ m) ≤ e^{−μ}(eμ/m)^m = e^{m−1}/m^m. The smallest m with
/// (d²/2)·e^{m−1}/m^m ≤ δ bounds every overlap with probability ≥ 1 − δ
/// (a column forced to one non-zero overlaps any other in at most 1 ≤ m rows).
/// Since |⟨c_j, c_k⟩| ≤ K/√(nnz_j·nnz_k), the bound per pair is m/√(nnz_j·nnz_k).
fn sparse_overlap_bound(small_dim: usize) -> f64 {
    let pairs = (small_dim * small_dim) as f64 / 2.0;
    let mut m = 2.0f64;
    while pairs * ((m - 1.0) - m * m.ln()).exp() > DELTA {
        m += 1.0;
    }
    m
}

/// Check unit norms (1e-5) and every pair against `bound(j, k)` (plus 1e-4 for
/// the f32 Gram matrix). Returns the largest |ρ| / bound seen.
fn check_near_orthonormal(cols: &[Vec<f32>], bound: impl Fn(usize, usize) -> f64) -> f64 {
    for (j, c) in cols.iter().enumerate() {
        let n = norm(c);
        assert!((n - 1.0).abs() < 1e-5, "column {j} has norm {n}");
    }
    let d = cols.len();
    if d < 2 {
        return 0.0;
    }
    let g = gram(cols);
    let mut worst = 0.0f64;
    for j in 0..d {
        for k in j + 1..d {
            let rho = g[j * d + k] as f64;
            let b = bound(j, k);
            assert!(
                rho.abs() <= b + 1e-4,
                "columns {j}, {k}: |ρ| = {} above the bound {b}",
                rho.abs()
            );
            worst = worst.max(rho.abs() / b);
        }
    }
    worst
}

fn nnz(c: &[f32]) -> usize {
    c.iter().filter(|&&v| v != 0.0).count()
}

/// Sylvester's construction, written out: H_1 = [1], H_2n = [[H, H], [H, −H]].
fn hadamard_matrix(l: usize) -> Vec<Vec<f64>> {
    let mut h = vec![vec![1.0]];
    while h.len() < l {
        let n = h.len();
        let mut next = vec![vec![0.0; 2 * n]; 2 * n];
        for i in 0..n {
            for j in 0..n {
                next[i][j] = h[i][j];
                next[i][j + n] = h[i][j];
                next[i + n][j] = h[i][j];
                next[i + n][j + n] = -h[i][j];
            }
        }
        h = next;
    }
    h
}

fn matmul(a: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let (n, k, m) = (a.len(), b.len(), b[0].len());
    let mut c = vec![vec![0.0; m]; n];
    for i in 0..n {
        for p in 0..k {
            for j in 0..m {
                c[i][j] += a[i][p] * b[p][j];
            }
        }
    }
    c
}

/// One Fastfood block's (B[0..d], π, G), by the documented derivation.
struct BlockDraws {
    b: Vec<f64>,
    perm: Vec<usize>,
    g: Vec<f64>,
}

fn fastfood_draws(seed: u64, block: usize, d: usize, l: usize) -> BlockDraws {
    let mut r = rng::stream(seed, Stream::Fastfood, block as u64);
    let b = (0..d).map(|_| rng::sign(&mut r) as f64).collect();
    let mut perm: Vec<usize> = (0..l).collect();
    rng::shuffle(&mut r, &mut perm);
    let g = (0..l).map(|_| rng::normal(&mut r) as f32 as f64).collect();
    BlockDraws { b, perm, g }
}

/// The explicit D×d Fastfood matrix (row-major, f64): each block
/// H·diag(G)·Π·H·diag(B) as explicit L×L matrices, stacked, truncated to D rows,
/// then (if `scale`) every column divided by its norm.
fn naive_fastfood(
    big_dim: usize,
    d: usize,
    draws: impl Fn(usize) -> BlockDraws,
    scale: bool,
) -> Vec<Vec<f64>> {
    let l = d.next_power_of_two();
    let h = hadamard_matrix(l);
    let mut rows: Vec<Vec<f64>> = Vec::new();
    let mut block = 0;
    while rows.len() < big_dim {
        let bd = draws(block);
        let mut gm = vec![vec![0.0; l]; l];
        let mut pm = vec![vec![0.0; l]; l];
        let mut bm = vec![vec![0.0; d]; l]; // diag(B) restricted to the d padded inputs
        for i in 0..l {
            gm[i][i] = bd.g[i];
            pm[i][bd.perm[i]] = 1.0; // (Π u)_i = u[π(i)]
        }
        for j in 0..d {
            bm[j][j] = bd.b[j];
        }
        let m = matmul(&h, &matmul(&gm, &matmul(&pm, &matmul(&h, &bm))));
        for row in m {
            if rows.len() < big_dim {
                rows.push(row);
            }
        }
        block += 1;
    }
    if scale {
        scale_columns(&mut rows);
    }
    rows
}

fn scale_columns(rows: &mut [Vec<f64>]) {
    let d = rows[0].len();
    for j in 0..d {
        let n = rows.iter().map(|r| r[j] * r[j]).sum::<f64>().sqrt();
        for r in rows.iter_mut() {
            r[j] /= n;
        }
    }
}

/// The explicit dense matrix: row block s (256 rows) from stream (seed, Dense, s),
/// row by row, then unit columns.
fn naive_dense(big_dim: usize, d: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rows = vec![vec![0.0; d]; big_dim];
    for s in 0..big_dim.div_ceil(256) {
        let mut r = rng::stream(seed, Stream::Dense, s as u64);
        for row in rows.iter_mut().skip(256 * s).take(256) {
            for v in row.iter_mut() {
                *v = rng::normal(&mut r) as f32 as f64;
            }
        }
    }
    scale_columns(&mut rows);
    rows
}

/// The explicit sparse matrix: column j from stream (seed, Sparse, j) by the
/// documented geometric skips; entries ±1/√nnz_j.
fn naive_sparse(big_dim: usize, d: usize, seed: u64) -> Vec<Vec<f64>> {
    let p = 1.0 / (big_dim as f64).sqrt();
    let mut rows = vec![vec![0.0; d]; big_dim];
    for (j, _) in (0..d).enumerate() {
        let mut r = rng::stream(seed, Stream::Sparse, j as u64);
        let mut found: Vec<(usize, f64)> = Vec::new();
        let mut row: i64 = -1;
        loop {
            let u = 1.0 - rng::uniform_f64(&mut r);
            let skip = if p >= 1.0 {
                0.0
            } else {
                (u.ln() / (1.0 - p).ln()).floor()
            };
            if row as f64 + 1.0 + skip >= big_dim as f64 {
                break;
            }
            row += 1 + skip as i64;
            found.push((row as usize, rng::sign(&mut r) as f64));
        }
        if found.is_empty() {
            let i = rng::below(&mut r, big_dim as u64) as usize;
            found.push((i, rng::sign(&mut r) as f64));
        }
        let s = 1.0 / (found.len() as f64).sqrt();
        for (i, sign) in found {
            rows[i][j] = sign * s;
        }
    }
    rows
}

/// Compare P (through forward_add and adjoint) with an explicit matrix.
fn check_against(p: &mut dyn Projection, expect: &[Vec<f64>], seed: u64, tol: f64) {
    let (big, d) = (p.big_dim(), p.small_dim());
    for j in 0..d {
        let c = column(p, j);
        for i in 0..big {
            assert!(
                (c[i] as f64 - expect[i][j]).abs() <= tol,
                "P[{i}][{j}] = {} but the explicit matrix has {}",
                c[i],
                expect[i][j]
            );
        }
    }
    // The adjoint against the explicit transpose.
    let mut r = rng::stream(seed ^ 0x5eed, Stream::Misc, 0);
    let mut y = vec![0.0f32; big];
    rng::fill_normal(&mut r, 1.0, &mut y);
    let mut out = vec![0.0f32; d];
    p.adjoint(&y, &mut out);
    let ynorm = norm(&y);
    for j in 0..d {
        let e: f64 = (0..big).map(|i| expect[i][j] * y[i] as f64).sum();
        assert!(
            (out[j] as f64 - e).abs() <= tol * ynorm * 4.0,
            "(Pᵀy)[{j}] = {} but the explicit transpose gives {e}",
            out[j]
        );
    }
}

fn check_adjoint_identity(p: &mut dyn Projection, seed: u64) {
    let (big, d) = (p.big_dim(), p.small_dim());
    let mut r = rng::stream(seed, Stream::Misc, 1);
    let mut x = vec![0.0f32; d];
    let mut y = vec![0.0f32; big];
    rng::fill_normal(&mut r, 1.0, &mut x);
    rng::fill_normal(&mut r, 1.0, &mut y);
    let mut px = vec![0.0f32; big];
    p.forward_add(&x, &mut px);
    let mut pty = vec![0.0f32; d];
    p.adjoint(&y, &mut pty);
    let lhs: f64 = px.iter().zip(&y).map(|(&a, &b)| a as f64 * b as f64).sum();
    let rhs: f64 = x.iter().zip(&pty).map(|(&a, &b)| a as f64 * b as f64).sum();
    // f32 rounding: relative 1e-4 of the Cauchy–Schwarz scale ‖Px‖·‖y‖.
    let scale = norm(&px) * norm(&y) + 1e-30;
    assert!(
        (lhs - rhs).abs() <= 1e-4 * scale,
        "⟨Px, y⟩ = {lhs} but ⟨x, Pᵀy⟩ = {rhs}"
    );
    // forward_add adds: a second call doubles the result.
    let mut twice = px.clone();
    p.forward_add(&x, &mut twice);
    for (a, b) in twice.iter().zip(&px) {
        assert!((a - 2.0 * b).abs() <= 1e-5 * (1.0 + b.abs()));
    }
}

// ---------------------------------------------------------------------------
// Explicit reference matrices
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn fastfood_matches_explicit_matrix(d in 1usize..=40, extra in 0usize..300, seed in any::<u64>()) {
        let big = d + extra;
        let mut p = FastfoodProjection::new(big, d, seed).unwrap();
        let l = d.next_power_of_two();
        let expect = naive_fastfood(big, d, |b| fastfood_draws(seed, b, d, l), true);
        check_against(&mut p, &expect, seed, 1e-5);
    }

    #[test]
    fn dense_matches_explicit_matrix(d in 1usize..=30, extra in 0usize..600, seed in any::<u64>()) {
        let big = d + extra;
        let mut p = DenseProjection::new(big, d, seed).unwrap();
        check_against(&mut p, &naive_dense(big, d, seed), seed, 1e-6);
    }

    #[test]
    fn sparse_matches_explicit_matrix(d in 1usize..=30, extra in 0usize..2000, seed in any::<u64>()) {
        let big = d + extra;
        let mut p = SparseProjection::new(big, d, seed).unwrap();
        let expect = naive_sparse(big, d, seed);
        check_against(&mut p, &expect, seed, 1e-6);
        // Every column has entries ±1/√nnz_j, at least one of them.
        for j in 0..d {
            let c = column(&mut p, j);
            let k = nnz(&c);
            prop_assert!(k >= 1);
            let s = 1.0 / (k as f64).sqrt();
            for &v in c.iter().filter(|v| **v != 0.0) {
                prop_assert!((v.abs() as f64 - s).abs() < 1e-7);
            }
        }
    }

    #[test]
    fn adjoint_identity_all_kinds(d in 1usize..=300, extra in 0usize..20_000, seed in any::<u64>()) {
        let big = d + extra;
        for kind in ProjectionKind::ALL {
            if kind == ProjectionKind::Dense && big * d > 2_000_000 {
                continue; // keeps the test quick; dense gets its own sizes below
            }
            let mut p = projection::build(kind, big, d, seed).unwrap();
            check_adjoint_identity(p.as_mut(), seed);
        }
        let mut p = projection::build(ProjectionKind::Dense, (big / 10).max(d), d, seed).unwrap();
        check_adjoint_identity(p.as_mut(), seed);
    }
}

// ---------------------------------------------------------------------------
// Unit columns and near-orthogonality
// ---------------------------------------------------------------------------

fn check_fastfood(big: usize, d: usize, seed: u64) -> f64 {
    let mut p = FastfoodProjection::new(big, d, seed).unwrap();
    let cols = columns(&mut p);
    check_near_orthonormal(&cols, |_, _| fastfood_bound(big, d))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10))]

    #[test]
    fn fastfood_columns_near_orthonormal(d in 1usize..=512, frac in 0.0f64..1.0, seed in any::<u64>()) {
        let big = d + ((50_000 - d) as f64 * frac * frac) as usize;
        check_fastfood(big, d, seed);
    }

    #[test]
    fn dense_columns_near_orthonormal(d in 1usize..=256, frac in 0.0f64..1.0, seed in any::<u64>()) {
        let big = d + ((20_000 - d) as f64 * frac * frac) as usize;
        let mut p = DenseProjection::new(big, d, seed).unwrap();
        let cols = columns(&mut p);
        check_near_orthonormal(&cols, |_, _| dense_bound(big, d));
    }

    #[test]
    fn sparse_columns_near_orthonormal(d in 1usize..=512, frac in 0.0f64..1.0, seed in any::<u64>()) {
        let big = d + ((50_000 - d) as f64 * frac * frac) as usize;
        let mut p = SparseProjection::new(big, d, seed).unwrap();
        let cols = columns(&mut p);
        let m = sparse_overlap_bound(d);
        let counts: Vec<usize> = cols.iter().map(|c| nnz(c)).collect();
        check_near_orthonormal(&cols, |j, k| {
            (m / ((counts[j] * counts[k]) as f64).sqrt()).min(1.0)
        });
        // Density: nnz ~ Binomial(D·d, 1/√D) (+ at most d forced entries):
        // within 6 standard deviations of d·√D.
        let total: usize = counts.iter().sum();
        let mean = d as f64 * (big as f64).sqrt();
        prop_assert!(
            (total as f64 - mean).abs() <= 6.0 * mean.sqrt() + d as f64,
            "nnz {total} far from d·√D = {mean}"
        );
        prop_assert_eq!(total, p.nnz());
    }
}

#[test]
fn fastfood_edge_sizes() {
    // (D, d): D a multiple of L, not a multiple, d = 1, d = L, d = L + 1, D = d, D < L.
    for &(big, d) in &[
        (512 * 40, 512),
        (512 * 40 + 77, 512),
        (50_000, 1),
        (1, 1),
        (7, 1),
        (256 * 97, 256),
        (30_000, 257),
        (257, 257),
        (300, 257),
        (511, 257),
        (513, 257),
        (1000, 129),
    ] {
        check_fastfood(big, d, big as u64 * 31 + d as u64);
    }
}

#[test]
fn fastfood_large_sample_of_pairs() {
    let (big, d) = (199_210, 750);
    let mut p = FastfoodProjection::new(big, d, 2018).unwrap();
    assert_eq!((p.block_len(), p.num_blocks()), (1024, 195));
    // Every 15th column, the first and the last: 52 columns, 1326 pairs, including
    // pairs whose XOR pattern j ⊕ k has few bits.
    let mut idx: Vec<usize> = (0..d).step_by(15).collect();
    idx.extend([1, 2, 3, d - 1]);
    let cols: Vec<Vec<f32>> = idx.iter().map(|&j| column(&mut p, j)).collect();
    let worst = check_near_orthonormal(&cols, |_, _| fastfood_bound(big, d));
    assert!(worst > 0.0);
    // The bound is far from vacuous at this size.
    assert!(fastfood_bound(big, d) < 0.04, "{}", fastfood_bound(big, d));
}

/// The bound can fail: a Fastfood whose blocks all share block 0's draws
/// (a stream-index bug) has correlations of one block, O(1/√L), not O(1/√D).
#[test]
fn shared_blocks_break_the_fastfood_bound() {
    let (big, d, seed) = (8192, 64, 5);
    let l = 64;
    let shared = naive_fastfood(big, d, |_| fastfood_draws(seed, 0, d, l), true);
    let cols: Vec<Vec<f32>> = (0..d)
        .map(|j| shared.iter().map(|r| r[j] as f32).collect())
        .collect();
    let g = gram(&cols);
    let worst = (0..d)
        .flat_map(|j| (j + 1..d).map(move |k| (j, k)))
        .map(|(j, k)| g[j * d + k].abs() as f64)
        .fold(0.0, f64::max);
    let bound = fastfood_bound(big, d);
    assert!(
        worst > bound,
        "shared blocks: worst {worst} vs bound {bound}"
    );
    // …while the real construction stays below it.
    check_fastfood(big, d, seed);
    // And without the column scaling the norms are √(L·ΣG²·nb), not 1.
    let raw = naive_fastfood(big, d, |b| fastfood_draws(seed, b, d, l), false);
    let n0 = raw.iter().map(|r| r[0] * r[0]).sum::<f64>().sqrt();
    assert!((n0 - 1.0).abs() > 1.0, "unscaled norm {n0}");
}

/// The dense bound can fail too: two copies of one column violate it.
#[test]
fn duplicated_columns_break_the_dense_bound() {
    let mut p = DenseProjection::new(5000, 10, 1).unwrap();
    let mut cols = columns(&mut p);
    cols[3] = cols[7].clone();
    let r =
        std::panic::catch_unwind(|| check_near_orthonormal(&cols, |_, _| dense_bound(5000, 10)));
    assert!(r.is_err());
}

// ---------------------------------------------------------------------------
// Determinism
// ---------------------------------------------------------------------------

fn fingerprint(kind: ProjectionKind, big: usize, d: usize, seed: u64, threads: usize) -> Vec<u32> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let mut p = projection::build(kind, big, d, seed).unwrap();
        let mut r = rng::stream(99, Stream::Misc, 2);
        let mut x = vec![0.0f32; d];
        let mut y = vec![0.0f32; big];
        rng::fill_normal(&mut r, 1.0, &mut x);
        rng::fill_normal(&mut r, 1.0, &mut y);
        let mut out = vec![0.0f32; big];
        p.forward_add(&x, &mut out);
        let mut g = vec![0.0f32; d];
        p.adjoint(&y, &mut g);
        let mut bits: Vec<u32> = out.iter().chain(&g).map(|v| v.to_bits()).collect();
        bits.extend(column(p.as_mut(), d - 1).iter().map(|v| v.to_bits()));
        bits
    })
}

#[test]
fn same_seed_same_bits_across_thread_counts() {
    for &(kind, big, d) in &[
        (ProjectionKind::Fastfood, 100_000, 100),
        (ProjectionKind::Fastfood, 70_001, 3000),
        (ProjectionKind::Sparse, 20_000, 100),
        (ProjectionKind::Dense, 5000, 50),
    ] {
        let one = fingerprint(kind, big, d, 7, 1);
        let two = fingerprint(kind, big, d, 7, 2);
        let three = fingerprint(kind, big, d, 7, 3);
        assert!(
            one == two && two == three,
            "{kind} differs across thread counts"
        );
        let other = fingerprint(kind, big, d, 8, 2);
        // Different seeds: the non-zero outputs differ almost everywhere.
        let nonzero = one
            .iter()
            .zip(&other)
            .filter(|(a, b)| **a != 0 || **b != 0)
            .count();
        let differ = one.iter().zip(&other).filter(|(a, b)| a != b).count();
        assert!(
            nonzero > one.len() / 3 && differ as f64 > 0.9 * nonzero as f64,
            "{kind}: seeds 7 and 8 give nearly the same P ({differ} of {nonzero} differ)"
        );
    }
}

// ---------------------------------------------------------------------------
// Constructor errors
// ---------------------------------------------------------------------------

#[test]
fn constructor_errors() {
    for kind in ProjectionKind::ALL {
        let e = projection::build(kind, 100, 0, 1).err().unwrap();
        assert_eq!(e, ProjectionError::ZeroSmallDim);
        assert!(e.to_string().contains("d is 0"));
        let e = projection::build(kind, 0, 5, 1).err().unwrap();
        assert_eq!(e, ProjectionError::ZeroBigDim);
        let e = projection::build(kind, 10, 11, 1).err().unwrap();
        assert_eq!(
            e,
            ProjectionError::SmallDimTooLarge {
                small_dim: 11,
                big_dim: 10
            }
        );
        assert!(e.to_string().contains("d = 11") && e.to_string().contains("D = 10"));
        // Over a small explicit budget.
        let e = projection::build_with_budget(kind, 100_000, 1000, 1, 1 << 19)
            .err()
            .unwrap();
        match &e {
            ProjectionError::OverBudget {
                kind: k,
                big_dim,
                small_dim,
                needed,
                budget,
            } => {
                assert_eq!(*k, kind.name());
                assert_eq!((*big_dim, *small_dim, *budget), (100_000, 1000, 1 << 19));
                assert!(*needed > *budget);
                assert_eq!(Some(*needed), kind.estimated_bytes(100_000, 1000));
            }
            other => panic!("expected OverBudget, got {other:?}"),
        }
        assert!(e.to_string().contains("budget"), "{e}");
        // Sizes whose byte count overflows usize are over budget, not a panic.
        let e = projection::build(kind, usize::MAX / 2, usize::MAX / 4, 1)
            .err()
            .unwrap();
        assert!(matches!(e, ProjectionError::OverBudget { .. }), "{e:?}");
    }
    // The default budget: dense 200,000 × 20,000 is 16 GB.
    let e = DenseProjection::new(200_000, 20_000, 1).err().unwrap();
    assert!(
        matches!(e, ProjectionError::OverBudget { budget, .. } if budget == DEFAULT_BUDGET_BYTES)
    );
    // Sparse rows are 31-bit indices.
    let e = SparseProjection::with_budget(1 << 31, 1, 1, usize::MAX)
        .err()
        .unwrap();
    assert!(matches!(e, ProjectionError::IndexOverflow { .. }), "{e:?}");
    // Kind names.
    for kind in ProjectionKind::ALL {
        assert_eq!(ProjectionKind::parse(kind.name()).unwrap(), kind);
    }
    assert_eq!(
        ProjectionKind::parse("FastFood").unwrap(),
        ProjectionKind::Fastfood
    );
    let e = ProjectionKind::parse("gaussian").err().unwrap();
    assert!(e.to_string().contains("gaussian") && e.to_string().contains("fastfood"));
}

#[test]
fn bytes_are_as_documented() {
    let p = FastfoodProjection::new(199_210, 750, 1).unwrap();
    let per_param = p.bytes() as f64 / 199_210.0;
    assert!(
        per_param <= 12.0,
        "fastfood {per_param} bytes per parameter"
    );
    let s = SparseProjection::new(199_210, 750, 1).unwrap();
    let per_nnz = (s.bytes() - 8 * (199_210 + 750 + 2) - 8 * 750) as f64 / s.nnz() as f64;
    assert!(
        (per_nnz - 8.0).abs() < 1e-9,
        "sparse {per_nnz} bytes per non-zero"
    );
    let d = DenseProjection::new(1000, 100, 1).unwrap();
    assert_eq!(d.bytes(), 400_000);
}

#[test]
fn forward_from_is_copy_then_forward_add_bit_for_bit() {
    // θ_D = θ_0 + P·θ_d in one call (Fastfood fuses the copy) must give the
    // same bits as the two-step form, including a truncated last block and
    // more than one group of blocks.
    for kind in ProjectionKind::ALL {
        for (big, d) in [(1000, 1), (5000, 100), (70_001, 300)] {
            let mut p = projection::build(kind, big, d, 9).unwrap();
            let mut r = rng::stream(4, Stream::Misc, big as u64);
            let mut x = vec![0.0f32; d];
            let mut base = vec![0.0f32; big];
            rng::fill_normal(&mut r, 1.0, &mut x);
            rng::fill_normal(&mut r, 1.0, &mut base);
            let mut two = base.clone();
            p.forward_add(&x, &mut two);
            let mut one = vec![f32::NAN; big];
            p.forward_from(&base, &x, &mut one);
            let bits = |v: &[f32]| v.iter().map(|a| a.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&one), bits(&two), "{kind:?} D = {big}, d = {d}");
        }
    }
}
