//! The dense Gaussian projection: P has iid N(0,1) entries, then each column is
//! scaled to unit Euclidean norm.

use rayon::prelude::*;

use super::{DEFAULT_BUDGET_BYTES, Projection, ProjectionError, ProjectionKind, check_sizes};
use crate::kernels::gemm::{Trans, sgemv};
use crate::rng::{self, Stream};

/// Rows of P drawn from one random stream: rows `[ROWS_PER_STREAM·s, ROWS_PER_STREAM·(s+1))`
/// come from `rng::stream(seed, Stream::Dense, s)`. Part of the documented derivation.
pub const ROWS_PER_STREAM: usize = 256;

/// A dense D×d projection with unit-norm Gaussian columns, stored row-major in f32.
///
/// Construction (bit-exact, any thread count): row block `s` (rows
/// `256·s .. 256·(s+1)`, clipped to D) is filled row by row, left to right, with
/// [`rng::normal`] draws of `rng::stream(seed, Stream::Dense, s)`, rounded to
/// f32. The squared norm of column j is then summed in f64 (per row block, the
/// blocks added in order), and every entry of column j is multiplied by
/// 1/‖column j‖ in f64 and rounded to f32. Cost O(D·d) time and 4·D·d bytes.
///
/// `forward_add` and `adjoint` are one [`sgemv`] each: O(D·d), memory-bound
/// (one pass over the 4·D·d bytes of P per call).
pub struct DenseProjection {
    big_dim: usize,
    small_dim: usize,
    /// P, row-major D×d.
    matrix: Vec<f32>,
}

/// Bytes of a dense projection: 4·D·d (None on overflow). O(1).
pub(crate) fn estimated_bytes(big_dim: usize, small_dim: usize) -> Option<usize> {
    big_dim.checked_mul(small_dim)?.checked_mul(4)
}

impl DenseProjection {
    /// Build with the default budget [`DEFAULT_BUDGET_BYTES`]. O(D·d).
    pub fn new(big_dim: usize, small_dim: usize, seed: u64) -> Result<Self, ProjectionError> {
        Self::with_budget(big_dim, small_dim, seed, DEFAULT_BUDGET_BYTES)
    }

    /// Build, refusing if the 4·D·d bytes of P exceed `budget`. O(D·d), parallel.
    pub fn with_budget(
        big_dim: usize,
        small_dim: usize,
        seed: u64,
        budget: usize,
    ) -> Result<Self, ProjectionError> {
        check_sizes(
            ProjectionKind::Dense,
            big_dim,
            small_dim,
            estimated_bytes(big_dim, small_dim),
            budget,
        )?;
        let d = small_dim;
        let mut matrix = vec![0.0f32; big_dim * d];
        let block_len = ROWS_PER_STREAM * d;
        // Draw each row block from its own stream and sum its column norms in f64.
        let partials: Vec<Vec<f64>> = matrix
            .par_chunks_mut(block_len)
            .enumerate()
            .map(|(s, block)| {
                let mut r = rng::stream(seed, Stream::Dense, s as u64);
                rng::fill_normal(&mut r, 1.0, block);
                let mut sq = vec![0.0f64; d];
                for row in block.chunks_exact(d) {
                    for (a, &v) in sq.iter_mut().zip(row) {
                        *a += v as f64 * v as f64;
                    }
                }
                sq
            })
            .collect();
        let mut norm2 = vec![0.0f64; d];
        for p in &partials {
            for (a, b) in norm2.iter_mut().zip(p) {
                *a += b;
            }
        }
        drop(partials);
        let scale: Vec<f64> = norm2.iter().map(|&n| 1.0 / n.sqrt()).collect();
        matrix.par_chunks_mut(block_len).for_each(|block| {
            for row in block.chunks_exact_mut(d) {
                for (v, &s) in row.iter_mut().zip(&scale) {
                    *v = (*v as f64 * s) as f32;
                }
            }
        });
        Ok(DenseProjection {
            big_dim,
            small_dim,
            matrix,
        })
    }

    /// P as a row-major D×d slice (entry (i, j) at `i·d + j`). O(1).
    pub fn matrix(&self) -> &[f32] {
        &self.matrix
    }
}

impl Projection for DenseProjection {
    fn big_dim(&self) -> usize {
        self.big_dim
    }

    fn small_dim(&self) -> usize {
        self.small_dim
    }

    /// out ← out + P·x by one GEMV. O(D·d).
    ///
    /// # Panics
    /// If `x.len() != d` or `out.len() != D`.
    fn forward_add(&mut self, x: &[f32], out: &mut [f32]) {
        assert_eq!(
            x.len(),
            self.small_dim,
            "dense forward: x has the wrong length"
        );
        assert_eq!(
            out.len(),
            self.big_dim,
            "dense forward: out has the wrong length"
        );
        let (m, n) = (self.big_dim, self.small_dim);
        sgemv(Trans::No, m, n, 1.0, &self.matrix, n, x, 1.0, out);
    }

    /// out ← Pᵀ·y by one transposed GEMV. O(D·d).
    ///
    /// # Panics
    /// If `y.len() != D` or `out.len() != d`.
    fn adjoint(&mut self, y: &[f32], out: &mut [f32]) {
        assert_eq!(
            y.len(),
            self.big_dim,
            "dense adjoint: y has the wrong length"
        );
        assert_eq!(
            out.len(),
            self.small_dim,
            "dense adjoint: out has the wrong length"
        );
        let (m, n) = (self.big_dim, self.small_dim);
        sgemv(Trans::Yes, m, n, 1.0, &self.matrix, n, y, 0.0, out);
    }

    fn bytes(&self) -> usize {
        self.matrix.len() * 4
    }
}
