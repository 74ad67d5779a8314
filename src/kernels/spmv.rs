//! Compressed sparse row (CSR) matrices and their products with vectors.
//!
//! Two storage forms:
//! - [`Csr`]: general f32 values, u32 column indices: y = A·x, y += A·x, y = Aᵀ·x.
//! - [`SignCsr`]: a ±1 pattern, each entry one u32 (column index in bits 0..31,
//!   sign in bit 31: set means −1), 4 bytes per non-zero: y = A·x, y += A·x,
//!   y = Aᵀ·x; used by the very sparse random projection, which scales
//!   columns separately.
//!
//! # How the products run
//!
//! A product is memory-bound: every stored entry is read once, every entry
//! gathers one element of `x`, every row pointer is read once and every
//! element of `y` written once. The kernels therefore avoid anything that
//! costs more than those bytes:
//!
//! - **Short rows** (average fewer than [`LONG_ROW`] entries per row — the
//!   very sparse projection has 1–2), with AVX2 or AVX-512: chunks of up to
//!   512 rows in two passes. First the terms of all the chunk's entries go
//!   into a buffer in L1, eight at a time (x fetched with scalar loads and
//!   inserts, which beat `vgatherdps` on the Zen 3 and the Zen 4); then
//!   eight rows at a time, one per lane: each row's first four terms by one
//!   4-wide load per row and an 8 × 4 transpose, masked by the row lengths;
//!   the rare blocks with a longer row are noted without a branch and
//!   finished after the pass. No branch depends on a row's length, so the
//!   random lengths of a very sparse matrix cost no mispredictions. On the
//!   Zen 4 this ran 1.5 × faster than a 16-lane AVX-512 kernel that
//!   gathered each step's entries and x (199,210 × 750), and 0.91–0.96 × on
//!   10⁶ × 10³ (README, session 9).
//! - **Long rows** (the transposed projection has ≈ √D entries per row): one
//!   row at a time, sixteen consecutive entries per step into two
//!   accumulators (AVX-512: one gather of x per step and a masked tail;
//!   AVX2: two registers of eight, x by scalar loads, a scalar tail).
//! - Otherwise (no AVX2, or more than 2³¹ columns, which 32-bit gather
//!   offsets cannot address) the rows run in scalar code.
//!
//! Rows are independent, and each row's sum is formed in an order that
//! depends only on the matrix (which path, fixed by the average row length,
//! and the row's own entries), so the result is **bitwise identical whatever
//! the thread count**. Above [`PAR_MIN_WORK`] (nnz + rows) the rows are split
//! into fixed chunks (their size depends only on the matrix) and run under
//! rayon.
//!
//! # Aᵀ·x
//!
//! `mul_t_vec` ([`Csr::mul_t_vec`], [`SignCsr::mul_t_vec`]) has two methods
//! ([`AdjointMethod`]), each with a cache built on first use:
//!
//! - **Scatter** `y[col] += v·x[row]`, streaming the entries, their rows
//!   (cached: the row pointers expanded to one u32 per entry, half the size
//!   of a transposed copy) and x once, in order. The writes go to partial
//!   sums of ncols floats (in L1/L2 for the shapes the default picks it
//!   for); the entries are cut into fixed chunks of at least 2¹⁵ and at most
//!   64 chunks, each with its own partial sums (run under rayon), which are
//!   then added in chunk order — the chunks depend only on nnz, so the
//!   result does not depend on the thread count. Each product allocates the
//!   partial sums, at most 64·ncols floats. With AVX2 (and AVX-512) eight
//!   entries at a time take x from a window of 16 rows (two loads and a
//!   permute), the products from one multiply; the adds into the partial
//!   sums stay scalar. Best when x is large and y small
//!   (a tall matrix: 10⁶ × 10³ runs 2.0–2.3 × faster than the copy).
//! - **Transposed copy**: A·x on an explicit CSR of Aᵀ (entries of each
//!   column in row order): no partial sums and no reduction, parallel over
//!   columns, but every entry gathers from x. Best when x fits in L2 or y is
//!   large (there the scatter's partial sums would not fit in cache).
//!
//! [`AdjointMethod::default_for`] picks by shape; `with_adjoint` overrides it.
//! The very sparse projection keeps its own transposed pattern (its x, the
//! D-vector, fits in L2 for the paper's networks).

use std::sync::OnceLock;

use rayon::prelude::*;
use thiserror::Error;

/// Why a CSR matrix was rejected. Every variant names the offending values.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum CsrError {
    /// `row_ptr` must hold one entry per row plus one.
    #[error(
        "row_ptr has {found} entries but a matrix with {nrows} rows needs nrows + 1 entries; pass one offset per row plus the final nnz"
    )]
    RowPtrLength {
        /// Number of rows given.
        nrows: usize,
        /// Length of `row_ptr` given.
        found: usize,
    },
    /// `row_ptr[0]` must be 0.
    #[error("row_ptr[0] is {found} but must be 0 (the first row starts at entry 0)")]
    RowPtrStart {
        /// The value of `row_ptr[0]`.
        found: usize,
    },
    /// `row_ptr` must be non-decreasing.
    #[error(
        "row_ptr decreases at index {index}: row_ptr[{index}] = {next} < row_ptr[{prev_index}] = {prev}; row pointers must be non-decreasing",
        prev_index = index - 1
    )]
    RowPtrDecreasing {
        /// The first index `i` with `row_ptr[i] < row_ptr[i − 1]`.
        index: usize,
        /// `row_ptr[i − 1]`.
        prev: usize,
        /// `row_ptr[i]`.
        next: usize,
    },
    /// The last row pointer must equal the number of stored entries.
    #[error(
        "the last row pointer row_ptr[{nrows}] = {last} but there are {nnz} stored entries; it must equal the number of entries"
    )]
    RowPtrEnd {
        /// Number of rows (index of the last row pointer).
        nrows: usize,
        /// `row_ptr[nrows]`.
        last: usize,
        /// Number of stored entries.
        nnz: usize,
    },
    /// `col_idx` and `values` must have the same length.
    #[error(
        "col_idx has {col_idx} entries but values has {values}; each stored entry needs one column index and one value"
    )]
    LengthMismatch {
        /// Length of `col_idx`.
        col_idx: usize,
        /// Length of `values`.
        values: usize,
    },
    /// A column index is not below `ncols`.
    #[error(
        "column index {column} at entry position {position} is out of range: the matrix has {ncols} columns (valid indices 0..{ncols})"
    )]
    ColumnOutOfRange {
        /// Position of the entry in `col_idx` / `entries`.
        position: usize,
        /// The column index found there (sign bit removed for [`SignCsr`]).
        column: u64,
        /// Number of columns.
        ncols: usize,
    },
    /// More columns than the column-index field can address.
    #[error(
        "ncols = {ncols} is too large: this format addresses at most {max} columns; split the matrix"
    )]
    TooManyColumns {
        /// Number of columns given.
        ncols: usize,
        /// The largest number of columns this format supports.
        max: u64,
    },
    /// More rows than the transposed form (whose column indices are row indices) can address.
    #[error(
        "nrows = {nrows} is too large: the transposed form addresses at most {max} rows; split the matrix"
    )]
    TooManyRows {
        /// Number of rows given.
        nrows: usize,
        /// The largest number of rows this format supports.
        max: u64,
    },
}

/// Average number of entries per row from which rows are processed one at a
/// time (sixteen consecutive entries per step) instead of in chunks of short rows.
pub const LONG_ROW: usize = 12;

/// Work (stored entries + rows) above which a product runs under rayon.
pub const PAR_MIN_WORK: usize = 1 << 16;

