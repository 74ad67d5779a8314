//! SGEMM and SGEMV against the plain f64-accumulating references, over random
//! shapes (1, odd, prime, and large enough for several KC/MC/NC blocks), all
//! transpose combinations, α/β including 0 (β = 0 with NaN in C), padded
//! leading dimensions; and bitwise equality across thread counts.
//!
//! Tolerance: for a sum of k products computed in f32 (FMA chains in any
//! order), the standard bound is |ĉ − c| ≤ γ_k·Σ_p |a_ip|·|b_pj| with
//! γ_k ≈ k·u, u = 2⁻²⁴ (Higham, *Accuracy and Stability*, §3.1). Scaling by α
//! and adding β·c adds a few more roundings. The reference accumulates in f64
//! (its own error is negligible), so each element is checked against
//! (k + 4)·2⁻²³·(|α|·Σ|a||b| + |β|·|c₀|) + 1e-30: twice the worst-case bound, still
//! tight enough that a missed or doubled term (error ≈ |a||b| ≫ k·u·Σ) fails.

use intrinsic_dim::kernels::gemm::{
    MR, NR, SgemmFn, Trans, sgemm, sgemm_reference, sgemm_serial, sgemv, sgemv_reference,
};
use intrinsic_dim::rng::{self, Stream};
use proptest::prelude::*;

fn randn(seed: u64, sub: u64, len: usize) -> Vec<f32> {
    let mut r = rng::stream(seed, Stream::Init, sub);
    let mut v = vec![0.0; len];
    rng::fill_normal(&mut r, 1.0, &mut v);
    v
}

fn dims(t: Trans, rows: usize, cols: usize) -> (usize, usize) {
    match t {
        Trans::No => (rows, cols),
        Trans::Yes => (cols, rows),
    }
}

struct Case {
    ta: Trans,
    tb: Trans,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    beta: f32,
    pad: usize,
    seed: u64,
}

/// Runs `gemm` on the case and checks it against the reference elementwise.
fn check_case(case: &Case, gemm: SgemmFn) {
    let Case {
        ta,
        tb,
        m,
        n,
        k,
        alpha,
        beta,
        pad,
        seed,
    } = *case;
    let (ar, ac) = dims(ta, m, k);
    let (br, bc) = dims(tb, k, n);
    let (lda, ldb, ldc) = (ac + pad, bc + 2 * pad, n + 3 * pad);
    let a = randn(seed, 0, ar * lda);
    let b = randn(seed, 1, br * ldb);
    let mut c0 = randn(seed, 2, m * ldc);
    if beta == 0.0 {
        c0.iter_mut().for_each(|x| *x = f32::NAN);
    }
    let mut c = c0.clone();
    let mut want = c0.clone();
    gemm(ta, tb, m, n, k, alpha, &a, lda, &b, ldb, beta, &mut c, ldc);
    sgemm_reference(
        ta, tb, m, n, k, alpha, &a, lda, &b, ldb, beta, &mut want, ldc,
    );
    // Σ|a||b| per element, from the reference on absolute values.
    let aa: Vec<f32> = a.iter().map(|x| x.abs()).collect();
    let ba: Vec<f32> = b.iter().map(|x| x.abs()).collect();
    let mut mag = vec![0.0f32; m * ldc];
    sgemm_reference(ta, tb, m, n, k, 1.0, &aa, lda, &ba, ldb, 0.0, &mut mag, ldc);
    let eps = (k as f32 + 4.0) * f32::EPSILON;
    for i in 0..m {
        for j in 0..ldc {
            let idx = i * ldc + j;
            if j >= n {
                // Padding between rows must be untouched (bitwise, NaN included).
                assert_eq!(
                    c[idx].to_bits(),
                    c0[idx].to_bits(),
                    "padding changed at ({i},{j})"
                );
                continue;
            }
            let old = if beta == 0.0 {
                0.0
            } else {
                beta.abs() * c0[idx].abs()
            };
            let tol = eps * (alpha.abs() * mag[idx] + old) + 1e-30;
            let (got, exp) = (c[idx], want[idx]);
            assert!(
                (got - exp).abs() <= tol,
                "{ta:?}{tb:?} m={m} n={n} k={k} α={alpha} β={beta} pad={pad}: C({i},{j}) = {got}, want {exp} (tol {tol})"
            );
        }
    }
}

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        3 => 1usize..=40,
        1 => prop::sample::select(vec![1usize, 2, 11, 12, 13, 16, 17, 31, 32, 33, 47, 97, 127, 131]),
        1 => 250usize..=340,
    ]
}

