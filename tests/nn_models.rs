//! Whole networks: θ_D layout, initialisation statistics, gradient checks
//! against an independent f64 reference model with finite differences,
//! thread-count independence and evaluation.

#![allow(clippy::needless_range_loop)] // index loops mirror the formulas

mod nn_ref;

use intrinsic_dim::nn::{Arch, Network, NnError};
use nn_ref::{randn, to64};

fn check_layout(net: &Network, d: usize) {
    assert_eq!(net.num_params(), d);
    let mut next = 0;
    for t in net.layout() {
        assert_eq!(
            t.offset, next,
            "{} does not start where the previous tensor ends",
            t.name
        );
        assert_eq!(t.len, t.shape.iter().product::<usize>(), "{}", t.name);
        assert!(t.len > 0);
        assert_eq!(
            t.decay,
            t.name.ends_with(".weight"),
            "{}: decay only on weights",
            t.name
        );
        next += t.len;
    }
    assert_eq!(next, d, "layout does not cover θ_D exactly");
}

#[test]
fn fc_and_lenet_have_the_papers_d_and_a_gapless_layout() {
    let fc = Network::new(&Arch::fc(), 8).unwrap();
    check_layout(&fc, 199_210);
    let names: Vec<_> = fc
        .layout()
        .iter()
        .map(|t| (t.name.as_str(), t.shape.clone()))
        .collect();
    assert_eq!(
        names,
        [
            ("fc1.weight", vec![200, 784]),
            ("fc1.bias", vec![200]),
            ("fc2.weight", vec![200, 200]),
            ("fc2.bias", vec![200]),
            ("fc3.weight", vec![10, 200]),
            ("fc3.bias", vec![10]),
        ]
    );
    let lenet = Network::new(&Arch::lenet(), 8).unwrap();
    check_layout(&lenet, 44_426);
    let shapes: Vec<_> = lenet.layout().iter().map(|t| t.shape.clone()).collect();
    assert_eq!(
        shapes,
        [
            vec![6, 1, 5, 5],
            vec![6],
            vec![16, 6, 5, 5],
            vec![16],
            vec![120, 256],
            vec![120],
            vec![84, 120],
            vec![84],
            vec![10, 84],
            vec![10]
        ]
    );
    for net in [&fc, &lenet] {
        assert_eq!(net.input_len(), 784);
        assert_eq!(net.num_classes(), 10);
    }
    // 784·50+50 + 50·50+50 + 50·10+10
    check_layout(
        &Network::new(&Arch::parse("mlp:50,50").unwrap(), 4).unwrap(),
        42_310,
    );
    // A linear model: 784·10 + 10.
    check_layout(
        &Network::new(&Arch::Mlp { hidden: vec![] }, 4).unwrap(),
        7_850,
    );
    // Width and depth: 784·30+30 + 3·(30·30+30) + 30·10+10.
    check_layout(
        &Network::new(&Arch::parse("mlp:30x4").unwrap(), 4).unwrap(),
        26_650,
    );
}

#[test]
fn arch_names_parse_back_and_bad_names_are_errors() {
    for s in [
        "fc",
        "lenet",
        "mlp:200x2",
        "MLP:50,50",
        "mlp:100",
        "mlp:64x3",
        "mlp:10,20,30",
        "mlp:5x0",
    ] {
        let a = Arch::parse(s).unwrap();
        assert_eq!(Arch::parse(&a.name()).unwrap(), a, "{s} → {}", a.name());
    }
    assert_eq!(Arch::parse("mlp:200x2").unwrap(), Arch::fc());
    assert_eq!(
        Arch::parse("mlp:50,50").unwrap(),
        Arch::Mlp {
            hidden: vec![50, 50]
        }
    );
    for bad in ["", "resnet", "mlp:", "mlp:ax2", "mlp:10,,5", "mlp:-3"] {
        let e = Arch::parse(bad).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("{bad:?}")) && msg.contains("mlp:"),
            "{msg}"
        );
    }
    assert!(matches!(
        Arch::parse("mlp:10,0"),
        Err(NnError::ZeroWidth { index: 1 })
    ));
    assert!(matches!(
        Network::new(&Arch::Mlp { hidden: vec![0] }, 4),
        Err(NnError::ZeroWidth { .. })
    ));
    assert!(matches!(
        Network::new(&Arch::fc(), 0),
        Err(NnError::ZeroBatch)
    ));
}

