//! CSR products against dense naive loops, the adjoint identity, the
//! transpose, every malformed input, and thread-count independence.

use intrinsic_dim::kernels::spmv::{AdjointMethod, Csr, CsrError, SIGN_BIT, SignCsr};
use intrinsic_dim::rng;
use proptest::prelude::*;

/// Both ways of computing Aᵀ·x, tried on every matrix that tests it.
const METHODS: [AdjointMethod; 2] = [AdjointMethod::Scatter, AdjointMethod::TransposedCopy];

/// A random matrix as rows of (column, value); `long` rows have up to 80 entries.
/// Random matrices in four shapes: short rows (0–4 entries: the short-row
/// kernels), long rows (0–80: the long-row kernels), and two "spiky" ones
/// whose rows have at most one entry (or, in the sparser, none in even rows)
/// except every 16th, which has up to 16 (short on average, so the
/// short-row kernel finishes blocks of eight rows with a row of more than
/// four and of more than eight entries).
fn rows_strategy() -> impl Strategy<Value = (usize, usize, Vec<Vec<(u32, f32)>>)> {
    (0usize..=41, 0usize..=41, 0u8..4).prop_flat_map(|(nrows, ncols, shape)| {
        let max_len = [4, 80, 16, 16][shape as usize];
        let row = prop::collection::vec((any::<u32>(), -4.0f32..4.0), 0..=max_len);
        prop::collection::vec(row, nrows).prop_map(move |rows| {
            let rows = rows
                .into_iter()
                .enumerate()
                .map(|(i, mut r)| {
                    if shape >= 2 && i % 16 != 3 {
                        // Shape 3 empties the even rows too: under one
                        // entry per row on average, like the 10⁶ × 10³
                        // benchmark matrix.
                        r.truncate(if shape == 3 { i % 2 } else { 1 });
                    }
                    if ncols == 0 {
                        Vec::new()
                    } else {
                        r.into_iter().map(|(c, v)| (c % ncols as u32, v)).collect()
                    }
                })
                .collect();
            (nrows, ncols, rows)
        })
    })
}

fn csr_from_rows(nrows: usize, ncols: usize, rows: &[Vec<(u32, f32)>]) -> Csr {
    let mut row_ptr = vec![0usize];
    let (mut col, mut val) = (Vec::new(), Vec::new());
    for r in rows {
        for &(c, v) in r {
            col.push(c);
            val.push(v);
        }
        row_ptr.push(col.len());
    }
    Csr::new(nrows, ncols, row_ptr, col, val).expect("valid matrix")
}

fn sign_from_rows(nrows: usize, ncols: usize, rows: &[Vec<(u32, f32)>]) -> SignCsr {
    let mut row_ptr = vec![0usize];
    let mut ent = Vec::new();
    for r in rows {
        for &(c, v) in r {
            ent.push(if v < 0.0 { c | SIGN_BIT } else { c });
        }
        row_ptr.push(ent.len());
    }
    SignCsr::new(nrows, ncols, row_ptr, ent).expect("valid matrix")
}

/// Dense naive y = M·x (f64 accumulation) and Σ|M_ij·x_j| per row for the tolerance.
fn dense_mul(m: &[f32], nrows: usize, ncols: usize, x: &[f32]) -> (Vec<f64>, Vec<f64>) {
    let mut y = vec![0.0f64; nrows];
    let mut a = vec![0.0f64; nrows];
    for r in 0..nrows {
        for c in 0..ncols {
            let t = m[r * ncols + c] as f64 * x[c] as f64;
            y[r] += t;
            a[r] += t.abs();
        }
    }
    (y, a)
}

fn dense_transpose(m: &[f32], nrows: usize, ncols: usize) -> Vec<f32> {
    let mut t = vec![0.0; m.len()];
    for r in 0..nrows {
        for c in 0..ncols {
            t[c * nrows + r] = m[r * ncols + c];
        }
    }
    t
}