/// Target work (stored entries + rows) of one parallel chunk of rows.
const CHUNK_WORK: usize = 1 << 14;

/// Checks shared by both constructors: row pointer shape, monotonicity and end.
fn check_row_ptr(nrows: usize, row_ptr: &[usize], nnz: usize) -> Result<(), CsrError> {
    if nrows.checked_add(1) != Some(row_ptr.len()) {
        return Err(CsrError::RowPtrLength {
            nrows,
            found: row_ptr.len(),
        });
    }
    if row_ptr[0] != 0 {
        return Err(CsrError::RowPtrStart { found: row_ptr[0] });
    }
    if let Some(i) = row_ptr.windows(2).position(|w| w[0] > w[1]) {
        return Err(CsrError::RowPtrDecreasing {
            index: i + 1,
            prev: row_ptr[i],
            next: row_ptr[i + 1],
        });
    }
    if row_ptr[nrows] != nnz {
        return Err(CsrError::RowPtrEnd {
            nrows,
            last: row_ptr[nrows],
            nnz,
        });
    }
    Ok(())
}

/// A general CSR matrix with f32 values.
///
/// Storage: 8 bytes per row pointer, 4 per column index, 4 per value; plus,
/// once [`Csr::mul_t_vec`] or [`Csr::prepare_adjoint`] has run, its cache
/// (4 bytes per entry for the scatter, the storage again for the copy).
#[derive(Clone, Debug)]
pub struct Csr {
    nrows: usize,
    ncols: usize,
    row_ptr: Vec<usize>,
    col_idx: Vec<u32>,
    values: Vec<f32>,
    adjoint: OnceLock<Adjoint<Csr>>,
}

/// How `mul_t_vec` computes Aᵀ·x (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdjointMethod {
    /// Scatter y[col] += v·x[row] over fixed chunks of entries into per-chunk
    /// partial sums, added in chunk order. Caches the row of every entry
    /// (4 bytes per entry); costs O(nnz + nrows + min(⌈nnz/2¹⁵⌉, 64)·ncols)
    /// per product, and allocates the partial sums each time.
    Scatter,
    /// A·x on a cached explicit transposed copy (the storage again plus the
    /// column pointers); costs O(nnz + ncols) per product, gathers from x.
    TransposedCopy,
}

impl AdjointMethod {
    /// The default for an `nrows × ncols` matrix: [`AdjointMethod::Scatter`]
    /// when it has at most [`SCATTER_MAX_COLS`] columns (the partial sums stay
    /// in cache) and more than [`scatter_min_rows`] rows (x outgrows half of
    /// L2, so the copy's gathers would wait on memory), else the transposed
    /// copy. The choice depends on the machine's L2, so the bits of Aᵀ·x
    /// may differ between machines (never between thread counts). O(1).
    pub fn default_for(nrows: usize, ncols: usize) -> AdjointMethod {
        if ncols <= SCATTER_MAX_COLS && nrows > scatter_min_rows() {
            AdjointMethod::Scatter
        } else {
            AdjointMethod::TransposedCopy
        }
    }
}

/// What `mul_t_vec` caches: the row of every entry, or an explicit transposed copy.
#[derive(Clone, Debug)]
enum Adjoint<T> {
    Rows(Vec<u32>),
    Copy(Box<T>),
}

impl<T> Adjoint<T> {
    fn build(method: AdjointMethod, row_ptr: &[usize], transpose: impl FnOnce() -> T) -> Self {
        match method {
            AdjointMethod::Scatter => Adjoint::Rows(entry_rows(row_ptr)),
            AdjointMethod::TransposedCopy => Adjoint::Copy(Box::new(transpose())),
        }
    }

    /// The cache in `cell`, built now by the default method for the matrix
    /// with these row pointers and `ncols` columns if it is still empty.
    fn cached<'a>(
        cell: &'a OnceLock<Self>,
        row_ptr: &[usize],
        ncols: usize,
        transpose: impl FnOnce() -> T,
    ) -> &'a Self {
        cell.get_or_init(|| {
            let m = AdjointMethod::default_for(row_ptr.len() - 1, ncols);
            Self::build(m, row_ptr, transpose)
        })
    }

    fn bytes(&self, copy_bytes: impl FnOnce(&T) -> usize) -> usize {
        match self {
            Adjoint::Rows(r) => 4 * r.len(),
            Adjoint::Copy(t) => copy_bytes(t),
        }
    }
}

