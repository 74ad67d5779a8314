//! Criterion benchmarks of the kernels: `cargo bench --bench kernels`.
//! Each kernel's benchmarks live in their own file under `benches/kernels/`.

use criterion::criterion_group;

#[path = "common/mod.rs"]
mod common;
#[path = "kernels/fwht.rs"]
mod fwht;
#[path = "kernels/gemm.rs"]
mod gemm;
#[path = "kernels/spmv.rs"]
mod spmv;

criterion_group!(benches, fwht::bench, gemm::bench, spmv::bench);

/// `criterion_main!`, after pinning matrixmultiply to one thread unless
/// MATMUL_NUM_THREADS asks for more: with its `threading` feature and the
/// variable unset it runs on every physical core (see `gemm.rs`).
fn main() {
    if std::env::var_os("MATMUL_NUM_THREADS").is_none() {
        // SAFETY: the first statement of main, before any other thread exists.
        unsafe { std::env::set_var("MATMUL_NUM_THREADS", "1") };
    }
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