fn vector(n: usize, salt: u64) -> Vec<f32> {
    let mut g = rng::from_seed(0x5eed ^ salt.wrapping_mul(0x9e37_79b9));
    (0..n)
        .map(|_| (rng::uniform_f64(&mut g) * 4.0 - 2.0) as f32)
        .collect()
}

fn assert_close(got: &[f32], want: &[f64], scale: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, ((&g, &w), &s)) in got.iter().zip(want).zip(scale).enumerate() {
        let tol = 1e-5 * (s + 1.0);
        assert!(
            (g as f64 - w).abs() <= tol,
            "{what}[{i}]: got {g}, want {w} (tol {tol})"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn csr_products_match_dense((nrows, ncols, rows) in rows_strategy(), salt in any::<u64>()) {
        let a = csr_from_rows(nrows, ncols, &rows);
        let d = a.to_dense();
        let x = vector(ncols, salt);
        let xt = vector(nrows, salt ^ 1);
        let y0 = vector(nrows, salt ^ 2);
        let (want, scale) = dense_mul(&d, nrows, ncols, &x);
        let dt = dense_transpose(&d, nrows, ncols);
        let (want_t, scale_t) = dense_mul(&dt, ncols, nrows, &xt);

        let mut y = vec![f32::NAN; nrows];
        a.mul_vec(&x, &mut y);
        assert_close(&y, &want, &scale, "mul_vec");
        a.mul_vec_reference(&x, &mut y);
        assert_close(&y, &want, &scale, "mul_vec_reference");

        let mut y = y0.clone();
        a.mul_vec_add(&x, &mut y);
        let want_add: Vec<f64> = want.iter().zip(&y0).map(|(w, &b)| w + b as f64).collect();
        let scale_add: Vec<f64> = scale.iter().zip(&y0).map(|(s, &b)| s + (b as f64).abs()).collect();
        assert_close(&y, &want_add, &scale_add, "mul_vec_add");
        let mut y = y0.clone();
        a.mul_vec_add_reference(&x, &mut y);
        assert_close(&y, &want_add, &scale_add, "mul_vec_add_reference");

        let mut yt = vec![f32::NAN; ncols];
        for m in METHODS {
            let a = a.clone().with_adjoint(m);
            let mut yt = vec![f32::NAN; ncols];
            a.mul_t_vec(&xt, &mut yt);
            assert_close(&yt, &want_t, &scale_t, &format!("mul_t_vec {m:?}"));
        }
        a.mul_t_vec_reference(&xt, &mut yt);
        assert_close(&yt, &want_t, &scale_t, "mul_t_vec_reference");
        prop_assert_eq!(a.transpose().to_dense(), dt);
    }

    #[test]
    fn csr_adjoint_identity((nrows, ncols, rows) in rows_strategy(), salt in any::<u64>()) {
        // <A·x, y> = <x, Aᵀ·y>
        let a = csr_from_rows(nrows, ncols, &rows);
        let x = vector(ncols, salt);
        let y = vector(nrows, salt ^ 7);
        let mut ax = vec![0.0; nrows];
        a.mul_vec(&x, &mut ax);
        let lhs: f64 = ax.iter().zip(&y).map(|(&p, &q)| p as f64 * q as f64).sum();
        let scale: f64 = a.values().iter().map(|v| v.abs() as f64).sum::<f64>() * 4.0 + 1.0;
        for m in METHODS {
            let a = a.clone().with_adjoint(m);
            let mut aty = vec![0.0; ncols];
            a.mul_t_vec(&y, &mut aty);
            let rhs: f64 = x.iter().zip(&aty).map(|(&p, &q)| p as f64 * q as f64).sum();
            prop_assert!((lhs - rhs).abs() <= 1e-5 * scale, "{:?}: lhs {} rhs {}", m, lhs, rhs);
        }
    }

    #[test]
    fn sign_products_and_transpose_match_dense((nrows, ncols, rows) in rows_strategy(), salt in any::<u64>()) {
        let a = sign_from_rows(nrows, ncols, &rows);
        let d = a.to_dense();
        // The dense form from the (column, value) rows, independently of SignCsr::to_dense.
        let mut d_ind = vec![0.0f32; nrows * ncols];
        for (r, row) in rows.iter().enumerate() {
            for &(c, v) in row {
                d_ind[r * ncols + c as usize] += if v < 0.0 { -1.0 } else { 1.0 };
            }
        }
        prop_assert_eq!(&d, &d_ind);
        let x = vector(ncols, salt);
        let y0 = vector(nrows, salt ^ 3);
        let (want, scale) = dense_mul(&d, nrows, ncols, &x);

        let mut y = vec![f32::NAN; nrows];
        a.mul_vec(&x, &mut y);
        assert_close(&y, &want, &scale, "SignCsr::mul_vec");
        a.mul_vec_reference(&x, &mut y);
        assert_close(&y, &want, &scale, "SignCsr::mul_vec_reference");
        let mut y = y0.clone();
        a.mul_vec_add(&x, &mut y);
        let want_add: Vec<f64> = want.iter().zip(&y0).map(|(w, &b)| w + b as f64).collect();
        let scale_add: Vec<f64> = scale.iter().zip(&y0).map(|(s, &b)| s + (b as f64).abs()).collect();
        assert_close(&y, &want_add, &scale_add, "SignCsr::mul_vec_add");

        let t = a.transpose();
        prop_assert_eq!((t.nrows(), t.ncols(), t.nnz()), (ncols, nrows, a.nnz()));
        let dt = dense_transpose(&d, nrows, ncols);
        prop_assert_eq!(t.to_dense(), dt.clone());
        let xt = vector(nrows, salt ^ 5);
        let (want_t, scale_t) = dense_mul(&dt, ncols, nrows, &xt);
        let mut yt = vec![f32::NAN; ncols];
        t.mul_vec(&xt, &mut yt);
        assert_close(&yt, &want_t, &scale_t, "SignCsr transpose mul_vec");
        for m in METHODS {
            let a = a.clone().with_adjoint(m);
            let mut yt = vec![f32::NAN; ncols];
            a.mul_t_vec(&xt, &mut yt);
            assert_close(&yt, &want_t, &scale_t, &format!("SignCsr::mul_t_vec {m:?}"));
        }
        // transpose of the transpose is the original
        prop_assert_eq!(t.transpose().to_dense(), d);
    }
}

#[test]
fn tiny_and_empty_shapes() {
    // 1×1
    let a = Csr::new(1, 1, vec![0, 1], vec![0], vec![3.0]).unwrap();
    let mut y = [0.0];
    a.mul_vec(&[2.0], &mut y);
    assert_eq!(y, [6.0]);
    a.mul_vec_add(&[2.0], &mut y);
    assert_eq!(y, [12.0]);
    a.mul_t_vec(&[-1.0], &mut y);
    assert_eq!(y, [-3.0]);
    // 0×0, 0×3, 3×0, 3×3 with no entries
    for (r, c) in [(0usize, 0usize), (0, 3), (3, 0), (3, 3)] {
        let a = Csr::new(r, c, vec![0; r + 1], vec![], vec![]).unwrap();
        let mut y = vec![f32::NAN; r];
        a.mul_vec(&vec![1.0; c], &mut y);
        assert!(y.iter().all(|&v| v == 0.0));
        let s = SignCsr::new(r, c, vec![0; r + 1], vec![]).unwrap();
        for m in METHODS {
            let mut yt = vec![f32::NAN; c];
            a.clone().with_adjoint(m).mul_t_vec(&vec![1.0; r], &mut yt);
            assert!(yt.iter().all(|&v| v == 0.0), "Csr {m:?} {r}×{c}");
            let mut yt = vec![f32::NAN; c];
            s.clone().with_adjoint(m).mul_t_vec(&vec![1.0; r], &mut yt);
            assert!(yt.iter().all(|&v| v == 0.0), "SignCsr {m:?} {r}×{c}");
        }
        let mut y = vec![f32::NAN; r];
        s.mul_vec(&vec![1.0; c], &mut y);
        assert!(y.iter().all(|&v| v == 0.0));
        assert_eq!((s.transpose().nrows(), s.transpose().ncols()), (c, r));
    }
    // 1×1 sign −1
    let s = SignCsr::new(1, 1, vec![0, 1], vec![SIGN_BIT]).unwrap();
    let mut y = [1.0];
    s.mul_vec_add(&[2.5], &mut y);
    assert_eq!(y, [-1.5]);
}

#[test]
fn malformed_csr_rejected_with_specific_errors() {
    use CsrError::*;
    let e =
        |r, c, rp: Vec<usize>, ci: Vec<u32>, v: Vec<f32>| Csr::new(r, c, rp, ci, v).unwrap_err();
    assert_eq!(
        e(2, 2, vec![], vec![], vec![]),
        RowPtrLength { nrows: 2, found: 0 }
    );
    assert_eq!(
        e(0, 0, vec![], vec![], vec![]),
        RowPtrLength { nrows: 0, found: 0 }
    );
    assert_eq!(
        e(2, 2, vec![0, 1], vec![0], vec![1.0]),
        RowPtrLength { nrows: 2, found: 2 }
    );
    assert_eq!(
        e(usize::MAX >> 40, 2, vec![0, 0], vec![], vec![]),
        RowPtrLength {
            nrows: usize::MAX >> 40,
            found: 2
        }
    );
    assert_eq!(
        e(2, 2, vec![1, 1, 1], vec![0], vec![1.0]),
        RowPtrStart { found: 1 }
    );
    assert_eq!(
        e(3, 2, vec![0, 2, 1, 2], vec![0, 1], vec![1.0, 2.0]),
        RowPtrDecreasing {
            index: 2,
            prev: 2,
            next: 1
        }
    );
    assert_eq!(
        e(2, 2, vec![0, 1, 3], vec![0, 1], vec![1.0, 2.0]),
        RowPtrEnd {
            nrows: 2,
            last: 3,
            nnz: 2
        }
    );
    assert_eq!(
        e(2, 2, vec![0, 1, 1], vec![0, 1], vec![1.0, 2.0]),
        RowPtrEnd {
            nrows: 2,
            last: 1,
            nnz: 2
        }
    );
    assert_eq!(
        e(2, 2, vec![0, 1, 2], vec![0, 1], vec![1.0]),
        LengthMismatch {
            col_idx: 2,
            values: 1
        }
    );
    assert_eq!(
        e(2, 3, vec![0, 1, 3], vec![0, 1, 3], vec![1.0; 3]),
        ColumnOutOfRange {
            position: 2,
            column: 3,
            ncols: 3
        }
    );
    assert_eq!(
        e(1, 0, vec![0, 1], vec![0], vec![1.0]),
        ColumnOutOfRange {
            position: 0,
            column: 0,
            ncols: 0
        }
    );
    assert_eq!(
        e(1, usize::MAX, vec![0, 0], vec![], vec![]),
        TooManyColumns {
            ncols: usize::MAX,
            max: 1 << 32
        }
    );
    assert_eq!(
        e((1 << 32) + 1, 1, vec![0, 0], vec![], vec![]),
        TooManyRows {
            nrows: (1 << 32) + 1,
            max: 1 << 32
        }
    );
    // The messages name the offending values.
    let msg = e(3, 2, vec![0, 2, 1, 2], vec![0, 1], vec![1.0, 2.0]).to_string();
    assert!(
        msg.contains("index 2") && msg.contains("row_ptr[1] = 2"),
        "{msg}"
    );
    let msg = e(2, 3, vec![0, 1, 3], vec![0, 1, 7], vec![1.0; 3]).to_string();
    assert!(
        msg.contains("7") && msg.contains("position 2") && msg.contains("3 columns"),
        "{msg}"
    );
}

#[test]
fn malformed_sign_csr_rejected_with_specific_errors() {
    use CsrError::*;
    let e = |r, c, rp: Vec<usize>, en: Vec<u32>| SignCsr::new(r, c, rp, en).unwrap_err();
    assert_eq!(e(1, 1, vec![], vec![]), RowPtrLength { nrows: 1, found: 0 });
    assert_eq!(e(1, 1, vec![2, 2], vec![0, 0]), RowPtrStart { found: 2 });
    assert_eq!(
        e(2, 1, vec![0, 1, 0], vec![0]),
        RowPtrDecreasing {
            index: 2,
            prev: 1,
            next: 0
        }
    );
    assert_eq!(
        e(1, 1, vec![0, 1], vec![0, 0]),
        RowPtrEnd {
            nrows: 1,
            last: 1,
            nnz: 2
        }
    );
    assert_eq!(
        e(1, 4, vec![0, 2], vec![1, 4 | SIGN_BIT]),
        ColumnOutOfRange {
            position: 1,
            column: 4,
            ncols: 4
        }
    );
    assert_eq!(
        e(1, (1 << 31) + 1, vec![0, 0], vec![]),
        TooManyColumns {
            ncols: (1 << 31) + 1,
            max: 1 << 31
        }
    );
    assert_eq!(
        e((1 << 31) + 1, 1, vec![0, 0], vec![]),
        TooManyRows {
            nrows: (1 << 31) + 1,
            max: 1 << 31
        }
    );
    // ncols = 2^31 exactly is allowed.
    assert!(SignCsr::new(1, 1 << 31, vec![0, 1], vec![(1 << 31) - 1]).is_ok());
}

/// A very sparse random D×d matrix (density 1/√D, ±1 values), big enough to run in parallel.
fn very_sparse(nrows: usize, ncols: usize, seed: u64) -> (Vec<usize>, Vec<u32>, Vec<f32>) {
    let mut g = rng::from_seed(seed);
    let p = 1.0 / (nrows as f64).sqrt();
    let (mut rp, mut ci, mut v) = (vec![0usize], Vec::new(), Vec::new());
    for _ in 0..nrows {
        for c in 0..ncols {
            if rng::uniform_f64(&mut g) < p {
                ci.push(c as u32);
                v.push(rng::sign(&mut g) * (1.0 + rng::uniform_f64(&mut g) as f32));
            }
        }
        rp.push(ci.len());
    }
    (rp, ci, v)
}

#[test]
fn same_bits_with_one_and_two_threads() {
    let (nrows, ncols) = (60_013, 401);
    let (rp, ci, v) = very_sparse(nrows, ncols, 42);
    assert!(ci.len() + nrows > intrinsic_dim::kernels::spmv::PAR_MIN_WORK);
    // More than one chunk of the scatter's 2^15 entries.
    assert!(ci.len() > 3 << 15, "nnz {}", ci.len());
    let ent: Vec<u32> = ci
        .iter()
        .zip(&v)
        .map(|(&c, &x)| if x < 0.0 { c | SIGN_BIT } else { c })
        .collect();
    let pm: Vec<f32> = v.iter().map(|x| x.signum()).collect();
    // The sign pattern as a Csr with ±1 values: the reference for SignCsr.
    let a_pm = Csr::new(nrows, ncols, rp.clone(), ci.clone(), pm).unwrap();
    let a = Csr::new(nrows, ncols, rp.clone(), ci, v).unwrap();
    let s = SignCsr::new(nrows, ncols, rp, ent).unwrap();
    let a_m = METHODS.map(|m| a.clone().with_adjoint(m));
    let s_m = METHODS.map(|m| s.clone().with_adjoint(m));
    let x = vector(ncols, 1);
    let xt = vector(nrows, 2);
    let y0 = vector(nrows, 3);
    // (what, result) for every product.
    let run = || {
        let mut out: Vec<(String, Vec<f32>)> = Vec::new();
        let mut y = vec![0.0; nrows];
        a.mul_vec(&x, &mut y);
        out.push(("Csr::mul_vec".into(), y));
        let mut ya = y0.clone();
        a.mul_vec_add(&x, &mut ya);
        out.push(("Csr::mul_vec_add".into(), ya));
        let mut ys = y0.clone();
        s.mul_vec_add(&x, &mut ys);
        out.push(("SignCsr::mul_vec_add".into(), ys));
        for (m, (am, sm)) in METHODS.iter().zip(a_m.iter().zip(&s_m)) {
            let mut yt = vec![0.0; ncols];
            am.mul_t_vec(&xt, &mut yt);
            out.push((format!("Csr::mul_t_vec {m:?}"), yt));
            let mut yt = vec![0.0; ncols];
            sm.mul_t_vec(&xt, &mut yt);
            out.push((format!("SignCsr::mul_t_vec {m:?}"), yt));
        }
        out
    };
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(run);
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
        .install(run);
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    for ((what, r1), (_, r2)) in one.iter().zip(&two) {
        assert!(
            bits(r1) == bits(r2),
            "{what} differs between 1 and 2 threads"
        );
    }

    // And the parallel results are right, against the scalar references (of
    // the ±1 Csr for the sign pattern).
    for (what, got) in &two {
        let r = if what.starts_with("Sign") { &a_pm } else { &a };
        let mut want = y0.clone();
        let tol = if what.contains("mul_t_vec") {
            want = vec![0.0; ncols];
            r.mul_t_vec_reference(&xt, &mut want);
            2e-2
        } else {
            if what.ends_with("mul_vec") {
                want.fill(0.0);
            }
            r.mul_vec_add_reference(&x, &mut want);
            1e-5
        };
        for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
            assert!(
                (g - w).abs() <= tol * (w.abs() + 1.0),
                "{what}, entry {i}: {g} vs {w}"
            );
        }
    }
}

