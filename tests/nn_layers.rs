//! Every layer of `nn` against a naive f64 loop reference (forward) and
//! against central finite differences of that f64 reference (backward).
//!
//! Tolerances: the library computes in f32; its results are sums of at most
//! a few hundred O(1) products, so their rounding error is below
//! ~ 300 · 2⁻²⁴ · Σ|terms| ≲ 1e-4 relative. The finite differences are taken
//! on the f64 reference with h = 1e-6 (the functions are smooth or
//! piecewise linear away from kinks): truncation error O(h²) and rounding
//! O(1e-16/h) ≈ 1e-10, negligible. So |analytic − fd| ≤ 2e-4·(1 + |fd|)
//! leaves room for f32 rounding only; any indexing or transposition bug
//! gives errors of O(1).

#![allow(clippy::needless_range_loop)] // index loops mirror the formulas

mod nn_ref;

use intrinsic_dim::nn::activation::{relu_backward, relu_forward};
use intrinsic_dim::nn::conv::{
    ConvShape, conv_backward, conv_forward, conv_forward_direct, flatten_backward, flatten_forward,
    im2col,
};
use intrinsic_dim::nn::dense::{dense_backward, dense_forward};
use intrinsic_dim::nn::loss::softmax_ce;
use intrinsic_dim::nn::pool::{maxpool_backward, maxpool_forward};
use nn_ref::{central_diff, randn, to64};

const H: f64 = 1e-6;

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 2e-4 * (1.0 + b.abs()),
        "{what}: library {a} vs reference {b}"
    );
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn dense_forward_and_gradients() {
    let (n, inp, out) = (5, 13, 7);
    let x = randn(1, n * inp, 1.0);
    let w = randn(2, out * inp, 0.5);
    let b = randn(3, out, 0.5);
    let r = randn(4, n * out, 1.0); // L = Σ r·y
    let mut y = vec![f32::NAN; n * out];
    dense_forward(n, inp, out, &x, &w, &b, &mut y);
    let yr = nn_ref::dense(n, inp, out, &to64(&x), &to64(&w), &to64(&b));
    for (i, (&a, &e)) in y.iter().zip(&yr).enumerate() {
        close(a as f64, e, &format!("y[{i}]"));
    }
    let (mut dw, mut db, mut dx) = (
        vec![f32::NAN; out * inp],
        vec![f32::NAN; out],
        vec![f32::NAN; n * inp],
    );
    dense_backward(n, inp, out, &x, &w, &r, &mut dw, &mut db, Some(&mut dx));
    let (r64, mut x64, mut w64, mut b64) = (to64(&r), to64(&x), to64(&w), to64(&b));
    let (wc, bc) = (w64.clone(), b64.clone());
    for i in 0..x64.len() {
        let fd = central_diff(
            &mut |v| dot(&r64, &nn_ref::dense(n, inp, out, v, &wc, &bc)),
            &mut x64,
            i,
            H,
        );
        close(dx[i] as f64, fd, &format!("dx[{i}]"));
    }
    let xc = x64.clone();
    for i in 0..w64.len() {
        let fd = central_diff(
            &mut |v| dot(&r64, &nn_ref::dense(n, inp, out, &xc, v, &bc)),
            &mut w64,
            i,
            H,
        );
        close(dw[i] as f64, fd, &format!("dw[{i}]"));
    }
    for i in 0..b64.len() {
        let fd = central_diff(
            &mut |v| dot(&r64, &nn_ref::dense(n, inp, out, &xc, &wc, v)),
            &mut b64,
            i,
            H,
        );
        close(db[i] as f64, fd, &format!("db[{i}]"));
    }
}

