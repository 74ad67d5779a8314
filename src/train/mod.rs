//! Optimisers, the subspace training loop and the d sweep.
pub mod optim;
