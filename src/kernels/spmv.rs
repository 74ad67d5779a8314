//! Compressed sparse row (CSR) matrices and their products with vectors.
//!
//! Two storage forms:
//! - [`Csr`]: general f32 values, u32 column indices: y = A·x, y += A·x, y = Aᵀ·x.
//! - [`SignCsr`]: a ±1 pattern, each entry one u32 (column index in bits 0..31,
//!   sign in bit 31: set means −1), 4 bytes per non-zero; used by the very
//!   sparse random projection, which scales columns separately.

use thiserror::Error;

/// Why a CSR matrix was rejected.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CsrError {
    /// Placeholder message for the constructor's validation errors.
    #[error("invalid CSR matrix: {0}")]
    Invalid(String),
}

/// A general CSR matrix with f32 values.
#[derive(Clone, Debug)]
pub struct Csr {
    nrows: usize,
    ncols: usize,
    row_ptr: Vec<usize>,
    col_idx: Vec<u32>,
    values: Vec<f32>,
}

impl Csr {
    /// Validate and build: `row_ptr` has `nrows + 1` non-decreasing entries
    /// starting at 0 and ending at `col_idx.len() == values.len()`, and every
    /// column index is below `ncols`. O(nnz + nrows).
    pub fn new(
        nrows: usize,
        ncols: usize,
        row_ptr: Vec<usize>,
        col_idx: Vec<u32>,
        values: Vec<f32>,
    ) -> Result<Csr, CsrError> {
        if row_ptr.len() != nrows + 1
            || row_ptr[0] != 0
            || row_ptr[nrows] != col_idx.len()
            || col_idx.len() != values.len()
            || row_ptr.windows(2).any(|w| w[0] > w[1])
            || col_idx.iter().any(|&c| c as usize >= ncols)
        {
            return Err(CsrError::Invalid("malformed".into()));
        }
        Ok(Csr {
            nrows,
            ncols,
            row_ptr,
            col_idx,
            values,
        })
    }

    /// Number of rows. O(1).
    pub fn nrows(&self) -> usize {
        self.nrows
    }

    /// Number of columns. O(1).
    pub fn ncols(&self) -> usize {
        self.ncols
    }

    /// Number of stored entries. O(1).
    pub fn nnz(&self) -> usize {
        self.values.len()
    }

    /// y ← A·x. O(nnz + nrows).
    ///
    /// # Panics
    /// If `x.len() != ncols` or `y.len() != nrows`.
    pub fn mul_vec(&self, x: &[f32], y: &mut [f32]) {
        y.fill(0.0);
        self.mul_vec_add(x, y);
    }

    /// y ← y + A·x. O(nnz + nrows).
    ///
    /// # Panics
    /// If `x.len() != ncols` or `y.len() != nrows`.
    pub fn mul_vec_add(&self, x: &[f32], y: &mut [f32]) {
        assert_eq!(x.len(), self.ncols);
        assert_eq!(y.len(), self.nrows);
        for (r, yr) in y.iter_mut().enumerate() {
            for k in self.row_ptr[r]..self.row_ptr[r + 1] {
                *yr += self.values[k] * x[self.col_idx[k] as usize];
            }
        }
    }

    /// y ← Aᵀ·x. O(nnz + nrows + ncols).
    ///
    /// # Panics
    /// If `x.len() != nrows` or `y.len() != ncols`.
    pub fn mul_t_vec(&self, x: &[f32], y: &mut [f32]) {
        assert_eq!(x.len(), self.nrows);
        assert_eq!(y.len(), self.ncols);
        y.fill(0.0);
        for (r, &xr) in x.iter().enumerate() {
            for k in self.row_ptr[r]..self.row_ptr[r + 1] {
                y[self.col_idx[k] as usize] += self.values[k] * xr;
            }
        }
    }