#[test]
fn relu_forward_and_gradient() {
    // Values kept away from the kink (|x| ≥ 0.05) so the finite difference is exact.
    let x: Vec<f32> = randn(5, 200, 1.0)
        .into_iter()
        .map(|v| if v.abs() < 0.05 { v + 0.1 } else { v })
        .collect();
    let r = randn(6, 200, 1.0);
    let mut y = vec![f32::NAN; 200];
    relu_forward(&x, &mut y);
    let yr = nn_ref::relu(&to64(&x));
    assert_eq!(y.iter().map(|&v| v as f64).collect::<Vec<_>>(), yr);
    let mut dx = vec![f32::NAN; 200];
    relu_backward(&y, &r, &mut dx);
    let (r64, mut x64) = (to64(&r), to64(&x));
    for i in 0..200 {
        let fd = central_diff(&mut |v| dot(&r64, &nn_ref::relu(v)), &mut x64, i, H);
        close(dx[i] as f64, fd, &format!("dx[{i}]"));
    }
    // The documented subgradient at 0 is 0.
    let mut d0 = [f32::NAN];
    relu_backward(&[0.0], &[3.0], &mut d0);
    assert_eq!(d0[0], 0.0);
}

/// NCHW (e, c, hw) → CNHW (c, e, hw).
fn to_cnhw(n: usize, c: usize, hw: usize, v: &[f32]) -> Vec<f32> {
    let mut o = vec![0.0; v.len()];
    for e in 0..n {
        for ch in 0..c {
            for j in 0..hw {
                o[(ch * n + e) * hw + j] = v[(e * c + ch) * hw + j];
            }
        }
    }
    o
}

fn conv_case(s: ConvShape, n: usize, seed: u64) {
    let (oh, ow) = (s.out_h(), s.out_w());
    let (ihw, ohw) = (s.in_h * s.in_w, oh * ow);
    let x_nchw = randn(seed, n * s.in_len(), 1.0);
    let w = randn(seed + 1, s.out_c * s.patch(), 0.3);
    let b = randn(seed + 2, s.out_c, 0.3);
    let r_nchw = randn(seed + 3, n * s.out_len(), 1.0);
    let x = to_cnhw(n, s.in_c, ihw, &x_nchw);
    let r = to_cnhw(n, s.out_c, ohw, &r_nchw);
    let mut col = vec![f32::NAN; s.col_len(n)];
    let mut y = vec![f32::NAN; n * s.out_len()];
    conv_forward(&s, n, &x, &w, &b, &mut col, &mut y);
    // Reference, example by example in NCHW.
    let (x64, w64, b64, r64) = (to64(&x_nchw), to64(&w), to64(&b), to64(&r_nchw));
    let reference = |xv: &[f64], wv: &[f64], bv: &[f64]| -> Vec<f64> {
        let mut out = Vec::new();
        for e in 0..n {
            out.extend(nn_ref::conv(
                s.in_c,
                s.in_h,
                s.in_w,
                s.out_c,
                s.k,
                &xv[e * s.in_len()..(e + 1) * s.in_len()],
                wv,
                bv,
            ));
        }
        out
    };
    let yr = reference(&x64, &w64, &b64);
    let y_nchw = {
        let mut o = vec![0.0; y.len()];
        for e in 0..n {
            for k in 0..s.out_c {
                for j in 0..ohw {
                    o[(e * s.out_c + k) * ohw + j] = y[(k * n + e) * ohw + j];
                }
            }
        }
        o
    };
    for (i, (&a, &e)) in y_nchw.iter().zip(&yr).enumerate() {
        close(a as f64, e, &format!("conv y[{i}]"));
    }
    if ow % 8 == 0 {
        // The direct kernel (benchmarked against im2col) against the same reference.
        let mut yd = vec![f32::NAN; y.len()];
        conv_forward_direct(&s, n, &x, &w, &b, &mut yd);
        for e in 0..n {
            for k in 0..s.out_c {
                for j in 0..ohw {
                    let got = yd[(k * n + e) * ohw + j] as f64;
                    close(got, yr[(e * s.out_c + k) * ohw + j], "direct conv y");
                }
            }
        }
    }
    let (mut dw, mut db, mut dx) = (
        vec![f32::NAN; w.len()],
        vec![f32::NAN; b.len()],
        vec![f32::NAN; x.len()],
    );
    conv_backward(&s, n, &mut col, &w, &r, &mut dw, &mut db, Some(&mut dx));
    let mut xv = x64.clone();
    for e in 0..n {
        for c in 0..s.in_c {
            for j in 0..ihw {
                let i = (e * s.in_c + c) * ihw + j;
                let fd = central_diff(&mut |v| dot(&r64, &reference(v, &w64, &b64)), &mut xv, i, H);
                close(
                    dx[(c * n + e) * ihw + j] as f64,
                    fd,
                    &format!("conv dx (e{e} c{c} {j})"),
                );
            }
        }
    }
    let mut wv = w64.clone();
    for i in 0..w.len() {
        let fd = central_diff(&mut |v| dot(&r64, &reference(&x64, v, &b64)), &mut wv, i, H);
        close(dw[i] as f64, fd, &format!("conv dw[{i}]"));
    }
    let mut bv = b64.clone();
    for i in 0..b.len() {
        let fd = central_diff(&mut |v| dot(&r64, &reference(&x64, &w64, v)), &mut bv, i, H);
        close(db[i] as f64, fd, &format!("conv db[{i}]"));
    }
    // Without dx the parameter gradients are the same.
    let mut col2 = vec![f32::NAN; s.col_len(n)];
    let mut y2 = vec![0.0; y.len()];
    conv_forward(&s, n, &x, &w, &b, &mut col2, &mut y2);
    let (mut dw2, mut db2) = (vec![f32::NAN; w.len()], vec![f32::NAN; b.len()]);
    conv_backward(&s, n, &mut col2, &w, &r, &mut dw2, &mut db2, None);
    assert_eq!(dw, dw2);
    assert_eq!(db, db2);
}

