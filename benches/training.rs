//! Full-space training throughput: one step = `Network::loss_grad` (forward,
//! backward, fixed-order chunk reduction, L2) + one Adam step over all D
//! parameters, on a batch of 128 with all threads.
//! `cargo bench --bench training`; Criterion reports examples/s
//! (Throughput::Elements(128)).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use intrinsic_dim::nn::{Arch, LayerSpec, Network};
use intrinsic_dim::rng;
use intrinsic_dim::train::optim::{Optimizer, OptimizerKind};

#[path = "common/mod.rs"]
mod common;
use common::on_pool;

const BATCH: usize = 128;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("train_step");
    g.throughput(Throughput::Elements(BATCH as u64));
    for arch in [Arch::fc(), Arch::lenet()] {
        let mut net = Network::new(&arch, BATCH).unwrap();
        let mut theta = vec![0.0; net.num_params()];
        net.init(1, &mut theta);
        let mut grad = vec![0.0; theta.len()];
        let mut opt = Optimizer::new(OptimizerKind::adam(), 1e-3, theta.len());
        let mut r = rng::from_seed(2);
        let mut x = vec![0.0f32; BATCH * net.input_len()];
        rng::fill_normal(&mut r, 1.0, &mut x);
        let y: Vec<u8> = (0..BATCH).map(|_| rng::below(&mut r, 10) as u8).collect();
        // Thousands of Adam steps on random labels drive θ far from any
        // network that real training visits (LeNet's step then slows 2×), so
        // θ and the optimiser restart from θ_0 every RESTART steps.
        const RESTART: usize = 64;
        let theta0 = theta.clone();
        let mut steps = 0usize;
        g.bench_function(BenchmarkId::new("loss_grad+adam", arch.name()), |b| {
            b.iter_custom(|iters| {
                on_pool(iters, || {
                    steps += 1;
                    if steps.is_multiple_of(RESTART) {
                        theta.copy_from_slice(&theta0);
                        opt.reset();
                    }
                    black_box(net.loss_grad(&theta, &x, &y, 1e-4, &mut grad));
                    opt.step(&mut theta, &grad);
                })
            })
        });
        g.bench_function(BenchmarkId::new("loss_grad", arch.name()), |b| {
            b.iter_custom(|iters| {
                on_pool(iters, || {
                    black_box(net.loss_grad(&theta, &x, &y, 1e-4, &mut grad));
                })
            })
        });
        g.bench_function(BenchmarkId::new("adam", arch.name()), |b| {
            b.iter_custom(|iters| on_pool(iters, || opt.step(&mut theta, &grad)))
        });
    }
    g.finish();
}

/// LeNet's two convolutions on one chunk of 16 examples: im2col + SGEMM (what
/// the network uses) against the direct kernel.
fn conv(c: &mut Criterion) {
    use intrinsic_dim::nn::conv::{conv_forward, conv_forward_direct};
    let n = 16;
    let mut g = c.benchmark_group("conv");
    // LeNet's own two convolutions, as the network builds them.
    let shapes = intrinsic_dim::nn::lenet::layers(28, 10)
        .into_iter()
        .filter_map(|l| match l {
            LayerSpec::Conv { name, shape } => Some((name, shape)),
            _ => None,
        });
    for (name, s) in shapes {
        let mut r = rng::from_seed(3);
        let mut x = vec![0.0f32; n * s.in_len()];
        let mut w = vec![0.0f32; s.out_c * s.patch()];
        rng::fill_normal(&mut r, 1.0, &mut x);
        rng::fill_normal(&mut r, 0.2, &mut w);
        let b = vec![0.1f32; s.out_c];
        let mut col = vec![0.0f32; s.col_len(n)];
        let mut y = vec![0.0f32; n * s.out_len()];
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("im2col+sgemm", &name), |bch| {
            bch.iter(|| conv_forward(&s, n, &x, &w, &b, &mut col, &mut y))
        });
        g.bench_function(BenchmarkId::new("direct", &name), |bch| {
            bch.iter(|| conv_forward_direct(&s, n, &x, &w, &b, &mut y))
        });
    }
    g.finish();
}

criterion_group!(benches, bench, conv);
criterion_main!(benches);
