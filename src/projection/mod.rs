//! Random projections P: R^d → R^D and their adjoints.
//!
//! θ_D = θ_0 + P·θ_d, and the gradient the optimiser sees is g_d = Pᵀ·∇θ_D.
//! Every P here has unit-length columns, so a unit step in θ_d is a unit step
//! in θ_D.

/// A linear map P: R^d → R^D (D ≥ d) with its exact adjoint.
///
/// Methods take `&mut self` so that implementations can keep scratch buffers
/// made once at construction: no allocation per call.
pub trait Projection: Send + Sync {
    /// D, the length of θ_D (rows of P).
    fn big_dim(&self) -> usize;
    /// d, the length of θ_d (columns of P).
    fn small_dim(&self) -> usize;
    /// out ← out + P·x, with x of length d and out of length D.
    fn forward_add(&mut self, x: &[f32], out: &mut [f32]);
    /// out ← Pᵀ·y, with y of length D and out of length d.
    fn adjoint(&mut self, y: &[f32], out: &mut [f32]);
    /// Bytes this projection holds (parameters and scratch).
    fn bytes(&self) -> usize;
}
