//! Fast Walsh–Hadamard transform against independent references: the
//! scalar textbook loop, the explicit Sylvester matrix, and the algebraic
//! identities of H_n.
//!
//! Exactness argument used below: with integer inputs, every intermediate
//! value of any evaluation order is an integer of magnitude at most
//! (number of terms summed)·max|x|; while that stays ≤ 2^24 it is exactly
//! representable in f32, every addition is exact, and fast and reference
//! results must agree bitwise. For random floats each output is a sum of n
//! terms ±x_j formed by a depth-k tree of roundings (k = log2 n), so
//! |computed − exact| ≤ γ_k·Σ_j |x_j| with γ_k = k·u/(1 − k·u), u = 2^−24;
//! two such computations differ by at most twice that, the tolerance used.
//! (The fast path applies the stages in the reference's order, which makes
//! it bitwise equal even on floats; `fwht_rows` is checked for that.)

use intrinsic_dim::kernels::AlignedVec;
use intrinsic_dim::kernels::fwht::{fwht, fwht_reference, fwht_rows};
use intrinsic_dim::rng::{self, Stream};
use proptest::prelude::*;
use rand::Rng;

const U: f64 = 1.0 / (1u64 << 24) as f64;

/// Uniform floats in [−1, 1) from a seeded stream.
fn random_floats(n: usize, seed: u64) -> Vec<f32> {
    let mut r = rng::stream(seed, Stream::Misc, n as u64);
    (0..n)
        .map(|_| (2.0 * rng::uniform_f64(&mut r) - 1.0) as f32)
        .collect()
}

/// Integers in [−max, max] as floats.
fn random_ints(n: usize, max: u64, seed: u64) -> Vec<f32> {
    let mut r = rng::stream(seed, Stream::Misc, 1_000 + n as u64);
    (0..n)
        .map(|_| (rng::below(&mut r, 2 * max + 1) as i64 - max as i64) as f32)
        .collect()
}

/// Rounding bound for comparing two evaluations of H_n·x (see module docs).
fn tolerance(x: &[f32]) -> f64 {
    let k = x.len().trailing_zeros().max(1) as f64;
    let l1: f64 = x.iter().map(|v| v.abs() as f64).sum();
    2.0 * k * U / (1.0 - k * U) * l1 + f64::MIN_POSITIVE
}

fn assert_close(got: &[f32], want: &[f32], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            ((*g as f64) - (*w as f64)).abs() <= tol,
            "{what}: n = {}, index {i}: {g} vs {w} (tolerance {tol:e})",
            got.len()
        );
    }
}

fn assert_bitwise(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(
            g.to_bits(),
            w.to_bits(),
            "{what}: n = {}, index {i}: {g} vs {w}",
            got.len()
        );
    }
}

/// Exact H_n·x in f64 from the explicit Sylvester matrix entries
/// (−1)^popcount(i & j), built by the recursive block definition.
fn sylvester(n: usize) -> Vec<i8> {
    let mut h = vec![1i8];
    let mut m = 1;
    while m < n {
        let mut next = vec![0i8; 4 * m * m];
        for i in 0..m {
            for j in 0..m {
                let v = h[i * m + j];
                next[i * 2 * m + j] = v;
                next[i * 2 * m + j + m] = v;
                next[(i + m) * 2 * m + j] = v;
                next[(i + m) * 2 * m + j + m] = -v;
            }
        }
        h = next;
        m *= 2;
    }
    h
}

#[test]
fn every_power_of_two_up_to_2_20_matches_reference() {
    for k in 0..=20u32 {
        let n = 1usize << k;
        // Integers: exact, so bitwise equal whatever the evaluation order.
        // |intermediates| ≤ n·max ≤ 2^24.
        let max = ((1u64 << 24) >> k).min(255);
        let ints = random_ints(n, max, k as u64);
        let mut a = ints.clone();
        let mut b = ints.clone();
        fwht(&mut a);
        fwht_reference(&mut b);
        assert_bitwise(&a, &b, "integer input");
        // Random floats: within the rounding bound.
        let x = random_floats(n, 100 + k as u64);
        let mut a = x.clone();
        let mut b = x.clone();
        fwht(&mut a);
        fwht_reference(&mut b);
        assert_close(&a, &b, tolerance(&x), "float input");
    }
}

