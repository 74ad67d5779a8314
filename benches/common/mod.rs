//! Shared by the benchmark binaries.

#![allow(dead_code)] // each benchmark binary uses a part

use std::time::{Duration, Instant};

/// The time of `iters` calls of `step` on the calling thread.
fn timed(iters: u64, mut step: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        step();
    }
    start.elapsed()
}

/// Time `iters` calls of `step` run on a worker of the global rayon pool, the
/// way `idim` runs its training loop (inside `ThreadPool::install`): every
/// fork-join in the step then starts from a worker, instead of injecting a
/// job from outside the pool and parking the caller until it is done. Use
/// with Criterion's `iter_custom`.
pub fn on_pool(iters: u64, step: impl FnMut() + Send) -> Duration {
    rayon::scope(|_| timed(iters, step))
}

/// [`on_pool`] on a given pool (e.g. one of a single thread).
pub fn on(pool: &rayon::ThreadPool, iters: u64, step: impl FnMut() + Send) -> Duration {
    pool.install(|| timed(iters, step))
}