/// The scatter around its chunk boundary (2^15 entries): one chunk (no
/// partial sums) must give exactly the bits of the scalar reference, which
/// scatters in the same order; two chunks must stay within rounding of it.
#[test]
fn scatter_at_the_chunk_boundary() {
    let ncols = 97;
    for nnz in [(1 << 15) - 1, 1 << 15, (1 << 15) + 1, 3 << 15] {
        // One entry per row, columns and values from a fixed generator.
        let mut g = rng::from_seed(nnz as u64);
        let col: Vec<u32> = (0..nnz)
            .map(|_| (rng::uniform_f64(&mut g) * ncols as f64) as u32)
            .collect();
        let val: Vec<f32> = (0..nnz)
            .map(|_| rng::uniform_f64(&mut g) as f32 - 0.5)
            .collect();
        let a = Csr::new(nnz, ncols, (0..=nnz).collect(), col, val)
            .unwrap()
            .with_adjoint(AdjointMethod::Scatter);
        let x = vector(nnz, 9);
        let (mut got, mut want) = (vec![f32::NAN; ncols], vec![0.0; ncols]);
        a.mul_t_vec(&x, &mut got);
        a.mul_t_vec_reference(&x, &mut want);
        if nnz <= 1 << 15 {
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "nnz {nnz}: one chunk");
        } else {
            for (c, (&g, &w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() <= 1e-3 * (w.abs() + 1.0),
                    "nnz {nnz}, col {c}: {g} vs {w}"
                );
            }
        }
    }
}