impl Csr {
    /// Validate and build: `row_ptr` has `nrows + 1` non-decreasing entries
    /// starting at 0 and ending at `col_idx.len() == values.len()`, every
    /// column index is below `ncols`, `ncols ≤ 2³²` and `nrows ≤ 2³²` (the
    /// transposed copy stores row indices as u32). Duplicate entries are
    /// allowed (they add up). O(nnz + nrows).
    ///
    /// # Errors
    /// The first problem found, as the matching [`CsrError`] variant.
    pub fn new(
        nrows: usize,
        ncols: usize,
        row_ptr: Vec<usize>,
        col_idx: Vec<u32>,
        values: Vec<f32>,
    ) -> Result<Csr, CsrError> {
        const MAX: u64 = 1 << 32;
        if ncols as u64 > MAX {
            return Err(CsrError::TooManyColumns { ncols, max: MAX });
        }
        if nrows as u64 > MAX {
            return Err(CsrError::TooManyRows { nrows, max: MAX });
        }
        if col_idx.len() != values.len() {
            return Err(CsrError::LengthMismatch {
                col_idx: col_idx.len(),
                values: values.len(),
            });
        }
        check_row_ptr(nrows, &row_ptr, col_idx.len())?;
        if let Some(k) = col_idx.iter().position(|&c| c as usize >= ncols) {
            return Err(CsrError::ColumnOutOfRange {
                position: k,
                column: col_idx[k] as u64,
                ncols,
            });
        }
        Ok(Csr {
            nrows,
            ncols,
            row_ptr,
            col_idx,
            values,
            adjoint: OnceLock::new(),
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

    /// The row pointers (`nrows + 1` offsets into the entries). O(1).
    pub fn row_ptr(&self) -> &[usize] {
        &self.row_ptr
    }

    /// The column index of every stored entry, row by row. O(1).
    pub fn col_idx(&self) -> &[u32] {
        &self.col_idx
    }

    /// The value of every stored entry, row by row. O(1).
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// Bytes held by the row pointers, column indices and values, plus what
    /// [`Csr::mul_t_vec`] has cached. O(1).
    pub fn bytes(&self) -> usize {
        let own = self.row_ptr.len() * std::mem::size_of::<usize>() + self.values.len() * 8;
        own + self.adjoint.get().map_or(0, |a| a.bytes(Csr::bytes))
    }

    fn entries(&self) -> CsrEntries<'_> {
        CsrEntries {
            col: &self.col_idx,
            val: &self.values,
        }
    }

    /// y ← A·x, i.e. y_r = Σ_k A_{r,k}·x_k. O(nnz + nrows).
    ///
    /// # Panics
    /// If `x.len() != ncols` or `y.len() != nrows`.
    pub fn mul_vec(&self, x: &[f32], y: &mut [f32]) {
        assert_eq!(x.len(), self.ncols, "Csr::mul_vec: x.len() != ncols");
        assert_eq!(y.len(), self.nrows, "Csr::mul_vec: y.len() != nrows");
        product::<_, false>(&self.row_ptr, self.entries(), self.ncols, x, y);
    }

    /// y ← y + A·x. O(nnz + nrows).
    ///
    /// # Panics
    /// If `x.len() != ncols` or `y.len() != nrows`.
    pub fn mul_vec_add(&self, x: &[f32], y: &mut [f32]) {
        assert_eq!(x.len(), self.ncols, "Csr::mul_vec_add: x.len() != ncols");
        assert_eq!(y.len(), self.nrows, "Csr::mul_vec_add: y.len() != nrows");
        product::<_, true>(&self.row_ptr, self.entries(), self.ncols, x, y);
    }

    /// The transposed matrix Aᵀ as a new `ncols × nrows` CSR (entries of each
    /// row in increasing column order). O(nnz + nrows + ncols).
    pub fn transpose(&self) -> Csr {
        let mut row_ptr = vec![0usize; self.ncols + 1];
        for &c in &self.col_idx {
            row_ptr[c as usize + 1] += 1;
        }
        for c in 0..self.ncols {
            row_ptr[c + 1] += row_ptr[c];
        }
        let mut next = row_ptr[..self.ncols].to_vec();
        let mut col_idx = vec![0u32; self.nnz()];
        let mut values = vec![0f32; self.nnz()];
        for r in 0..self.nrows {
            for k in self.row_ptr[r]..self.row_ptr[r + 1] {
                let c = self.col_idx[k] as usize;
                col_idx[next[c]] = r as u32;
                values[next[c]] = self.values[k];
                next[c] += 1;
            }
        }
        Csr {
            nrows: self.ncols,
            ncols: self.nrows,
            row_ptr,
            col_idx,
            values,
            adjoint: OnceLock::new(),
        }
    }

    fn adjoint(&self) -> &Adjoint<Csr> {
        Adjoint::cached(&self.adjoint, &self.row_ptr, self.ncols, || {
            self.transpose()
        })
    }

    /// Choose how [`Csr::mul_t_vec`] works (instead of
    /// [`AdjointMethod::default_for`]) and build its cache now. O(nnz + nrows + ncols).
    pub fn with_adjoint(mut self, method: AdjointMethod) -> Csr {
        let a = Adjoint::build(method, &self.row_ptr, || self.transpose());
        self.adjoint = OnceLock::from(a);
        self
    }

    /// Build what [`Csr::mul_t_vec`] caches now (the row of every entry, or
    /// the transposed copy), so that its first call does not allocate it.
    /// O(nnz + nrows + ncols).
    pub fn prepare_adjoint(&self) {
        let _ = self.adjoint();
    }

    /// y ← Aᵀ·x, i.e. y_c = Σ_r A_{r,c}·x_r, by the [`AdjointMethod`] chosen
    /// for this matrix. O(nnz + nrows + ncols), plus, for the scatter form,
    /// min(⌈nnz/2¹⁵⌉, 64)·ncols floats of partial sums allocated, filled and
    /// added per call; the first call also builds the cache.
    ///
    /// # Panics
    /// If `x.len() != nrows` or `y.len() != ncols`.
    pub fn mul_t_vec(&self, x: &[f32], y: &mut [f32]) {
        assert_eq!(x.len(), self.nrows, "Csr::mul_t_vec: x.len() != nrows");
        assert_eq!(y.len(), self.ncols, "Csr::mul_t_vec: y.len() != ncols");
        match self.adjoint() {
            Adjoint::Rows(rows) => scatter_t(rows, self.entries(), x, y),
            Adjoint::Copy(t) => t.mul_vec(x, y),
        }
    }

    /// Plain scalar reference for y ← y + A·x (entries of a row summed in
    /// storage order). O(nnz + nrows).
    ///
    /// # Panics
    /// If `x.len() != ncols` or `y.len() != nrows`.
    pub fn mul_vec_add_reference(&self, x: &[f32], y: &mut [f32]) {
        assert_eq!(x.len(), self.ncols);
        assert_eq!(y.len(), self.nrows);
        for (r, yr) in y.iter_mut().enumerate() {
            for k in self.row_ptr[r]..self.row_ptr[r + 1] {
                *yr += self.values[k] * x[self.col_idx[k] as usize];
            }
        }
    }

    /// Plain scalar reference for y ← A·x. O(nnz + nrows).
    ///
    /// # Panics
    /// If `x.len() != ncols` or `y.len() != nrows`.
    pub fn mul_vec_reference(&self, x: &[f32], y: &mut [f32]) {
        y.fill(0.0);
        self.mul_vec_add_reference(x, y);
    }

    /// Plain scalar reference for y ← Aᵀ·x: a scatter over the rows of A, no
    /// cache, no chunks. O(nnz + nrows + ncols).
    ///
    /// # Panics
    /// If `x.len() != nrows` or `y.len() != ncols`.
    pub fn mul_t_vec_reference(&self, x: &[f32], y: &mut [f32]) {
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
    adjoint: OnceLock<Adjoint<SignCsr>>,
}

/// The sign bit of a [`SignCsr`] entry.
pub const SIGN_BIT: u32 = 1 << 31;

impl SignCsr {
    /// Validate and build from row pointers and packed entries (entry =
    /// column | [`SIGN_BIT`] if the value is −1): `ncols ≤ 2³¹`, `nrows ≤ 2³¹`
    /// (so that [`SignCsr::transpose`] can pack row indices), `row_ptr` has
    /// `nrows + 1` non-decreasing entries from 0 to `entries.len()`, every
    /// column below `ncols`. O(nnz + nrows).
    ///
    /// # Errors
    /// The first problem found, as the matching [`CsrError`] variant.
    pub fn new(
        nrows: usize,
        ncols: usize,
        row_ptr: Vec<usize>,
        entries: Vec<u32>,
    ) -> Result<SignCsr, CsrError> {
        const MAX: u64 = SIGN_BIT as u64;
        if ncols as u64 > MAX {
            return Err(CsrError::TooManyColumns { ncols, max: MAX });
        }
        if nrows as u64 > MAX {
            return Err(CsrError::TooManyRows { nrows, max: MAX });
        }
        check_row_ptr(nrows, &row_ptr, entries.len())?;
        if let Some(k) = entries
            .iter()
            .position(|&e| (e & !SIGN_BIT) as usize >= ncols)
        {
            return Err(CsrError::ColumnOutOfRange {
                position: k,
                column: (entries[k] & !SIGN_BIT) as u64,
                ncols,
            });
        }
        Ok(SignCsr {
            nrows,
            ncols,
            row_ptr,
            entries,
            adjoint: OnceLock::new(),
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

    /// The row pointers (`nrows + 1` offsets into the entries). O(1).
    pub fn row_ptr(&self) -> &[usize] {
        &self.row_ptr
    }

    /// The packed entries, row by row. O(1).
    pub fn entries(&self) -> &[u32] {
        &self.entries
    }

    /// Bytes held by the row pointers and entries, plus what
    /// [`SignCsr::mul_t_vec`] has cached. O(1).
    pub fn bytes(&self) -> usize {
        let own = self.row_ptr.len() * std::mem::size_of::<usize>() + self.entries.len() * 4;
        own + self.adjoint.get().map_or(0, |a| a.bytes(SignCsr::bytes))
    }

    fn adjoint(&self) -> &Adjoint<SignCsr> {
        Adjoint::cached(&self.adjoint, &self.row_ptr, self.ncols, || {
            self.transpose()
        })
    }

    /// Choose how [`SignCsr::mul_t_vec`] works (instead of
    /// [`AdjointMethod::default_for`]) and build its cache now. O(nnz + nrows + ncols).
    pub fn with_adjoint(mut self, method: AdjointMethod) -> SignCsr {
        let a = Adjoint::build(method, &self.row_ptr, || self.transpose());
        self.adjoint = OnceLock::from(a);
        self
    }

    /// Build what [`SignCsr::mul_t_vec`] caches now. O(nnz + nrows + ncols).
    pub fn prepare_adjoint(&self) {
        let _ = self.adjoint();
    }

    /// y ← Aᵀ·x, i.e. y_c = Σ_r ±x_r over the entries of column c, by the
    /// [`AdjointMethod`] chosen for this matrix. Cost as [`Csr::mul_t_vec`].
    ///
    /// # Panics
    /// If `x.len() != nrows` or `y.len() != ncols`.
    pub fn mul_t_vec(&self, x: &[f32], y: &mut [f32]) {
        assert_eq!(x.len(), self.nrows, "SignCsr::mul_t_vec: x.len() != nrows");
        assert_eq!(y.len(), self.ncols, "SignCsr::mul_t_vec: y.len() != ncols");
        match self.adjoint() {
            Adjoint::Rows(rows) => scatter_t(rows, SignEntries(&self.entries), x, y),
            Adjoint::Copy(t) => t.mul_vec(x, y),
        }
    }

    /// y ← y + A·x, i.e. y_r += Σ_k ±x_k over the row's entries. O(nnz + nrows).
    ///
    /// # Panics
    /// If `x.len() != ncols` or `y.len() != nrows`.
    pub fn mul_vec_add(&self, x: &[f32], y: &mut [f32]) {
        assert_eq!(
            x.len(),
            self.ncols,
            "SignCsr::mul_vec_add: x.len() != ncols"
        );
        assert_eq!(
            y.len(),
            self.nrows,
            "SignCsr::mul_vec_add: y.len() != nrows"
        );
        product::<_, true>(&self.row_ptr, SignEntries(&self.entries), self.ncols, x, y);
    }

    /// y ← A·x. O(nnz + nrows).
    ///
    /// # Panics
    /// If `x.len() != ncols` or `y.len() != nrows`.
    pub fn mul_vec(&self, x: &[f32], y: &mut [f32]) {
        assert_eq!(x.len(), self.ncols, "SignCsr::mul_vec: x.len() != ncols");
        assert_eq!(y.len(), self.nrows, "SignCsr::mul_vec: y.len() != nrows");
        product::<_, false>(&self.row_ptr, SignEntries(&self.entries), self.ncols, x, y);
    }

    /// Plain scalar reference for y ← y + A·x (storage order). O(nnz + nrows).
    ///
    /// # Panics
    /// If `x.len() != ncols` or `y.len() != nrows`.
    pub fn mul_vec_add_reference(&self, x: &[f32], y: &mut [f32]) {
        assert_eq!(x.len(), self.ncols);
        assert_eq!(y.len(), self.nrows);
        for (r, yr) in y.iter_mut().enumerate() {
            for &e in &self.entries[self.row_ptr[r]..self.row_ptr[r + 1]] {
                let v = x[(e & !SIGN_BIT) as usize];
                *yr += if e & SIGN_BIT != 0 { -v } else { v };
            }
        }
    }

    /// Plain scalar reference for y ← A·x. O(nnz + nrows).
    ///
    /// # Panics
    /// If `x.len() != ncols` or `y.len() != nrows`.
    pub fn mul_vec_reference(&self, x: &[f32], y: &mut [f32]) {
        y.fill(0.0);
        self.mul_vec_add_reference(x, y);
    }

    /// The matrix as a dense row-major `nrows × ncols` array of −1, 0, +1
    /// (duplicates add up; tests, small sizes). O(nrows·ncols).
    pub fn to_dense(&self) -> Vec<f32> {
        let mut d = vec![0.0; self.nrows * self.ncols];
        for r in 0..self.nrows {
            for &e in &self.entries[self.row_ptr[r]..self.row_ptr[r + 1]] {
                let v = if e & SIGN_BIT != 0 { -1.0 } else { 1.0 };
                d[r * self.ncols + (e & !SIGN_BIT) as usize] += v;
            }
        }
        d
    }

    /// The transposed pattern (an explicit copy, same signs, entries of each
    /// row in increasing column order). O(nnz + nrows + ncols) time,
    /// [`SignCsr::bytes`]-like memory.
    pub fn transpose(&self) -> SignCsr {
        let mut counts = vec![0usize; self.ncols + 1];
        for &e in &self.entries {
            counts[(e & !SIGN_BIT) as usize + 1] += 1;
        }
        for c in 0..self.ncols {
            counts[c + 1] += counts[c];
        }
        let mut next = counts[..self.ncols].to_vec();
        let row_ptr = counts;
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
            adjoint: OnceLock::new(),
        }
    }
}

// ---------------------------------------------------------------------------
// The product engine, shared by both storage forms.

/// How to read the stored entries of one storage form. Every method is
/// `unsafe`: the caller guarantees that the entry positions are in bounds and
/// (by the constructors' validation) that column indices are below `x.len()`.
trait Entries: Copy + Send + Sync {
    /// The term A_{r,k}·x_{col(k)} of entry `k`.
    unsafe fn term(self, k: usize, x: *const f32) -> f32;

    /// The column of entry `k` and its value times `v`.
    unsafe fn col_times(self, k: usize, v: f32) -> (usize, f32);

    /// The column of entry `k`, read with a volatile load: LLVM merges
    /// eight plain reads of consecutive entries into one vector load and
    /// extracts the indices again, which ran slower on the Zen 3.
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    unsafe fn col(self, k: usize) -> usize;

    /// Lane i: the value of entry `k0 + i` times `v_i` (for [`SignCsr`], `v_i`
    /// with the entry's sign), for the eight entries `k0..k0 + 8`.
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    unsafe fn times8(self, k0: usize, v: std::arch::x86_64::__m256) -> std::arch::x86_64::__m256;

    /// The terms of the eight consecutive entries `k..k + 8`. The eight
    /// elements of x are fetched with scalar loads and inserts: on the Zen 3
    /// a `vgatherdps` of eight cost more (A·x on the 199,210 × 750 matrix
    /// ran 1.04–1.1 × faster this way).
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    #[inline(always)]
    unsafe fn term8(self, k: usize, x: *const f32) -> std::arch::x86_64::__m256 {
        unsafe {
            self.times8(
                k,
                simd_avx2::load8(x, std::array::from_fn(|i| self.col(k + i))),
            )
        }
    }

    /// The terms of the sixteen consecutive entries `k..k + 16`.
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    unsafe fn term16(self, k: usize, x: *const f32) -> simd::__m512;

    /// The terms of the entries `k + i` for the lanes `i` set in `mask` (0 elsewhere).
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    unsafe fn term16_masked(self, k: usize, mask: u16, x: *const f32) -> simd::__m512;
}

#[derive(Clone, Copy)]
struct CsrEntries<'a> {
    col: &'a [u32],
    val: &'a [f32],
}

#[derive(Clone, Copy)]
struct SignEntries<'a>(&'a [u32]);

impl Entries for CsrEntries<'_> {
    #[inline(always)]
    unsafe fn term(self, k: usize, x: *const f32) -> f32 {
        unsafe { *self.val.get_unchecked(k) * *x.add(*self.col.get_unchecked(k) as usize) }
    }

    #[inline(always)]
    unsafe fn col_times(self, k: usize, v: f32) -> (usize, f32) {
        unsafe {
            (
                *self.col.get_unchecked(k) as usize,
                *self.val.get_unchecked(k) * v,
            )
        }
    }

    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    #[inline(always)]
    unsafe fn col(self, k: usize) -> usize {
        unsafe { std::ptr::read_volatile(self.col.as_ptr().add(k)) as usize }
    }

    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    #[inline(always)]
    unsafe fn times8(self, k0: usize, v: std::arch::x86_64::__m256) -> std::arch::x86_64::__m256 {
        use std::arch::x86_64::*;
        unsafe { _mm256_mul_ps(_mm256_loadu_ps(self.val.as_ptr().add(k0)), v) }
    }

    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    #[inline(always)]
    unsafe fn term16(self, k: usize, x: *const f32) -> simd::__m512 {
        use simd::*;
        unsafe {
            let c = _mm512_loadu_si512(self.col.as_ptr().add(k).cast());
            let v = _mm512_loadu_ps(self.val.as_ptr().add(k));
            _mm512_mul_ps(v, _mm512_i32gather_ps::<4>(c, x))
        }
    }

    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    #[inline(always)]
    unsafe fn term16_masked(self, k: usize, mask: u16, x: *const f32) -> simd::__m512 {
        use simd::*;
        unsafe {
            let c = _mm512_maskz_loadu_epi32(mask, self.col.as_ptr().add(k).cast());
            let v = _mm512_maskz_loadu_ps(mask, self.val.as_ptr().add(k));
            let g = _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), mask, c, x);
            _mm512_mul_ps(v, g)
        }
    }
}

