//! The very sparse random projection (Li, Hastie, Church 2006): each entry is
//! non-zero with probability 1/√D, ±1 with equal probability, and each column
//! is scaled to unit norm.

use rayon::prelude::*;

use super::{DEFAULT_BUDGET_BYTES, Projection, ProjectionError, ProjectionKind, check_sizes};
use crate::kernels::spmv::{SIGN_BIT, SignCsr};
use crate::rng::{self, Stream};

/// A very sparse D×d projection: column j has nnz_j entries ±1/√nnz_j.
///
/// **Random draws** (bit-exact, any thread count): column j uses
/// `rng::stream(seed, Stream::Sparse, j)`. With p = 1/√D, its non-zero rows
/// are found by geometric skips: starting at r = −1, repeat
/// `u = 1 − uniform_f64` (so u ∈ (0, 1]), `r ← r + 1 + ⌊ln u / ln(1 − p)⌋`
/// (when p = 1, i.e. D = 1, the skip is 0), stop once r ≥ D, otherwise draw
/// the sign with [`rng::sign`] and record (r, sign). This draws each row
/// independently with probability p in O(nnz_j + 1) time, not O(D).
/// A column that draws no row at all gets one, so that no direction of θ_d is
/// dead: row `below(D)` then a sign, drawn from the same stream after the
/// skip that ended the column. (This happens with probability
/// (1 − 1/√D)^D ≈ e^{−√D}: never in practice for D ≥ 400.)
///
/// **Storage.** The pattern of P (D×d) and of Pᵀ (d×D) as [`SignCsr`] (4 bytes
/// per entry, sign in the top bit) plus one f32 scale 1/√nnz_j per column:
/// 8 bytes per non-zero for both directions, plus 8·(D + d + 2) bytes of row
/// pointers and 8·d bytes of scales and scratch. nnz ≈ d·√D.
///
/// **Cost.** Construction O(d·√D + D) (parallel over columns); `forward_add`
/// O(d + nnz + D), `adjoint` O(nnz + D + d).
pub struct SparseProjection {
    big_dim: usize,
    small_dim: usize,
    /// Pattern of P, D×d.
    pattern: SignCsr,
    /// Pattern of Pᵀ, d×D.
    pattern_t: SignCsr,
    /// 1/√nnz_j.
    scale: Vec<f32>,
    /// S·x for the forward pass.
    xs: Vec<f32>,
}

/// Expected bytes: nnz ≈ d·(√D + 1), 8 bytes each, plus row pointers and
/// scales (None on overflow). O(1).
pub(crate) fn estimated_bytes(big_dim: usize, small_dim: usize) -> Option<usize> {
    let per_col = (big_dim as f64).sqrt().ceil() as usize + 1;
    let nnz = small_dim.checked_mul(per_col)?;
    nnz.checked_mul(8)?
        .checked_add(
            big_dim
                .checked_add(small_dim)?
                .checked_add(2)?
                .checked_mul(8)?,
        )?
        .checked_add(small_dim.checked_mul(8)?)
}

/// The rows (with the sign bit) of column j, in increasing order. O(nnz_j + 1).
fn draw_column(seed: u64, j: usize, big_dim: usize, ln_q: f64) -> Vec<u32> {
    let mut r = rng::stream(seed, Stream::Sparse, j as u64);
    let mut rows = Vec::new();
    let mut row: i64 = -1;
    loop {
        let u = 1.0 - rng::uniform_f64(&mut r);
        let skip = if ln_q == f64::NEG_INFINITY {
            0.0
        } else {
            (u.ln() / ln_q).floor()
        };
        if skip >= (big_dim as i64 - row) as f64 {
            break;
        }
        row += 1 + skip as i64;
        if row >= big_dim as i64 {
            break;
        }
        let neg = rng::sign(&mut r) < 0.0;
        rows.push(row as u32 | if neg { SIGN_BIT } else { 0 });
    }
    if rows.is_empty() {
        let row = rng::below(&mut r, big_dim as u64) as u32;
        let neg = rng::sign(&mut r) < 0.0;
        rows.push(row | if neg { SIGN_BIT } else { 0 });
    }
    rows
}

