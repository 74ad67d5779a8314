//! Criterion benchmarks of the kernels: `cargo bench --bench kernels`.
//! Each kernel's benchmarks live in their own file under `benches/kernels/`.

use criterion::{criterion_group, criterion_main};

#[path = "common/mod.rs"]
mod common;
#[path = "kernels/fwht.rs"]
mod fwht;
#[path = "kernels/gemm.rs"]
mod gemm;
#[path = "kernels/spmv.rs"]
mod spmv;

criterion_group!(benches, fwht::bench, gemm::bench, spmv::bench);
criterion_main!(benches);