impl Entries for SignEntries<'_> {
    #[inline(always)]
    unsafe fn term(self, k: usize, x: *const f32) -> f32 {
        unsafe {
            let e = *self.0.get_unchecked(k);
            let v = *x.add((e & !SIGN_BIT) as usize);
            f32::from_bits(v.to_bits() ^ (e & SIGN_BIT))
        }
    }

    #[inline(always)]
    unsafe fn col_times(self, k: usize, v: f32) -> (usize, f32) {
        let e = unsafe { *self.0.get_unchecked(k) };
        (
            (e & !SIGN_BIT) as usize,
            f32::from_bits(v.to_bits() ^ (e & SIGN_BIT)),
        )
    }

    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    #[inline(always)]
    unsafe fn col(self, k: usize) -> usize {
        unsafe { (std::ptr::read_volatile(self.0.as_ptr().add(k)) & !SIGN_BIT) as usize }
    }

    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    #[inline(always)]
    unsafe fn times8(self, k0: usize, v: std::arch::x86_64::__m256) -> std::arch::x86_64::__m256 {
        use std::arch::x86_64::*;
        unsafe {
            let e = _mm256_loadu_si256(self.0.as_ptr().add(k0).cast());
            let sign = _mm256_and_si256(e, _mm256_set1_epi32(i32::MIN));
            _mm256_castsi256_ps(_mm256_xor_si256(_mm256_castps_si256(v), sign))
        }
    }

    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    #[inline(always)]
    unsafe fn term16(self, k: usize, x: *const f32) -> simd::__m512 {
        use simd::*;
        unsafe {
            let e = _mm512_loadu_si512(self.0.as_ptr().add(k).cast());
            sign_apply(e, x, 0xffff)
        }
    }

    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    #[inline(always)]
    unsafe fn term16_masked(self, k: usize, mask: u16, x: *const f32) -> simd::__m512 {
        use simd::*;
        unsafe {
            let e = _mm512_maskz_loadu_epi32(mask, self.0.as_ptr().add(k).cast());
            sign_apply(e, x, mask)
        }
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
mod simd {
    pub use std::arch::x86_64::*;

    /// ±x[col] for packed sign entries `e` on the lanes of `mask` (0 elsewhere).
    #[inline(always)]
    pub unsafe fn sign_apply(e: __m512i, x: *const f32, mask: u16) -> __m512 {
        unsafe {
            let col = _mm512_and_si512(e, _mm512_set1_epi32(0x7fff_ffff));
            let sign = _mm512_and_si512(e, _mm512_set1_epi32(i32::MIN));
            let g = _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), mask, col, x);
            _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(g), sign))
        }
    }
}