impl SparseProjection {
    /// Build with the default budget [`DEFAULT_BUDGET_BYTES`]. O(d·√D + D).
    pub fn new(big_dim: usize, small_dim: usize, seed: u64) -> Result<Self, ProjectionError> {
        Self::with_budget(big_dim, small_dim, seed, DEFAULT_BUDGET_BYTES)
    }

    /// Build, refusing if the expected memory exceeds `budget` or D ≥ 2³¹
    /// (row indices are 31-bit). O(d·√D + D), parallel over columns.
    pub fn with_budget(
        big_dim: usize,
        small_dim: usize,
        seed: u64,
        budget: usize,
    ) -> Result<Self, ProjectionError> {
        check_sizes(
            ProjectionKind::Sparse,
            big_dim,
            small_dim,
            estimated_bytes(big_dim, small_dim),
            budget,
        )?;
        if big_dim >= SIGN_BIT as usize {
            return Err(ProjectionError::IndexOverflow {
                kind: ProjectionKind::Sparse.name(),
                big_dim,
            });
        }
        let p = 1.0 / (big_dim as f64).sqrt();
        let ln_q = (1.0 - p).ln();
        let columns: Vec<Vec<u32>> = (0..small_dim)
            .into_par_iter()
            .map(|j| draw_column(seed, j, big_dim, ln_q))
            .collect();
        let mut row_ptr = Vec::with_capacity(small_dim + 1);
        row_ptr.push(0usize);
        let mut scale = Vec::with_capacity(small_dim);
        for c in &columns {
            row_ptr.push(row_ptr.last().unwrap() + c.len());
            scale.push((1.0 / (c.len() as f64).sqrt()) as f32);
        }
        let entries: Vec<u32> = columns.concat();
        drop(columns);
        let pattern_t = SignCsr::new(small_dim, big_dim, row_ptr, entries)
            .expect("valid by construction: sorted rows below D");
        let pattern = pattern_t.transpose();
        Ok(SparseProjection {
            big_dim,
            small_dim,
            pattern,
            pattern_t,
            scale,
            xs: vec![0.0; small_dim],
        })
    }

    /// The number of non-zeros of P. O(1).
    pub fn nnz(&self) -> usize {
        self.pattern.nnz()
    }

    /// The column scales 1/√nnz_j. O(1).
    pub fn column_scales(&self) -> &[f32] {
        &self.scale
    }
}

impl Projection for SparseProjection {
    fn big_dim(&self) -> usize {
        self.big_dim
    }

    fn small_dim(&self) -> usize {
        self.small_dim
    }

    /// out ← out + P·x: a scaled copy S·x, then one sign-CSR product. O(d + nnz + D).
    ///
    /// # Panics
    /// If `x.len() != d` or `out.len() != D`.
    fn forward_add(&mut self, x: &[f32], out: &mut [f32]) {
        assert_eq!(
            x.len(),
            self.small_dim,
            "sparse forward: x has the wrong length"
        );
        assert_eq!(
            out.len(),
            self.big_dim,
            "sparse forward: out has the wrong length"
        );
        for ((s, &xj), &sj) in self.xs.iter_mut().zip(x).zip(&self.scale) {
            *s = xj * sj;
        }
        self.pattern.mul_vec_add(&self.xs, out);
    }

    /// out ← Pᵀ·y: one transposed sign-CSR product, then the column scales. O(nnz + D + d).
    ///
    /// # Panics
    /// If `y.len() != D` or `out.len() != d`.
    fn adjoint(&mut self, y: &[f32], out: &mut [f32]) {
        assert_eq!(
            y.len(),
            self.big_dim,
            "sparse adjoint: y has the wrong length"
        );
        assert_eq!(
            out.len(),
            self.small_dim,
            "sparse adjoint: out has the wrong length"
        );
        self.pattern_t.mul_vec(y, out);
        for (o, &s) in out.iter_mut().zip(&self.scale) {
            *o *= s;
        }
    }

    fn bytes(&self) -> usize {
        self.pattern.bytes() + self.pattern_t.bytes() + 4 * self.scale.len() + 4 * self.xs.len()
    }
}