    /// The matrix as a dense row-major `nrows × ncols` array (tests, small sizes). O(nrows·ncols).
    pub fn to_dense(&self) -> Vec<f32> {
        let mut d = vec![0.0; self.nrows * self.ncols];
        for r in 0..self.nrows {
            for k in self.row_ptr[r]..self.row_ptr[r + 1] {
                d[r * self.ncols + self.col_idx[k] as usize] += self.values[k];
            }
        }
        d
    }
}

/// A ±1 CSR pattern: one u32 per entry, column in bits 0..31, bit 31 set for −1.
#[derive(Clone, Debug)]
pub struct SignCsr {
    nrows: usize,
    ncols: usize,
    row_ptr: Vec<usize>,
    entries: Vec<u32>,
}

/// The sign bit of a [`SignCsr`] entry.
pub const SIGN_BIT: u32 = 1 << 31;

impl SignCsr {
    /// Validate and build from row pointers and packed entries; `ncols` must be
    /// below 2³¹. O(nnz + nrows).
    pub fn new(
        nrows: usize,
        ncols: usize,
        row_ptr: Vec<usize>,
        entries: Vec<u32>,
    ) -> Result<SignCsr, CsrError> {
        if ncols > SIGN_BIT as usize
            || row_ptr.len() != nrows + 1
            || row_ptr[0] != 0
            || row_ptr[nrows] != entries.len()
            || row_ptr.windows(2).any(|w| w[0] > w[1])
            || entries.iter().any(|&e| (e & !SIGN_BIT) as usize >= ncols)
        {
            return Err(CsrError::Invalid("malformed".into()));
        }
        Ok(SignCsr {
            nrows,
            ncols,
            row_ptr,
            entries,
        })
    }

    /// Number of rows. O(1).
    pub fn nrows(&self) -> usize {
        self.nrows
    }

    /// Number of columns. O(1).
    pub fn ncols(&self) -> usize {
        self.ncols
    }

    /// Number of stored entries. O(1).
    pub fn nnz(&self) -> usize {
        self.entries.len()
    }

    /// Bytes held by the row pointers and entries. O(1).
    pub fn bytes(&self) -> usize {
        self.row_ptr.len() * std::mem::size_of::<usize>() + self.entries.len() * 4
    }

    /// y ← y + A·x. O(nnz + nrows).
    ///
    /// # Panics
    /// If `x.len() != ncols` or `y.len() != nrows`.
    pub fn mul_vec_add(&self, x: &[f32], y: &mut [f32]) {
        assert_eq!(x.len(), self.ncols);
        assert_eq!(y.len(), self.nrows);
        for (r, yr) in y.iter_mut().enumerate() {
            for &e in &self.entries[self.row_ptr[r]..self.row_ptr[r + 1]] {
                let v = x[(e & !SIGN_BIT) as usize];
                *yr += if e & SIGN_BIT != 0 { -v } else { v };
            }
        }
    }

    /// y ← A·x. O(nnz + nrows).
    ///
    /// # Panics
    /// If `x.len() != ncols` or `y.len() != nrows`.
    pub fn mul_vec(&self, x: &[f32], y: &mut [f32]) {
        y.fill(0.0);
        self.mul_vec_add(x, y);
    }

    /// The transposed pattern (an explicit copy, same signs). O(nnz + nrows + ncols).
    pub fn transpose(&self) -> SignCsr {
        let mut counts = vec![0usize; self.ncols + 1];
        for &e in &self.entries {
            counts[(e & !SIGN_BIT) as usize + 1] += 1;
        }
        for c in 0..self.ncols {
            counts[c + 1] += counts[c];
        }
        let row_ptr = counts.clone();
        let mut next = counts;
        let mut entries = vec![0u32; self.entries.len()];
        for r in 0..self.nrows {
            for &e in &self.entries[self.row_ptr[r]..self.row_ptr[r + 1]] {
                let c = (e & !SIGN_BIT) as usize;
                entries[next[c]] = r as u32 | (e & SIGN_BIT);
                next[c] += 1;
            }
        }
        SignCsr {
            nrows: self.ncols,
            ncols: self.nrows,
            row_ptr,
            entries,
        }
    }
}