/// y ← A·x (ADD = false) or y ← y + A·x (ADD = true) for a validated matrix
/// given by its row pointers and entries; `x.len() == ncols`,
/// `y.len() == row_ptr.len() − 1` (checked by the callers).
fn product<E: Entries, const ADD: bool>(
    row_ptr: &[usize],
    ent: E,
    ncols: usize,
    x: &[f32],
    y: &mut [f32],
) {
    let nrows = y.len();
    if nrows == 0 {
        return;
    }
    let nnz = row_ptr[nrows];
    let long = nnz >= LONG_ROW * nrows;
    // 32-bit gather offsets address x only below 2^31 columns.
    let simd = ncols <= i32::MAX as usize;
    let run = |r0: usize, yc: &mut [f32]| {
        // SAFETY: the matrix was validated (row pointers monotone from 0 to
        // nnz, columns below ncols == x.len()), and r0 + yc.len() <= nrows.
        unsafe { rows::<E, ADD>(row_ptr, ent, x, r0, yc, long, simd) }
    };
    if nnz + nrows < PAR_MIN_WORK {
        run(0, y);
        return;
    }
    // Fixed chunks: the size depends only on the matrix, never on the thread count.
    let per_row = (nnz + nrows).div_ceil(nrows);
    let chunk = (CHUNK_WORK / per_row).max(1).next_multiple_of(16);
    y.par_chunks_mut(chunk)
        .enumerate()
        .for_each(|(i, yc)| run(i * chunk, yc));
}

/// The rows `r0 .. r0 + y.len()` of the product.
///
/// # Safety
/// `row_ptr` monotone with `row_ptr[nrows]` = number of entries of `ent`,
/// `r0 + y.len() + 1 <= row_ptr.len()`, every column index `< x.len()`.
#[inline(always)]
unsafe fn rows<E: Entries, const ADD: bool>(
    row_ptr: &[usize],
    ent: E,
    x: &[f32],
    r0: usize,
    y: &mut [f32],
    long: bool,
    simd: bool,
) {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    if simd {
        unsafe {
            if !long {
                rows_short_avx2::<E, ADD>(row_ptr, ent, x, r0, y);
            } else {
                #[cfg(target_feature = "avx512f")]
                rows_long_avx512::<E, ADD>(row_ptr, ent, x, r0, y);
                #[cfg(not(target_feature = "avx512f"))]
                rows_long_avx2::<E, ADD>(row_ptr, ent, x, r0, y);
            }
        }
        return;
    }
    let _ = simd;
    unsafe {
        if long {
            rows_scalar::<E, ADD>(row_ptr, ent, x, r0, y)
        } else {
            rows_short_scalar::<E, ADD>(row_ptr, ent, x, r0, y)
        }
    }
}

/// Entries of every short row that [`rows_short_scalar`] reads
/// unconditionally: at density 1/√D a row of the 199,210 × 750 matrix has
/// more with probability 3 %, of the 10⁶ × 10³ one 0.4 %.
const SCALAR_SHORT_STEPS: usize = 4; // the lanes of one f32x4

