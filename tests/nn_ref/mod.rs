//! Naive f64 references for the network tests, written independently of
//! `src/nn`: plain loops, one example at a time, activations in the usual
//! NCHW order (the library uses CNHW inside a chunk), tensors found by name.
#![allow(dead_code, clippy::too_many_arguments, clippy::needless_range_loop)]

use intrinsic_dim::nn::{Arch, Network, ParamTensor};

/// y = x·Wᵀ + b, W out×inp row-major.
pub fn dense(n: usize, inp: usize, out: usize, x: &[f64], w: &[f64], b: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; n * out];
    for e in 0..n {
        for o in 0..out {
            let mut s = b[o];
            for i in 0..inp {
                s += x[e * inp + i] * w[o * inp + i];
            }
            y[e * out + o] = s;
        }
    }
    y
}

pub fn relu(x: &[f64]) -> Vec<f64> {
    x.iter().map(|&v| if v > 0.0 { v } else { 0.0 }).collect()
}

/// One example, NCHW: x is c×h×w, w is K×c×k×k; valid, stride 1.
pub fn conv(
    c: usize,
    h: usize,
    wd: usize,
    kout: usize,
    k: usize,
    x: &[f64],
    w: &[f64],
    b: &[f64],
) -> Vec<f64> {
    let (oh, ow) = (h - k + 1, wd - k + 1);
    let mut y = vec![0.0; kout * oh * ow];
    for ko in 0..kout {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut s = b[ko];
                for ci in 0..c {
                    for ky in 0..k {
                        for kx in 0..k {
                            s += w[((ko * c + ci) * k + ky) * k + kx]
                                * x[(ci * h + oy + ky) * wd + ox + kx];
                        }
                    }
                }
                y[(ko * oh + oy) * ow + ox] = s;
            }
        }
    }
    y
}

/// 2×2 stride-2 max-pool over `planes` planes of h×w.
pub fn maxpool(planes: usize, h: usize, w: usize, x: &[f64]) -> Vec<f64> {
    let (oh, ow) = (h / 2, w / 2);
    let mut y = vec![0.0; planes * oh * ow];
    for p in 0..planes {
        for i in 0..oh {
            for j in 0..ow {
                let at = |dy: usize, dx: usize| x[(p * h + 2 * i + dy) * w + 2 * j + dx];
                y[(p * oh + i) * ow + j] = at(0, 0).max(at(0, 1)).max(at(1, 0)).max(at(1, 1));
            }
        }
    }
    y
}

/// Σ_e (log Σ_c exp z_c − z_y) computed the textbook way in f64 (with the
/// max subtracted, which is exact algebra), and the number of argmax hits.
pub fn softmax_ce(n: usize, classes: usize, z: &[f64], labels: &[u8]) -> (f64, usize) {
    let mut total = 0.0;
    let mut correct = 0;
    for e in 0..n {
        let row = &z[e * classes..(e + 1) * classes];
        let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
        total += lse - row[labels[e] as usize];
        let arg = (0..classes).fold(0, |a, c| if row[c] > row[a] { c } else { a });
        if arg == labels[e] as usize {
            correct += 1;
        }
    }
    (total, correct)
}

fn tensor<'a>(layout: &'a [ParamTensor], name: &str) -> &'a ParamTensor {
    layout
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no tensor {name}"))
}

fn slice<'a>(layout: &[ParamTensor], theta: &'a [f64], name: &str) -> &'a [f64] {
    let t = tensor(layout, name);
    &theta[t.offset..t.offset + t.len]
}

/// Logits of the whole model in f64, examples one after another.
pub fn logits(arch: &Arch, layout: &[ParamTensor], theta: &[f64], x: &[f64], n: usize) -> Vec<f64> {
    let p = |name: &str| slice(layout, theta, name);
    match arch {
        Arch::Mlp { hidden } => {
            let mut a = x.to_vec();
            let mut prev = 784;
            for (i, &h) in hidden.iter().enumerate() {
                let l = i + 1;
                a = relu(&dense(
                    n,
                    prev,
                    h,
                    &a,
                    p(&format!("fc{l}.weight")),
                    p(&format!("fc{l}.bias")),
                ));
                prev = h;
            }
            let l = hidden.len() + 1;
            dense(
                n,
                prev,
                10,
                &a,
                p(&format!("fc{l}.weight")),
                p(&format!("fc{l}.bias")),
            )
        }
        Arch::LeNet => {
            let mut flat = Vec::with_capacity(n * 256);
            for e in 0..n {
                let xe = &x[e * 784..(e + 1) * 784];
                let a = relu(&conv(
                    1,
                    28,
                    28,
                    6,
                    5,
                    xe,
                    p("conv1.weight"),
                    p("conv1.bias"),
                ));
                let a = maxpool(6, 24, 24, &a);
                let a = relu(&conv(
                    6,
                    12,
                    12,
                    16,
                    5,
                    &a,
                    p("conv2.weight"),
                    p("conv2.bias"),
                ));
                flat.extend(maxpool(16, 8, 8, &a)); // NCHW flatten: (c, y, x)
            }
            let a = relu(&dense(n, 256, 120, &flat, p("fc1.weight"), p("fc1.bias")));
            let a = relu(&dense(n, 120, 84, &a, p("fc2.weight"), p("fc2.bias")));
            dense(n, 84, 10, &a, p("fc3.weight"), p("fc3.bias"))
        }
    }
}

/// Mean CE + (l2/2)·Σ_weights θ², all in f64.
pub fn model_loss(net: &Network, theta: &[f64], x: &[f64], labels: &[u8], l2: f64) -> f64 {
    let n = labels.len();
    let z = logits(net.arch(), net.layout(), theta, x, n);
    let (ce, _) = softmax_ce(n, 10, &z, labels);
    let sq: f64 = net
        .layout()
        .iter()
        .filter(|t| t.name.ends_with(".weight"))
        .map(|t| {
            theta[t.offset..t.offset + t.len]
                .iter()
                .map(|v| v * v)
                .sum::<f64>()
        })
        .sum();
    ce / n as f64 + 0.5 * l2 * sq
}

/// Central finite difference of f at coordinate i of v (f64), step h.
pub fn central_diff(f: &mut dyn FnMut(&[f64]) -> f64, v: &mut [f64], i: usize, h: f64) -> f64 {
    let old = v[i];
    v[i] = old + h;
    let fp = f(v);
    v[i] = old - h;
    let fm = f(v);
    v[i] = old;
    (fp - fm) / (2.0 * h)
}

/// Deterministic test values: N(0, s²) rounded to f32.
pub fn randn(seed: u64, n: usize, s: f64) -> Vec<f32> {
    let mut r = intrinsic_dim::rng::from_seed(seed);
    (0..n)
        .map(|_| (intrinsic_dim::rng::normal(&mut r) * s) as f32)
        .collect()
}

pub fn to64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}