#[test]
fn init_is_he_normal_with_zero_biases_and_seeded() {
    for arch in [Arch::fc(), Arch::lenet()] {
        let net = Network::new(&arch, 4).unwrap();
        let mut theta = vec![f32::NAN; net.num_params()];
        net.init(7, &mut theta);
        for t in net.layout() {
            let v = &theta[t.offset..t.offset + t.len];
            if !t.decay {
                assert!(v.iter().all(|&x| x == 0.0), "{} not zero", t.name);
                continue;
            }
            let n = v.len() as f64;
            let want = (2.0 / t.fan_in() as f64).sqrt();
            let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
            let sd = (v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
            // Standard errors of iid normal samples: σ/√n for the mean, σ/√(2n) for
            // the standard deviation; 5 standard errors (fails by chance w.p. < 1e-6;
            // fc1.weight: ±0.9 %, conv1.weight (150 values): ±29 %).
            assert!(
                mean.abs() < 5.0 * want / n.sqrt(),
                "{}: mean {mean}",
                t.name
            );
            assert!(
                (sd / want - 1.0).abs() < 5.0 / (2.0 * n).sqrt(),
                "{}: std {sd} vs {want}",
                t.name
            );
        }
        let mut again = vec![0.0; theta.len()];
        net.init(7, &mut again);
        assert_eq!(theta, again, "same seed, same θ_0");
        net.init(8, &mut again);
        assert_ne!(theta, again, "another seed, another θ_0");
    }
}

/// θ_0 with small random biases (so the bias paths carry nonzero values).
fn test_theta(net: &Network, seed: u64) -> Vec<f32> {
    let mut theta = vec![0.0; net.num_params()];
    net.init(seed, &mut theta);
    for t in net.layout().iter().filter(|t| !t.decay) {
        let b = randn(seed + 100, t.len, 0.1);
        theta[t.offset..t.offset + t.len].copy_from_slice(&b);
    }
    theta
}

fn batch(seed: u64, n: usize) -> (Vec<f32>, Vec<u8>) {
    let x = randn(seed, n * 784, 1.0);
    let mut r = intrinsic_dim::rng::from_seed(seed + 1);
    let y = (0..n)
        .map(|_| intrinsic_dim::rng::below(&mut r, 10) as u8)
        .collect();
    (x, y)
}

/// Central differences of the f64 reference loss on `per_tensor` random
/// coordinates of every tensor (all of a tensor when it is that small).
///
/// Tolerance: the f32 gradient of a mean over B examples is a sum of
/// B·(fan-in) rounded products; its error is ~1e-6 of the gradient's
/// scale, while the f64 differences (h = 1e-5 on θ, loss smooth away from
/// ReLU kinks and pooling ties, which a fixed random draw avoids) are exact
/// to ~1e-9. The bound 2e-5·|fd| + 1e-5·rms(fd) leaves room for f32
/// rounding (the worst observed error is ~3 % of it, printed with
/// --nocapture) and fails for any wrong index, sign or scale (errors of
/// order |fd| itself).
fn gradient_check(arch: Arch, n: usize, per_tensor: usize, l2: f32) {
    let mut net = Network::new(&arch, n.max(8)).unwrap();
    assert!(n > net.chunk_size(), "the check must span several chunks");
    let theta = test_theta(&net, 3);
    let (x, y) = batch(5, n);
    let mut grad = vec![f32::NAN; theta.len()];
    let loss = net.loss_grad(&theta, &x, &y, l2, &mut grad);
    let x64 = to64(&x);
    let mut t64 = to64(&theta);
    let l64 = nn_ref::model_loss(&net, &t64, &x64, &y, l2 as f64);
    assert!(
        ((loss as f64) - l64).abs() <= 1e-5 * (1.0 + l64.abs()),
        "loss {loss} vs reference {l64}"
    );
    let mut r = intrinsic_dim::rng::from_seed(11);
    let mut checked = Vec::new();
    for t in net.layout() {
        let picks: Vec<usize> = if t.len <= per_tensor {
            (0..t.len).collect()
        } else {
            (0..per_tensor)
                .map(|_| intrinsic_dim::rng::below(&mut r, t.len as u64) as usize)
                .collect()
        };
        for p in picks {
            let i = t.offset + p;
            let fd = nn_ref::central_diff(
                &mut |v| nn_ref::model_loss(&net, v, &x64, &y, l2 as f64),
                &mut t64,
                i,
                1e-5,
            );
            checked.push((t.name.clone(), i, grad[i] as f64, fd));
        }
    }
    let rms = (checked.iter().map(|c| c.3 * c.3).sum::<f64>() / checked.len() as f64).sqrt();
    assert!(rms > 0.0);
    let worst = checked
        .iter()
        .map(|c| (c.2 - c.3).abs() / (2e-5 * c.3.abs() + 1e-5 * rms))
        .fold(0.0, f64::max);
    println!(
        "{}: {} coordinates, worst error / tolerance = {worst:.2e}",
        arch.name(),
        checked.len()
    );
    for (name, i, a, fd) in &checked {
        assert!(
            (a - fd).abs() <= 2e-5 * fd.abs() + 1e-5 * rms,
            "{name} θ[{i}]: gradient {a} vs finite difference {fd} (rms {rms})"
        );
    }
}

#[test]
fn small_mlp_gradient_matches_finite_differences() {
    gradient_check(Arch::parse("mlp:16,12").unwrap(), 70, 40, 0.0);
}

#[test]
fn fc_gradient_with_l2_matches_finite_differences() {
    gradient_check(Arch::fc(), 67, 8, 0.05);
}

#[test]
fn lenet_gradient_with_l2_matches_finite_differences() {
    gradient_check(Arch::lenet(), 21, 12, 0.05);
}

#[test]
fn l2_term_adds_exactly_l2_theta_on_weights_only() {
    let mut net = Network::new(&Arch::parse("mlp:20").unwrap(), 16).unwrap();
    let theta = test_theta(&net, 9);
    let (x, y) = batch(10, 16);
    let mut g0 = vec![0.0; theta.len()];
    let mut g1 = vec![0.0; theta.len()];
    let l0 = net.loss_grad(&theta, &x, &y, 0.0, &mut g0);
    let l2 = 0.3f32;
    let l1 = net.loss_grad(&theta, &x, &y, l2, &mut g1);
    let sq: f64 = net
        .layout()
        .iter()
        .filter(|t| t.decay)
        .map(|t| {
            theta[t.offset..t.offset + t.len]
                .iter()
                .map(|&v| (v as f64).powi(2))
                .sum::<f64>()
        })
        .sum();
    assert!(
        (((l1 - l0) as f64) - 0.5 * l2 as f64 * sq).abs() < 1e-4 * (1.0 + sq),
        "loss term"
    );
    for t in net.layout() {
        for i in t.offset..t.offset + t.len {
            let want = if t.decay {
                g0[i] + l2 * theta[i]
            } else {
                g0[i]
            };
            assert!(
                (g1[i] - want).abs() <= 1e-6 * (1.0 + want.abs()),
                "{} [{i}]",
                t.name
            );
        }
    }
}

fn with_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn gradient_is_bitwise_identical_with_one_and_two_threads() {
    for (arch, b) in [
        (Arch::fc(), 128),
        (Arch::fc(), 100),
        (Arch::lenet(), 128),
        (Arch::lenet(), 37),
    ] {
        let run = |threads: usize| {
            with_threads(threads, || {
                let mut net = Network::new(&arch, 128).unwrap();
                let theta = test_theta(&net, 1);
                let (x, y) = batch(2, b);
                let mut g = vec![0.0f32; theta.len()];
                let l = net.loss_grad(&theta, &x, &y, 1e-4, &mut g);
                (
                    l.to_bits(),
                    g.iter().map(|v| v.to_bits()).collect::<Vec<u32>>(),
                )
            })
        };
        let one = run(1);
        let two = run(2);
        assert!(
            one == two,
            "{} batch {b}: gradient depends on the thread count",
            arch.name()
        );
        assert_eq!(one, run(3), "{} batch {b}: 3 threads", arch.name());
    }
}

#[test]
fn evaluate_matches_the_reference_for_any_number_of_examples() {
    for (arch, n) in [(Arch::lenet(), 150), (Arch::parse("mlp:40").unwrap(), 300)] {
        let mut net = Network::new(&arch, 32).unwrap();
        let theta = test_theta(&net, 4);
        let (x, y) = batch(6, n);
        let (ce, correct) = net.evaluate(&theta, &x, &y);
        let z = nn_ref::logits(&arch, net.layout(), &to64(&theta), &to64(&x), n);
        let (ce_ref, correct_ref) = nn_ref::softmax_ce(n, 10, &z, &y);
        assert!(
            (ce - ce_ref).abs() <= 1e-5 * ce_ref.abs(),
            "{ce} vs {ce_ref}"
        );
        assert_eq!(correct, correct_ref);
        // The mean CE agrees with loss_grad's (l2 = 0) on a batch that fits.
        let mut g = vec![0.0; theta.len()];
        let l = net.loss_grad(&theta, &x[..32 * 784], &y[..32], 0.0, &mut g);
        let (ce32, _) = net.evaluate(&theta, &x[..32 * 784], &y[..32]);
        assert!((l as f64 - ce32 / 32.0).abs() < 1e-6 * (1.0 + l.abs() as f64));
    }
}