/// Short rows in scalar code (without AVX2, with more than 2³¹ columns, or
/// for what the AVX2 kernel leaves): the first [`SCALAR_SHORT_STEPS`] terms
/// of every row are computed unconditionally (from clamped entry positions)
/// and replaced by +0 past the row's end, so that no branch depends on the
/// random row lengths; longer rows finish in a loop. Each row's terms are summed in
/// storage order from 0, exactly like [`rows_scalar`] (adding +0 to a sum
/// that starts at +0 never changes it). [`rows_scalar`] mispredicts a
/// branch on nearly every row of a very sparse matrix; this ran 2–2.5 ×
/// faster on the Zen 3 (README, CSR products on AVX2).
///
/// # Safety
/// As [`rows`].
#[inline(always)]
unsafe fn rows_short_scalar<E: Entries, const ADD: bool>(
    row_ptr: &[usize],
    ent: E,
    x: &[f32],
    r0: usize,
    y: &mut [f32],
) {
    let xp = x.as_ptr();
    unsafe {
        let total = *row_ptr.get_unchecked(row_ptr.len() - 1);
        if total == 0 {
            return rows_scalar::<E, ADD>(row_ptr, ent, x, r0, y);
        }
        let last = total - 1;
        let mut s = *row_ptr.get_unchecked(r0);
        for (i, yr) in y.iter_mut().enumerate() {
            let e = *row_ptr.get_unchecked(r0 + i + 1);
            // The terms as one vector, masked with a vector compare: a
            // scalar select (or `&` with a mask) LLVM turns back into a
            // branch around the loads.
            let t = wide::f32x4::new(std::array::from_fn(|j| ent.term((s + j).min(last), xp)));
            let lane = wide::f32x4::new([0.0, 1.0, 2.0, 3.0]);
            let t = (t & lane.simd_lt(wide::f32x4::splat((e - s) as f32))).to_array();
            let mut acc = 0.0f32;
            for tj in t {
                acc += tj;
            }
            for k in s + SCALAR_SHORT_STEPS..e {
                acc += ent.term(k, xp);
            }
            s = e;
            if ADD {
                *yr += acc;
            } else {
                *yr = acc;
            }
        }
    }
}

/// Scalar rows: each row's terms summed in storage order, from 0.
///
/// # Safety
/// As [`rows`].
#[inline(always)]
unsafe fn rows_scalar<E: Entries, const ADD: bool>(
    row_ptr: &[usize],
    ent: E,
    x: &[f32],
    r0: usize,
    y: &mut [f32],
) {
    let xp = x.as_ptr();
    unsafe {
        let mut s = *row_ptr.get_unchecked(r0);
        for (i, yr) in y.iter_mut().enumerate() {
            let e = *row_ptr.get_unchecked(r0 + i + 1);
            let mut acc = 0.0f32;
            for k in s..e {
                acc += ent.term(k, xp);
            }
            s = e;
            if ADD {
                *yr += acc;
            } else {
                *yr = acc;
            }
        }
    }
}

/// Long rows, one at a time: sixteen consecutive entries per step into two
/// alternating accumulators, a masked tail, then a horizontal sum.
///
/// # Safety
/// As [`rows`]; `x.len() <= 2^31`.
#[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
#[inline(always)]
unsafe fn rows_long_avx512<E: Entries, const ADD: bool>(
    row_ptr: &[usize],
    ent: E,
    x: &[f32],
    r0: usize,
    y: &mut [f32],
) {
    use simd::*;
    let xp = x.as_ptr();
    unsafe {
        for (i, yr) in y.iter_mut().enumerate() {
            let mut k = *row_ptr.get_unchecked(r0 + i);
            let e = *row_ptr.get_unchecked(r0 + i + 1);
            let mut a0 = _mm512_setzero_ps();
            let mut a1 = _mm512_setzero_ps();
            while k + 32 <= e {
                a0 = _mm512_add_ps(a0, ent.term16(k, xp));
                a1 = _mm512_add_ps(a1, ent.term16(k + 16, xp));
                k += 32;
            }
            if k + 16 <= e {
                a0 = _mm512_add_ps(a0, ent.term16(k, xp));
                k += 16;
            }
            if k < e {
                let mask = ((1u32 << (e - k)) - 1) as u16;
                a1 = _mm512_add_ps(a1, ent.term16_masked(k, mask, xp));
            }
            let acc = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
            if ADD {
                *yr += acc;
            } else {
                *yr = acc;
            }
        }
    }
}

/// Long rows with AVX2, one at a time: sixteen consecutive entries per step
/// into two alternating accumulators of eight lanes (`Entries::term8`), then
/// eight, then the last 0–7 terms in scalar code; the lanes are added in a
/// fixed order, then the scalar part. The transposed very sparse projection
/// (≈ √D entries per row) and the transposed-copy form of Aᵀ·x run here.
/// Against [`rows_scalar`], which they ran before: 1.09 × on the transposed
/// copy of 199,210 × 750 (medians of three interleaved runs, 10.9 against
/// 10.0 GiB/s); the same within noise on 10⁶ × 10³, whose gathers from a
/// 4 MB x wait on memory either way.
///
/// # Safety
/// As [`rows`].
#[cfg(all(
    target_arch = "x86_64",
    target_feature = "avx2",
    not(target_feature = "avx512f")
))]
#[inline(always)]
unsafe fn rows_long_avx2<E: Entries, const ADD: bool>(
    row_ptr: &[usize],
    ent: E,
    x: &[f32],
    r0: usize,
    y: &mut [f32],
) {
    use std::arch::x86_64::*;
    let xp = x.as_ptr();
    unsafe {
        for (i, yr) in y.iter_mut().enumerate() {
            let mut k = *row_ptr.get_unchecked(r0 + i);
            let e = *row_ptr.get_unchecked(r0 + i + 1);
            let mut a0 = _mm256_setzero_ps();
            let mut a1 = _mm256_setzero_ps();
            while k + 16 <= e {
                a0 = _mm256_add_ps(a0, ent.term8(k, xp));
                a1 = _mm256_add_ps(a1, ent.term8(k + 8, xp));
                k += 16;
            }
            if k + 8 <= e {
                a0 = _mm256_add_ps(a0, ent.term8(k, xp));
                k += 8;
            }
            let mut tail = 0.0f32;
            for k in k..e {
                tail += ent.term(k, xp);
            }
            let a = _mm256_add_ps(a0, a1);
            let a = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps::<1>(a));
            let a = _mm_add_ps(a, _mm_movehl_ps(a, a));
            let a = _mm_add_ss(a, _mm_movehdup_ps(a));
            let acc = _mm_cvtss_f32(a) + tail;
            if ADD {
                *yr += acc;
            } else {
                *yr = acc;
            }
        }
    }
}

/// Entries whose terms one chunk of [`rows_short_avx2`] computes into its
/// buffer (4 KiB, in L1 beside x); a chunk with more runs
/// [`rows_short_scalar`].
#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
const TERMS_CAP: usize = 1024;

/// Most rows in one chunk of [`rows_short_avx2`]. Chunks hold about
/// `TERMS_CAP / 2` entries (so that a random matrix rarely overflows the
/// buffer), at most this many rows. 64 and 128 rows ran 3–7 % slower on the
/// Zen 3; 1024 the same.
#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
const CHUNK_ROWS: usize = 512;