/// The kernel's speed depends on where the slice starts (64-byte loads on a
/// cache-line boundary or across two lines), its result must not: every
/// start offset within a line, on each code path (registers, L1 block, L2
/// and above-L2 recursion), gives the reference's bits.
#[test]
fn every_start_offset_within_a_cache_line_gives_reference_bits() {
    for k in [4u32, 8, 12, 15, 19] {
        let n = 1usize << k;
        let x = random_floats(n, 200 + k as u64);
        let mut want = x.clone();
        fwht_reference(&mut want);
        let mut buf = AlignedVec::zeroed(n + 16);
        for off in 0..16 {
            let a = &mut buf[off..off + n];
            a.copy_from_slice(&x);
            fwht(a);
            assert_bitwise(a, &want, &format!("n = 2^{k}, offset {off} floats"));
        }
    }
}

#[test]
fn large_2_22_matches_reference() {
    let n = 1usize << 22;
    let x = random_floats(n, 7);
    let mut a = x.clone();
    let mut b = x.clone();
    fwht(&mut a);
    fwht_reference(&mut b);
    assert_close(&a, &b, tolerance(&x), "n = 2^22");
    // Small integers: 2^22 · 2 < 2^24, exact.
    let ints = random_ints(n, 2, 8);
    let mut a = ints.clone();
    let mut b = ints;
    fwht(&mut a);
    fwht_reference(&mut b);
    assert_bitwise(&a, &b, "n = 2^22, integer input");
}

#[test]
fn sylvester_matrix_agrees_for_n_up_to_256() {
    for k in 0..=8u32 {
        let n = 1usize << k;
        let h = sylvester(n);
        // The matrix entries must be (−1)^popcount(i&j): an independent check
        // of the recursive construction itself.
        for i in 0..n {
            for j in 0..n {
                let e = if (i & j).count_ones() % 2 == 0 { 1 } else { -1 };
                assert_eq!(h[i * n + j], e);
            }
        }
        let x = random_ints(n, 1000, 50 + k as u64);
        let mut y = x.clone();
        fwht(&mut y);
        for i in 0..n {
            let exact: f64 = (0..n).map(|j| h[i * n + j] as f64 * x[j] as f64).sum();
            assert_eq!(y[i] as f64, exact, "n = {n}, row {i}");
        }
    }
}

#[test]
fn unit_vectors_give_columns_of_h() {
    for k in [4u32, 9, 13] {
        let n = 1usize << k;
        for j in [0, 1, n / 2 + 3, n - 1] {
            let mut e = vec![0.0f32; n];
            e[j] = 1.0;
            fwht(&mut e);
            for (i, v) in e.iter().enumerate() {
                let want = if (i & j).count_ones() % 2 == 0 {
                    1.0
                } else {
                    -1.0
                };
                assert_eq!(*v, want, "n = {n}, column {j}, row {i}");
            }
        }
    }
}

#[test]
fn length_one_is_identity() {
    let mut x = [3.5f32];
    fwht(&mut x);
    assert_eq!(x, [3.5]);
    let mut rows = [1.0f32, -2.0, 4.0];
    fwht_rows(&mut rows, 1);
    assert_eq!(rows, [1.0, -2.0, 4.0]);
}

#[test]
#[should_panic(expected = "not a power of two")]
fn non_power_of_two_panics() {
    let mut x = vec![1.0f32; 24];
    fwht(&mut x);
}

#[test]
#[should_panic(expected = "not a power of two")]
fn empty_panics() {
    fwht(&mut []);
}

#[test]
#[should_panic(expected = "not a power of two")]
fn rows_non_power_of_two_panics() {
    let mut x = vec![1.0f32; 36];
    fwht_rows(&mut x, 12);
}

#[test]
#[should_panic(expected = "not a multiple")]
fn rows_ragged_panics() {
    let mut x = vec![1.0f32; 40];
    fwht_rows(&mut x, 16);
}

