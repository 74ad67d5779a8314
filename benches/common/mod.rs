//! Shared by the benchmark binaries.

use std::time::{Duration, Instant};

/// Time `iters` calls of `step` run on a worker of the global rayon pool, the
/// way `idim` runs its training loop (inside `ThreadPool::install`): every
/// fork-join in the step then starts from a worker, instead of injecting a
/// job from outside the pool and parking the caller until it is done. Use
/// with Criterion's `iter_custom`.
pub fn on_pool(iters: u64, mut step: impl FnMut() + Send) -> Duration {
    rayon::scope(|_| {
        let start = Instant::now();
        for _ in 0..iters {
            step();
        }
        start.elapsed()
    })
}