/// Short rows with AVX2, in chunks of rows whose entries fit a buffer of
/// [`TERMS_CAP`] terms, in two passes:
///
/// 1. the terms A_{r,k}·x_{col(k)} of all the chunk's entries, eight at a
///    time, into the buffer (in L1);
/// 2. eight rows at a time, one per lane: the first four terms of each row
///    with one unaligned 4-wide load per row and an 8 × 4 transpose (four
///    steps of eight lanes), each step masked by the row lengths. Blocks
///    with a row of more than four entries are noted (no branch) and, after
///    the pass, add their terms 5–8 the same way; terms past the eighth are
///    added in scalar code.
///
/// Each row's terms are summed in storage order from +0, exactly like
/// [`rows_scalar`] and the references, so the result has their bits. This
/// replaced a kernel that kept the terms of eight rows in registers and
/// routed them to the lanes with `vpermps`: its gathers and its six permute
/// steps per block (of which most rows use one or two) made A·x 2.0 × slower
/// on the 199,210 × 750 matrix and 1.5 × on the 10⁶ × 10³ one, and branching
/// on each block with a long row mispredicted on a fifth of them.
///
/// # Safety
/// As [`rows`].
#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
#[inline(always)]
unsafe fn rows_short_avx2<E: Entries, const ADD: bool>(
    row_ptr: &[usize],
    ent: E,
    x: &[f32],
    r0: usize,
    y: &mut [f32],
) {
    use simd_avx2::*;
    use std::arch::x86_64::*;
    let xp = x.as_ptr();
    let n = y.len();
    let total = row_ptr[row_ptr.len() - 1];
    let chunk_rows =
        (TERMS_CAP / 2 * (row_ptr.len() - 1) / total.max(1)).clamp(8, CHUNK_ROWS) / 8 * 8;
    // Room for the 4-wide loads of a row's last terms to run past the chunk.
    let mut buf = [0.0f32; TERMS_CAP + 8];
    let mut sums = [0.0f32; CHUNK_ROWS];
    let mut long = [0u32; CHUNK_ROWS / 8];
    let mut i = 0;
    unsafe {
        while i < n {
            let rows = (n - i).min(chunk_rows);
            let rp0 = row_ptr.as_ptr().add(r0 + i);
            let (lo, hi) = (*rp0, *rp0.add(rows));
            if hi - lo > TERMS_CAP || rows < 8 {
                rows_short_scalar::<E, ADD>(row_ptr, ent, x, r0 + i, &mut y[i..i + rows]);
                i += rows;
                continue;
            }
            // Pass 1: the terms. Whole groups of eight read up to seven
            // entries of the next rows, except at the end of the matrix.
            let bp = buf.as_mut_ptr();
            if lo + (hi - lo).next_multiple_of(8) <= total {
                for k in (lo..hi).step_by(8) {
                    _mm256_storeu_ps(bp.add(k - lo), ent.term8(k, xp));
                }
            } else {
                for k in lo..hi {
                    *bp.add(k - lo) = ent.term(k, xp);
                }
            }
            // Pass 2: the first four terms of every row, eight rows at a time
            // (into y itself, or into `sums` when adding to y).
            let tb = bp.cast_const().wrapping_sub(lo); // tb[k]: the term of entry k
            let full = rows / 8 * 8;
            let out = if ADD {
                sums.as_mut_ptr()
            } else {
                y.as_mut_ptr().add(i)
            };
            let mut nlong = 0;
            for b in (0..full).step_by(8) {
                let rp = rp0.add(b);
                let len = lengths8(rp);
                let acc = add_steps(_mm256_setzero_ps(), transpose4(tb, rp, 0), len, 0);
                _mm256_storeu_ps(out.add(b), acc);
                *long.get_unchecked_mut(nlong) = b as u32;
                nlong += any_longer(len, 4) as usize;
            }
            // Rows with more than four terms.
            for &b in &long[..nlong] {
                let rp = rp0.add(b as usize);
                let o = out.add(b as usize);
                let len = lengths8(rp);
                let acc = add_steps(_mm256_loadu_ps(o), transpose4(tb, rp, 4), len, 4);
                _mm256_storeu_ps(o, acc);
                if any_longer(len, 8) {
                    for l in 0..8 {
                        for k in *rp.add(l) + 8..*rp.add(l + 1) {
                            *o.add(l) += *tb.wrapping_add(k);
                        }
                    }
                }
            }
            if ADD {
                for (yr, s) in y[i..i + full].iter_mut().zip(&sums[..full]) {
                    *yr += s;
                }
            }
            if full < rows {
                let tail = &mut y[i + full..i + rows];
                rows_short_scalar::<E, ADD>(row_ptr, ent, x, r0 + i + full, tail);
            }
            i += rows;
        }
    }
}

/// AVX2 pieces of [`rows_short_avx2`] and of `Entries::term8`.
#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
mod simd_avx2 {
    use std::arch::x86_64::*;

    /// `[x[c[0]], …, x[c[7]]]` by scalar loads and inserts.
    ///
    /// # Safety
    /// Every `c[i]` indexes `x`.
    #[inline(always)]
    pub unsafe fn load8(x: *const f32, c: [usize; 8]) -> __m256 {
        unsafe {
            let q = |i: usize| {
                let a = _mm_load_ss(x.add(c[i]));
                let a = _mm_insert_ps::<0x10>(a, _mm_load_ss(x.add(c[i + 1])));
                let a = _mm_insert_ps::<0x20>(a, _mm_load_ss(x.add(c[i + 2])));
                _mm_insert_ps::<0x30>(a, _mm_load_ss(x.add(c[i + 3])))
            };
            _mm256_set_m128(q(4), q(0))
        }
    }

    /// The row lengths `rp[l + 1] − rp[l]`, l = 0..8, as i32 (the low
    /// halves of the differences: exact, since a chunk of
    /// [`super::rows_short_avx2`] holds at most `TERMS_CAP` entries).
    ///
    /// # Safety
    /// `rp[0..9]` readable.
    #[inline(always)]
    pub unsafe fn lengths8(rp: *const usize) -> __m256i {
        unsafe {
            let low_halves = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
            let a = _mm256_loadu_si256(rp.cast());
            let a = _mm256_sub_epi64(_mm256_loadu_si256(rp.add(1).cast()), a);
            let c = _mm256_loadu_si256(rp.add(4).cast());
            let c = _mm256_sub_epi64(_mm256_loadu_si256(rp.add(5).cast()), c);
            _mm256_blend_epi32::<0b1111_0000>(
                _mm256_permutevar8x32_epi32(a, low_halves),
                _mm256_permutevar8x32_epi32(c, low_halves),
            )
        }
    }

    /// Whether any of the eight lengths exceeds `m`.
    #[inline(always)]
    pub fn any_longer(len: __m256i, m: i32) -> bool {
        unsafe {
            let gt = _mm256_cmpgt_epi32(len, _mm256_set1_epi32(m));
            _mm256_movemask_ps(_mm256_castsi256_ps(gt)) != 0
        }
    }

    /// Terms `o..o + 4` of the eight rows starting at `rp[0..8]`, as four
    /// steps: lane l of step j is `tb[rp[l] + o + j]`. One unaligned 4-wide
    /// load per row, then an 8 × 4 transpose (four `vinsertf128`, eight
    /// unpacks).
    ///
    /// # Safety
    /// `tb[rp[l] + o .. rp[l] + o + 4]` readable for every l.
    #[inline(always)]
    pub unsafe fn transpose4(tb: *const f32, rp: *const usize, o: usize) -> [__m256; 4] {
        unsafe {
            let q = |l: usize| _mm_loadu_ps(tb.wrapping_add(*rp.add(l) + o));
            let r04 = _mm256_set_m128(q(4), q(0));
            let r15 = _mm256_set_m128(q(5), q(1));
            let r26 = _mm256_set_m128(q(6), q(2));
            let r37 = _mm256_set_m128(q(7), q(3));
            let t0 = _mm256_castps_pd(_mm256_unpacklo_ps(r04, r15));
            let t1 = _mm256_castps_pd(_mm256_unpackhi_ps(r04, r15));
            let t2 = _mm256_castps_pd(_mm256_unpacklo_ps(r26, r37));
            let t3 = _mm256_castps_pd(_mm256_unpackhi_ps(r26, r37));
            [
                _mm256_castpd_ps(_mm256_unpacklo_pd(t0, t2)),
                _mm256_castpd_ps(_mm256_unpackhi_pd(t0, t2)),
                _mm256_castpd_ps(_mm256_unpacklo_pd(t1, t3)),
                _mm256_castpd_ps(_mm256_unpackhi_pd(t1, t3)),
            ]
        }
    }