fn exponent() -> impl Strategy<Value = u32> {
    0u32..=16
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// H(Hx) = n·x: exact for small integers (intermediates of the second
    /// transform are bounded by n²·max ≤ 2^24).
    #[test]
    fn involution_up_to_scale(k in 0u32..=11, seed in any::<u64>()) {
        let n = 1usize << k;
        let x = random_ints(n, ((1u64 << 24) >> (2 * k)).min(64), seed);
        let mut y = x.clone();
        fwht(&mut y);
        fwht(&mut y);
        for (a, b) in y.iter().zip(&x) {
            prop_assert_eq!(*a, n as f32 * *b);
        }
    }

    /// H(Hx) = n·x for random floats, within two transforms' rounding.
    #[test]
    fn involution_floats(k in exponent(), seed in any::<u64>()) {
        let n = 1usize << k;
        let x = random_floats(n, seed);
        let mut y = x.clone();
        fwht(&mut y);
        let tol = (n as f64) * tolerance(&x) * 2.0;
        fwht(&mut y);
        let want: Vec<f32> = x.iter().map(|v| v * n as f32).collect();
        assert_close(&y, &want, tol, "H(Hx) = n x");
    }

    /// H(αx + βy) = αHx + βHy, exact on integers (|αx + βy| ≤ 1600 and
    /// n ≤ 2^12 keep every value below 2^24).
    #[test]
    fn linearity(k in 0u32..=12, seed in any::<u64>(), alpha in -8i32..=8, beta in -8i32..=8) {
        let n = 1usize << k;
        let x = random_ints(n, 100, seed);
        let y = random_ints(n, 100, seed ^ 0x9e37_79b9);
        let (a, b) = (alpha as f32, beta as f32);
        let mut z: Vec<f32> = x.iter().zip(&y).map(|(p, q)| a * p + b * q).collect();
        let (mut hx, mut hy) = (x.clone(), y.clone());
        fwht(&mut z);
        fwht(&mut hx);
        fwht(&mut hy);
        for i in 0..n {
            prop_assert_eq!(z[i], a * hx[i] + b * hy[i]);
        }
    }

    /// ‖Hx‖² = n‖x‖², accumulated in f64.
    #[test]
    fn parseval(k in exponent(), seed in any::<u64>()) {
        let n = 1usize << k;
        let x = random_floats(n, seed);
        let mut y = x.clone();
        fwht(&mut y);
        let lhs: f64 = y.iter().map(|v| (*v as f64).powi(2)).sum();
        let rhs: f64 = n as f64 * x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>();
        // Each |y_i − exact_i| ≤ δ = tolerance/2 and |y_i| ≤ Σ|x|, so
        // |Σy_i² − Σexact_i²| ≤ n·δ·(2Σ|x| + δ).
        let l1: f64 = x.iter().map(|v| v.abs() as f64).sum();
        let delta = tolerance(&x) / 2.0;
        let bound = n as f64 * delta * (2.0 * l1 + delta) + 1e-12 * rhs;
        prop_assert!((lhs - rhs).abs() <= bound, "{} vs {} (bound {})", lhs, rhs, bound);
    }

    /// fwht_rows equals fwht on every row, for every row length from 1 to
    /// 2^14 and any row count (including counts that leave a partial
    /// 16-float tail for short rows).
    #[test]
    fn rows_equal_per_row(k in 0u32..=14, rows in 1usize..=9, seed in any::<u64>()) {
        let n = 1usize << k;
        let rows = if n > 2048 { rows.min(2) } else { rows };
        let data = random_floats(n * rows, seed);
        let mut batched = data.clone();
        fwht_rows(&mut batched, n);
        let mut single = data;
        for row in single.chunks_exact_mut(n) {
            fwht_reference(row);
        }
        assert_bitwise(&batched, &single, "fwht_rows vs per-row reference");
        let mut per_row = batched.clone();
        for row in per_row.chunks_exact_mut(n) {
            fwht(row);
        }
        fwht_rows(&mut batched, n);
        assert_bitwise(&batched, &per_row, "fwht_rows vs per-row fwht");
    }

    /// Random floats at random sizes: fast vs reference, within rounding.
    #[test]
    fn random_sizes_match_reference(k in 0u32..=18, seed in any::<u64>()) {
        let n = 1usize << k;
        let x = random_floats(n, seed);
        let mut a = x.clone();
        let mut b = x.clone();
        fwht(&mut a);
        fwht_reference(&mut b);
        assert_close(&a, &b, tolerance(&x), "random size");
    }
}

#[test]
fn rows_of_many_short_rows() {
    // Many rows, as Fastfood calls it: every row length 2..=1024.
    let mut r = rng::stream(3, Stream::Misc, 0);
    for k in 1..=10u32 {
        let n = 1usize << k;
        let rows = 37;
        let data: Vec<f32> = (0..n * rows)
            .map(|_| (r.next_u64() % 2001) as f32 - 1000.0)
            .collect();
        let mut batched = data.clone();
        fwht_rows(&mut batched, n);
        let mut single = data;
        for row in single.chunks_exact_mut(n) {
            fwht_reference(row);
        }
        assert_bitwise(&batched, &single, "short rows");
    }
}