#[test]
fn conv_5x5_forward_and_gradients() {
    conv_case(
        ConvShape {
            in_c: 2,
            in_h: 9,
            in_w: 8,
            out_c: 3,
            k: 5,
        },
        3,
        10,
    );
}

#[test]
fn conv_3x3_single_channel_forward_and_gradients() {
    conv_case(
        ConvShape {
            in_c: 1,
            in_h: 7,
            in_w: 10,
            out_c: 4,
            k: 3,
        },
        2,
        20,
    );
}

#[test]
fn conv_5x5_six_outputs_width_16_forward_and_gradients() {
    // out_c = 6 exercises the direct kernel's partial channel block (4 + 2)
    // and two 8-wide output vectors per row.
    conv_case(
        ConvShape {
            in_c: 2,
            in_h: 6,
            in_w: 20,
            out_c: 6,
            k: 5,
        },
        2,
        40,
    );
}

#[test]
fn maxpool_forward_and_gradient() {
    let (planes, h, w) = (3, 6, 8);
    let x = randn(30, planes * h * w, 1.0);
    let r = randn(31, planes * h * w / 4, 1.0);
    let mut y = vec![f32::NAN; r.len()];
    let mut arg = vec![9u8; r.len()];
    maxpool_forward(planes, h, w, &x, &mut y, &mut arg);
    let yr = nn_ref::maxpool(planes, h, w, &to64(&x));
    assert_eq!(y.iter().map(|&v| v as f64).collect::<Vec<_>>(), yr);
    let mut dx = vec![f32::NAN; x.len()];
    maxpool_backward(planes, h, w, &r, &arg, &mut dx);
    let (r64, mut x64) = (to64(&r), to64(&x));
    for i in 0..x.len() {
        let fd = central_diff(
            &mut |v| dot(&r64, &nn_ref::maxpool(planes, h, w, v)),
            &mut x64,
            i,
            H,
        );
        close(dx[i] as f64, fd, &format!("pool dx[{i}]"));
    }
}

#[test]
fn maxpool_ties_send_the_gradient_to_the_first_maximum_in_row_major_order() {
    // Three 2×2 windows side by side in one 2×6 plane:
    //   [1 3 | 2 2 | 0 1]
    //   [3 0 | 2 2 | 5 5]
    let x = [1.0, 3.0, 2.0, 2.0, 0.0, 1.0, 3.0, 0.0, 2.0, 2.0, 5.0, 5.0];
    let mut y = [0.0f32; 3];
    let mut arg = [0u8; 3];
    maxpool_forward(1, 2, 6, &x, &mut y, &mut arg);
    assert_eq!(y, [3.0, 2.0, 5.0]);
    let mut dx = [f32::NAN; 12];
    maxpool_backward(1, 2, 6, &[10.0, 20.0, 30.0], &arg, &mut dx);
    // Window 1: 3 at (0,1) and (1,0) → (0,1). Window 2: all equal → (0,0).
    // Window 3: 5 at (1,0) and (1,1) → (1,0).
    assert_eq!(
        dx,
        [
            0.0, 10.0, 20.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 30.0, 0.0
        ]
    );
}