fn trans() -> impl Strategy<Value = Trans> {
    prop_oneof![Just(Trans::No), Just(Trans::Yes)]
}

fn scalar() -> impl Strategy<Value = f32> {
    prop::sample::select(vec![0.0f32, 1.0, -1.0, 0.5, -2.25, 1.7])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sgemm_matches_reference(
        ta in trans(), tb in trans(), m in size(), n in size(), k in size(),
        alpha in scalar(), beta in scalar(), pad in 0usize..4, seed in any::<u64>(),
    ) {
        check_case(&Case { ta, tb, m, n, k, alpha, beta, pad, seed }, sgemm);
    }

    #[test]
    fn sgemm_serial_matches_reference(
        ta in trans(), tb in trans(), m in size(), n in size(), k in 1usize..70,
        alpha in scalar(), beta in scalar(), pad in 0usize..4, seed in any::<u64>(),
    ) {
        check_case(&Case { ta, tb, m, n, k, alpha, beta, pad, seed }, sgemm_serial);
    }
}

#[test]
fn sgemm_many_blocks_every_transpose() {
    // k = 530 → 3 k blocks; m = 500 → 3 MC blocks; the n = 3100 case crosses NC.
    for (m, n, k) in [(500, 70, 530), (13, 3100, 9), (37, 41, 0)] {
        for ta in [Trans::No, Trans::Yes] {
            for tb in [Trans::No, Trans::Yes] {
                let case = Case {
                    ta,
                    tb,
                    m,
                    n,
                    k,
                    alpha: 0.75,
                    beta: -0.5,
                    pad: 1,
                    seed: 7,
                };
                check_case(&case, sgemm);
                check_case(&Case { beta: 0.0, ..case }, sgemm_serial);
            }
        }
    }
}

/// Every tile shape the driver can pick: each row count 1..=2·MR + 1 (edge
/// tiles of MR/3, 2·MR/3 and MR rows after full ones) against widths that
/// take the unpacked single-strip path with one or two vectors of B (n ≤ NR)
/// and the packed path ending in a one- or two-vector strip.
#[test]
fn sgemm_every_edge_tile() {
    for m in 1..=2 * MR + 1 {
        for n in [NR / 4 + 1, NR, NR + NR / 4 + 1, 2 * NR] {
            for (ta, tb) in [(Trans::No, Trans::No), (Trans::Yes, Trans::Yes)] {
                let case = Case {
                    ta,
                    tb,
                    m,
                    n,
                    k: 23,
                    alpha: 1.7,
                    beta: -0.5,
                    pad: 1,
                    seed: m as u64,
                };
                check_case(&case, sgemm_serial);
            }
        }
    }
}

#[test]
fn sgemm_alpha_zero_overwrites_without_reading() {
    let a = vec![f32::NAN; 6];
    let b = vec![f32::NAN; 6];
    let mut c = vec![f32::NAN; 4];
    sgemm(
        Trans::No,
        Trans::No,
        2,
        2,
        3,
        0.0,
        &a,
        3,
        &b,
        2,
        0.0,
        &mut c,
        2,
    );
    assert_eq!(c, vec![0.0; 4]);
}

fn run_in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn sgemm_same_bits_whatever_the_thread_count() {
    for (ta, tb, m, n, k) in [
        (Trans::No, Trans::No, 301, 203, 530),
        (Trans::Yes, Trans::No, 128, 200, 784),
        (Trans::No, Trans::Yes, 784, 200, 128),
        // wide: each thread packs all of B for its rows
        (Trans::No, Trans::No, 128, 784, 200),
        (Trans::Yes, Trans::Yes, 97, 531, 90),
    ] {
        let (ar, ac) = dims(ta, m, k);
        let (br, bc) = dims(tb, k, n);
        let a = randn(3, 0, ar * ac);
        let b = randn(3, 1, br * bc);
        let c0 = randn(3, 2, m * n);
        let run = |threads: usize| {
            let mut c = c0.clone();
            run_in_pool(threads, || {
                sgemm(ta, tb, m, n, k, 1.3, &a, ac, &b, bc, 0.5, &mut c, n)
            });
            c
        };
        let one = run(1);
        let two = run(2);
        let three = run(3);
        let mut serial = c0.clone();
        sgemm_serial(ta, tb, m, n, k, 1.3, &a, ac, &b, bc, 0.5, &mut serial, n);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&one), bits(&two));
        assert_eq!(bits(&one), bits(&three));
        assert_eq!(bits(&one), bits(&serial));
    }
}