    /// `acc + step[0] + … + step[3]` in that order, lane l of step j taken
    /// only where `first + j < len[l]` (+0 elsewhere).
    #[inline(always)]
    pub fn add_steps(mut acc: __m256, steps: [__m256; 4], len: __m256i, first: i32) -> __m256 {
        unsafe {
            for (j, s) in (first..).zip(steps) {
                let live = _mm256_cmpgt_epi32(len, _mm256_set1_epi32(j));
                acc = _mm256_add_ps(acc, _mm256_and_ps(s, _mm256_castsi256_ps(live)));
            }
        }
        acc
    }
}

// ---------------------------------------------------------------------------
// Aᵀ·x by scattering into per-chunk partial sums.

/// Most columns for which [`AdjointMethod::default_for`] scatters: one
/// chunk's partial sums (4·ncols bytes) then stay in L1/L2.
pub const SCATTER_MAX_COLS: usize = 1 << 13;

/// Rows above which [`AdjointMethod::default_for`] scatters: x (4·nrows
/// bytes) then fills more than half of L2 ([`crate::simd::l2_cache_bytes`]),
/// and the transposed copy's gathers from it start to wait on memory. 2¹⁸
/// on the Xeon with 2 MiB of L2; 2¹⁶ on the Zen 3 with 512 KiB, where the
/// 199,210 × 750 matrix scatters 1.15 × faster than it runs the copy.
pub fn scatter_min_rows() -> usize {
    crate::simd::l2_cache_bytes() / 8
}

/// Fewest stored entries per chunk of the scatter form of Aᵀ·x.
const SCATTER_CHUNK: usize = 1 << 15;

/// Most chunks (sets of partial sums) of the scatter form of Aᵀ·x: bounds
/// its per-product memory at 64·ncols floats.
const SCATTER_MAX_CHUNKS: usize = 64;

/// The row of every stored entry (the expanded row pointers), as u32.
/// O(nnz + nrows).
fn entry_rows(row_ptr: &[usize]) -> Vec<u32> {
    let nnz = row_ptr[row_ptr.len() - 1];
    let mut rows = vec![0u32; nnz];
    for (r, w) in row_ptr.windows(2).enumerate() {
        rows[w[0]..w[1]].fill(r as u32);
    }
    rows
}

/// y ← Aᵀ·x for a validated matrix given by the row of each entry and the
/// entries: y_c = Σ_k v_k·x_{row(k)} over the entries k of column c. The
/// entries are cut into fixed chunks of at least [`SCATTER_CHUNK`] entries,
/// at most [`SCATTER_MAX_CHUNKS`] of them (their size depends only on nnz);
/// each chunk scatters its terms, in storage order, into
/// its own partial y, and the partials are added in chunk order, so the
/// result does not depend on the thread count. `x.len()` = number of rows,
/// every column `< y.len()`.
fn scatter_t<E: Entries>(rows: &[u32], ent: E, x: &[f32], y: &mut [f32]) {
    let (nnz, ncols) = (rows.len(), y.len());
    let run = |lo: usize, hi: usize, p: &mut [f32]| {
        // SAFETY: rows come from validated row pointers (below x.len()),
        // columns are below ncols == p.len(), lo <= hi <= nnz.
        unsafe { scatter_range(rows, ent, lo, hi, x, p.as_mut_ptr()) }
    };
    y.fill(0.0);
    if nnz <= SCATTER_CHUNK {
        run(0, nnz, y);
        return;
    }
    let chunk = SCATTER_CHUNK.max(nnz.div_ceil(SCATTER_MAX_CHUNKS));
    let mut part = vec![0.0f32; nnz.div_ceil(chunk) * ncols];
    part.par_chunks_mut(ncols)
        .enumerate()
        .for_each(|(i, p)| run(i * chunk, ((i + 1) * chunk).min(nnz), p));
    for p in part.chunks_exact(ncols) {
        for (a, &b) in y.iter_mut().zip(p) {
            *a += b;
        }
    }
}

/// p[col(k)] += v_k·x[rows[k]] for k in lo..hi, in order.
///
/// With AVX2, eight entries at a time: their rows are sorted, so when the
/// eight span fewer than 16 rows their elements of x come from two 8-wide
/// loads and a permute each, and the eight terms from one vector multiply;
/// only the read-modify-write of p stays scalar (AVX2 has no scatter). The
/// terms and the order of the additions are those of the scalar loop. On the
/// Zen 3 this ran 1.3 × faster (199,210 × 750) and 1.25 × (10⁶ × 10³) than
/// the scalar loop, which loads the row, x, the column and the value of each
/// entry; AVX-512 builds run it too (on the Zen 4 1.4–1.5 × the scalar loop,
/// and 1.05–1.18 × a 16-entry form with a 32-row window).
///
/// # Safety
/// `lo <= hi <= rows.len()`, every `rows[k]` indexes `x`, every column of
/// entries `lo..hi` indexes `p`.
#[inline(always)]
unsafe fn scatter_range<E: Entries>(
    rows: &[u32],
    ent: E,
    lo: usize,
    hi: usize,
    x: &[f32],
    p: *mut f32,
) {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    let lo = unsafe { scatter_windows(rows, ent, lo, hi, x, p) };
    unsafe { scatter_scalar(rows.as_ptr(), ent, lo, hi, x.as_ptr(), p) }
}

/// The AVX2 loop of [`scatter_range`] over the whole groups of eight
/// entries in `lo..hi`; returns where it stopped.
///
/// # Safety
/// As [`scatter_range`].
#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
#[inline(always)]
unsafe fn scatter_windows<E: Entries>(
    rows: &[u32],
    ent: E,
    mut lo: usize,
    hi: usize,
    x: &[f32],
    p: *mut f32,
) -> usize {
    use std::arch::x86_64::*;
    let (xp, rp) = (x.as_ptr(), rows.as_ptr());
    let mut t = [0.0f32; 8];
    while lo + 8 <= hi {
        unsafe {
            let r0 = *rp.add(lo) as usize;
            if *rp.add(lo + 7) as usize - r0 < 16 && r0 + 16 <= x.len() {
                let r = _mm256_loadu_si256(rp.add(lo).cast());
                let idx = _mm256_sub_epi32(r, _mm256_set1_epi32(r0 as i32));
                let a = _mm256_permutevar8x32_ps(_mm256_loadu_ps(xp.add(r0)), idx);
                let b = _mm256_permutevar8x32_ps(_mm256_loadu_ps(xp.add(r0 + 8)), idx);
                // idx ≥ 8 (bit 3, shifted to the sign bit) takes the second load.
                let hi8 = _mm256_castsi256_ps(_mm256_slli_epi32::<28>(idx));
                _mm256_storeu_ps(t.as_mut_ptr(), ent.times8(lo, _mm256_blendv_ps(a, b, hi8)));
                for (j, &tj) in t.iter().enumerate() {
                    *p.add(ent.col(lo + j)) += tj;
                }
            } else {
                scatter_scalar(rp, ent, lo, lo + 8, xp, p);
            }
        }
        lo += 8;
    }
    lo
}

/// The scalar loop of [`scatter_range`].
///
/// # Safety
/// As [`scatter_range`].
#[inline(always)]
unsafe fn scatter_scalar<E: Entries>(
    rows: *const u32,
    ent: E,
    lo: usize,
    hi: usize,
    x: *const f32,
    p: *mut f32,
) {
    unsafe {
        for k in lo..hi {
            let (c, t) = ent.col_times(k, *x.add(*rows.add(k) as usize));
            *p.add(c) += t;
        }
    }
}