/// Short-row matrices big enough for the AVX2 kernel's chunks of up to 512
/// rows (and for rayon). Every short-row kernel sums each row in storage
/// order from +0, as the reference does, so A·x must have the reference's
/// bits, and y + A·x those of y plus the reference's A·x. Most rows have 0–3
/// entries; one in 40 has 5–8 (the blocks finished after the first four
/// steps), one in 400 has 9–40 (past the eighth, in scalar code); a dense
/// stretch of 600 rows with 8 entries each overflows the term buffer of its
/// chunks; the row counts are not multiples of 8. In the third matrix nine
/// rows in ten are empty, so that eight consecutive entries often span 16
/// rows or more. Aᵀ·x by scatter over one chunk (at most 2¹⁵ entries) must
/// have the bits of the reference scatter, which adds in the same order.
#[test]
fn short_rows_have_the_reference_bits() {
    let ncols = 613;
    let mut scatters_checked = 0;
    for (nrows, seed, empty) in [(4_099usize, 1u64, 0.0), (40_009, 2, 0.0), (30_011, 3, 0.9)] {
        let mut g = rng::from_seed(seed);
        let mut rows: Vec<Vec<(u32, f32)>> = Vec::with_capacity(nrows);
        for r in 0..nrows {
            let u = rng::uniform_f64(&mut g);
            let len = if rng::uniform_f64(&mut g) < empty {
                0
            } else if (1_000..1_600).contains(&r) {
                8
            } else if u < 1.0 / 400.0 {
                9 + (u * 400.0 * 32.0) as usize
            } else if u < 1.0 / 40.0 {
                5 + (u * 40.0 * 4.0) as usize
            } else {
                (u * 4.0) as usize
            };
            let row = (0..len)
                .map(|_| {
                    let c = (rng::uniform_f64(&mut g) * ncols as f64) as u32;
                    // Magnitudes over four decades, so that the order of
                    // the additions shows in the rounding.
                    let m = 10f64.powf(4.0 * rng::uniform_f64(&mut g) - 2.0) as f32;
                    (c, rng::sign(&mut g) * m)
                })
                .collect();
            rows.push(row);
        }
        let a = csr_from_rows(nrows, ncols, &rows);
        let s = sign_from_rows(nrows, ncols, &rows);
        assert!(a.nnz() < intrinsic_dim::kernels::spmv::LONG_ROW * nrows);
        let x = vector(ncols, seed);
        let y0 = vector(nrows, seed ^ 5);
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        type Product<'m> = &'m dyn Fn(&[f32], &mut [f32]);
        // A·x against the reference's bits, and y0 + A·x against y0 plus them.
        let check = |what: &str, mul: Product, mul_add: Product, reference: Product| {
            let (mut got, mut want) = (vec![f32::NAN; nrows], vec![0.0; nrows]);
            mul(&x, &mut got);
            reference(&x, &mut want);
            assert_eq!(bits(&got), bits(&want), "{what}::mul_vec, {nrows} rows");
            let mut got = y0.clone();
            mul_add(&x, &mut got);
            let want: Vec<f32> = y0.iter().zip(&want).map(|(a, b)| a + b).collect();
            assert_eq!(bits(&got), bits(&want), "{what}::mul_vec_add, {nrows} rows");
        };
        check(
            "Csr",
            &|x, y| a.mul_vec(x, y),
            &|x, y| a.mul_vec_add(x, y),
            &|x, y| a.mul_vec_reference(x, y),
        );
        check(
            "SignCsr",
            &|x, y| s.mul_vec(x, y),
            &|x, y| s.mul_vec_add(x, y),
            &|x, y| s.mul_vec_reference(x, y),
        );

        if a.nnz() <= 1 << 15 {
            let xt = vector(nrows, seed ^ 9);
            let a = a.with_adjoint(AdjointMethod::Scatter);
            let s = s.with_adjoint(AdjointMethod::Scatter);
            let (mut got, mut want) = (vec![f32::NAN; ncols], vec![0.0; ncols]);
            a.mul_t_vec(&xt, &mut got);
            a.mul_t_vec_reference(&xt, &mut want);
            assert_eq!(bits(&got), bits(&want), "Csr::mul_t_vec, {nrows} rows");
            // The reference for the sign pattern: the same matrix with ±1 values.
            let pm: Vec<Vec<(u32, f32)>> = rows
                .iter()
                .map(|r| r.iter().map(|&(c, v)| (c, v.signum())).collect())
                .collect();
            s.mul_t_vec(&xt, &mut got);
            csr_from_rows(nrows, ncols, &pm).mul_t_vec_reference(&xt, &mut want);
            assert_eq!(bits(&got), bits(&want), "SignCsr::mul_t_vec, {nrows} rows");
            scatters_checked += 1;
        }
    }
    assert_eq!(
        scatters_checked, 2,
        "the first and third matrices have one scatter chunk"
    );
}