#[test]
fn softmax_ce_loss_gradient_and_stability() {
    let (n, classes) = (6, 10);
    let mut z = randn(40, n * classes, 3.0);
    // Row 4 has huge logits: exp would overflow without the max shift.
    for v in &mut z[4 * classes..5 * classes] {
        *v += 1000.0;
    }
    // Row 5 is very negative.
    for v in &mut z[5 * classes..6 * classes] {
        *v -= 1000.0;
    }
    let labels = [0u8, 3, 9, 5, 7, 2];
    let scale = 0.25f32;
    let mut d = vec![f32::NAN; n * classes];
    let (loss, correct) = softmax_ce(n, classes, &z, &labels, scale, Some(&mut d));
    let z64 = to64(&z);
    let (lr, cr) = nn_ref::softmax_ce(n, classes, &z64, &labels);
    assert!(loss.is_finite());
    // The shifted rows lose f32 precision in the logits themselves (ulp(1000) ≈ 6e-5),
    // but loss and reference see the same f32 logits; 1e-3 absolute covers f32 exp/ln.
    assert!(
        (loss - lr).abs() <= 1e-3 * (1.0 + lr.abs()),
        "loss {loss} vs {lr}"
    );
    assert_eq!(correct, cr);
    let mut zv = z64.clone();
    for i in 0..z.len() {
        let fd = central_diff(
            &mut |v| scale as f64 * nn_ref::softmax_ce(n, classes, v, &labels).0,
            &mut zv,
            i,
            H,
        );
        close(d[i] as f64, fd, &format!("dlogits[{i}]"));
    }
    // Without a gradient buffer the loss is the same.
    assert_eq!(
        softmax_ce(n, classes, &z, &labels, scale, None),
        (loss, correct)
    );
}

#[test]
fn flatten_is_the_cnhw_to_nchw_permutation_and_backward_its_inverse() {
    let (n, c, hw) = (3, 4, 5);
    let x: Vec<f32> = (0..n * c * hw).map(|i| i as f32).collect();
    let mut y = vec![f32::NAN; x.len()];
    flatten_forward(n, c, hw, &x, &mut y);
    for e in 0..n {
        for ch in 0..c {
            for j in 0..hw {
                assert_eq!(y[e * c * hw + ch * hw + j], x[(ch * n + e) * hw + j]);
            }
        }
    }
    let mut back = vec![f32::NAN; x.len()];
    flatten_backward(n, c, hw, &y, &mut back);
    assert_eq!(back, x);
}

#[test]
fn gemm_abt_rows_matches_naive_dot_products() {
    use intrinsic_dim::nn::conv::gemm_abt_rows;
    for (m, n, k) in [(6, 25, 37), (16, 150, 64), (1, 1, 5), (5, 9, 16), (4, 4, 0)] {
        let a = randn(50, m * k, 1.0);
        let b = randn(51, n * k, 1.0);
        let mut c = vec![f32::NAN; m * n];
        gemm_abt_rows(m, n, k, &a, &b, &mut c);
        for i in 0..m {
            for j in 0..n {
                let want: f64 = (0..k)
                    .map(|p| a[i * k + p] as f64 * b[j * k + p] as f64)
                    .sum();
                // k ≤ 64 products of O(1) values: f32 error ≲ 64·2⁻²⁴·8 ≈ 3e-5.
                assert!(
                    (c[i * n + j] as f64 - want).abs() <= 1e-4 * (1.0 + want.abs()),
                    "({m},{n},{k}) [{i}][{j}]"
                );
            }
        }
    }
}