#[test]
#[should_panic(expected = "leading dimension")]
fn sgemm_rejects_small_leading_dimension() {
    let a = vec![0.0; 12];
    let b = vec![0.0; 12];
    let mut c = vec![0.0; 9];
    sgemm(
        Trans::No,
        Trans::No,
        3,
        3,
        4,
        1.0,
        &a,
        3,
        &b,
        3,
        0.0,
        &mut c,
        3,
    );
}

#[test]
#[should_panic(expected = "needs")]
fn sgemm_rejects_short_slice() {
    let a = vec![0.0; 11];
    let b = vec![0.0; 12];
    let mut c = vec![0.0; 9];
    sgemm(
        Trans::No,
        Trans::No,
        3,
        3,
        4,
        1.0,
        &a,
        4,
        &b,
        3,
        0.0,
        &mut c,
        3,
    );
}

fn check_gemv(ta: Trans, m: usize, n: usize, alpha: f32, beta: f32, pad: usize, seed: u64) {
    let lda = n + pad;
    let a = randn(seed, 0, m * lda);
    let (xl, yl) = dims(ta, n, m);
    let x = randn(seed, 1, xl);
    let mut y0 = randn(seed, 2, yl);
    if beta == 0.0 {
        y0.iter_mut().for_each(|v| *v = f32::NAN);
    }
    let mut y = y0.clone();
    let mut want = y0.clone();
    sgemv(ta, m, n, alpha, &a, lda, &x, beta, &mut y);
    sgemv_reference(ta, m, n, alpha, &a, lda, &x, beta, &mut want);
    let aa: Vec<f32> = a.iter().map(|v| v.abs()).collect();
    let xa: Vec<f32> = x.iter().map(|v| v.abs()).collect();
    let mut mag = vec![0.0f32; yl];
    sgemv_reference(ta, m, n, 1.0, &aa, lda, &xa, 0.0, &mut mag);
    let eps = (xl as f32 + 4.0) * f32::EPSILON;
    for r in 0..yl {
        let old = if beta == 0.0 {
            0.0
        } else {
            beta.abs() * y0[r].abs()
        };
        let tol = eps * (alpha.abs() * mag[r] + old) + 1e-30;
        assert!(
            (y[r] - want[r]).abs() <= tol,
            "{ta:?} m={m} n={n} α={alpha} β={beta}: y[{r}] = {}, want {} (tol {tol})",
            y[r],
            want[r]
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sgemv_matches_reference(
        ta in trans(), m in size(), n in size(), alpha in scalar(), beta in scalar(),
        pad in 0usize..4, seed in any::<u64>(),
    ) {
        check_gemv(ta, m, n, alpha, beta, pad, seed);
    }
}

#[test]
fn sgemv_large_and_chunked() {
    // 20,011 × 101: several fixed row chunks, parallel path, prime sizes.
    for ta in [Trans::No, Trans::Yes] {
        check_gemv(ta, 20_011, 101, 0.9, 0.0, 3, 5);
        check_gemv(ta, 20_011, 101, -1.0, 2.0, 0, 6);
    }
}

#[test]
fn sgemv_same_bits_whatever_the_thread_count() {
    let (m, n) = (30_001, 97);
    let a = randn(9, 0, m * n);
    for ta in [Trans::No, Trans::Yes] {
        let (xl, yl) = dims(ta, n, m);
        let x = randn(9, 1, xl);
        let y0 = randn(9, 2, yl);
        let run = |threads: usize| {
            let mut y = y0.clone();
            run_in_pool(threads, || sgemv(ta, m, n, 0.7, &a, n, &x, 0.3, &mut y));
            y.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(2));
        assert_eq!(run(1), run(3));
    }
}
