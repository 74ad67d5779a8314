//! Hand-vectorised CPU kernels. They know nothing of networks.
//!
//! - [`fwht`]: in-place fast Walsh–Hadamard transform (Fastfood's engine).
//! - [`spmv`]: CSR sparse matrix × vector and its transpose (the sparse projection).
//! - [`gemm`]: blocked, packed SGEMM and GEMV (every dense layer, im2col
//!   convolution, the dense projection).
//!
//! - [`AlignedVec`]: a float buffer on a cache-line boundary, which the
//!   kernels' 64-byte loads and stores want.
//!
//! Every kernel has a plain scalar `*_reference` beside it; the tests compare
//! the fast path against it.

mod aligned;
pub mod fwht;
pub mod gemm;
pub mod spmv;

pub use aligned::AlignedVec;