#[test]
fn gemm_small_m_matches_naive_accumulation() {
    use intrinsic_dim::nn::conv::gemm_small_m;
    // (m, n, k): partial row blocks, column tails, both storage orders of A.
    for (m, n, k) in [(6, 96, 25), (16, 64, 150), (3, 40, 7), (9, 33, 1)] {
        let a = randn(60, m * k, 1.0);
        let b = randn(61, k * n, 1.0);
        let c0 = randn(62, m * n, 1.0);
        for transposed in [false, true] {
            let (ars, acs) = if transposed { (1, m) } else { (k, 1) };
            let mut c = c0.clone();
            gemm_small_m(m, n, k, &a, ars, acs, &b, &mut c);
            for i in 0..m {
                for j in 0..n {
                    let want = c0[i * n + j] as f64
                        + (0..k)
                            .map(|p| a[i * ars + p * acs] as f64 * b[p * n + j] as f64)
                            .sum::<f64>();
                    // k ≤ 150 products of O(1) values: f32 error ≲ 150·2⁻²⁴·12 ≈ 1e-4.
                    assert!(
                        (c[i * n + j] as f64 - want).abs() <= 3e-4 * (1.0 + want.abs()),
                        "({m},{n},{k}, transposed {transposed}) [{i}][{j}]"
                    );
                }
            }
        }
    }
}

/// im2col against its definition, col[(c·k+ky)·k+kx][(e·oh+oy)·ow+ox] =
/// x[c][e][oy+ky][ox+kx], for the LeNet widths (ow = 24 and 8, which take
/// the fixed-width copy paths) and an odd width (the generic path).
#[test]
fn im2col_matches_its_definition_for_the_lenet_widths() {
    for (s, n) in [
        (
            ConvShape {
                in_c: 1,
                in_h: 28,
                in_w: 28,
                out_c: 6,
                k: 5,
            },
            3,
        ),
        (
            ConvShape {
                in_c: 6,
                in_h: 12,
                in_w: 12,
                out_c: 16,
                k: 5,
            },
            4,
        ),
        (
            ConvShape {
                in_c: 2,
                in_h: 9,
                in_w: 11,
                out_c: 1,
                k: 3,
            },
            2,
        ),
    ] {
        let x: Vec<f32> = (0..n * s.in_len()).map(|i| i as f32 * 0.5 - 7.0).collect();
        let mut col = vec![f32::NAN; s.col_len(n)];
        im2col(&s, n, &x, &mut col);
        let (oh, ow, k) = (s.out_h(), s.out_w(), s.k);
        let np = n * oh * ow;
        for c in 0..s.in_c {
            for ky in 0..k {
                for kx in 0..k {
                    for e in 0..n {
                        for oy in 0..oh {
                            for ox in 0..ow {
                                let want =
                                    x[(c * n + e) * s.in_h * s.in_w + (oy + ky) * s.in_w + ox + kx];
                                let got =
                                    col[((c * k + ky) * k + kx) * np + (e * oh + oy) * ow + ox];
                                assert_eq!(got, want, "{s:?} c{c} ky{ky} kx{kx} e{e} ({oy},{ox})");
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Max-pool on LeNet-sized planes (24×24 and 8×8) with many ties (values
/// drawn from {0, 1, 2}) against a naive first-maximum loop.
#[test]
fn maxpool_matches_a_naive_first_maximum_on_lenet_planes() {
    for (planes, h) in [(5, 24), (7, 8)] {
        let x: Vec<f32> = (0..planes * h * h)
            .map(|i| ((i * 7919 + i / 3) % 3) as f32)
            .collect();
        let o = h / 2;
        let mut y = vec![f32::NAN; planes * o * o];
        let mut arg = vec![9u8; planes * o * o];
        maxpool_forward(planes, h, h, &x, &mut y, &mut arg);
        let dy: Vec<f32> = (0..y.len()).map(|i| 1.0 + i as f32).collect();
        let mut dx = vec![f32::NAN; x.len()];
        maxpool_backward(planes, h, h, &dy, &arg, &mut dx);
        let mut want_dx = vec![0.0f32; x.len()];
        for p in 0..planes {
            for i in 0..o {
                for j in 0..o {
                    let at = |q: usize| p * h * h + (2 * i + q / 2) * h + 2 * j + q % 2;
                    let mut best = 0;
                    for q in 1..4 {
                        if x[at(q)] > x[at(best)] {
                            best = q;
                        }
                    }
                    let yi = (p * o + i) * o + j;
                    assert_eq!(y[yi], x[at(best)], "plane {p} window ({i},{j}) value");
                    want_dx[at(best)] = dy[yi];
                }
            }
        }
        assert_eq!(dx, want_dx, "{planes}×{h}×{h}: gradient routing");
    }
}
