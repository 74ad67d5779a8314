//! # intrinsic-dim
//!
//! Measure the *intrinsic dimension* of a learning problem (Li, Farkhoor, Liu,
//! Yosinski, "Measuring the Intrinsic Dimension of Objective Landscapes",
//! ICLR 2018): train a network only inside a random d-dimensional subspace of
//! its D-dimensional parameter space,
//!
//! ```text
//! θ_D = θ_0 + P · θ_d        θ_0: frozen init, P: D×d random, θ_d: trained, starts at 0
//! g_d = Pᵀ · ∇_θD L           the only gradient the optimiser sees
//! ```
//!
//! and find the smallest d that reaches 90 % of the fully trained network's
//! accuracy (d_int90).
//!
//! Data flows one way through the modules:
//! bytes ([`data`]) → batches → network ([`nn`], on one flat θ_D) → loss →
//! ∇θ_D → Pᵀ ([`projection`]) → optimiser on θ_d ([`train`]) → P → θ_D.
//! Everything numeric stands on the hand-vectorised [`kernels`].
//!
//! Every random object is drawn from a documented `u64` seed ([`rng`]), so
//! (model, seed of θ_0, projection kind, seed of P, θ_d) *is* the trained
//! network.

pub mod data;
pub mod fsutil;
pub mod kernels;
pub mod nn;
pub mod plot;
pub mod projection;
pub mod rng;
pub mod simd;
pub mod train;
