//! Random projections P: R^d → R^D and their adjoints.
//!
//! θ_D = θ_0 + P·θ_d, and the gradient the optimiser sees is g_d = Pᵀ·∇θ_D.
//! Every P here has unit-length columns, so a unit step in θ_d is a unit step
//! in θ_D.
//!
//! | kind | construction | memory | time per P·x or Pᵀ·y |
//! |------|--------------|--------|----------------------|
//! | [`DenseProjection`] | iid N(0,1), columns scaled to unit norm | 4·D·d bytes | O(D·d) |
//! | [`SparseProjection`] | ±1 w.p. 1/√D (Li, Hastie, Church 2006), columns scaled to unit norm | ≈ 8 bytes per non-zero + 8·(D + d), nnz ≈ d·√D | O(d·√D + D) |
//! | [`FastfoodProjection`] | ⌈D/L⌉ blocks H·G·Π·H·B, L = 2^⌈log2 d⌉, exact unit columns | 8.25 bytes per row of P (G, π, π⁻¹ as u16, B bits) while L ≤ 65536, 12.25 above, + scratch | O(D·log d) |
//!
//! Every random draw comes from [`crate::rng::stream`]`(seed, tag, sub)` with a
//! tag per kind and a documented sub-index (row block, column, block), so the
//! same `(kind, D, d, seed)` gives the same P bit for bit whatever the thread
//! count, and construction itself runs in parallel.
//!
//! Constructors check their sizes first and refuse, with a
//! [`ProjectionError`], d = 0, D = 0, d > D and anything whose memory would
//! exceed a budget ([`DEFAULT_BUDGET_BYTES`] = 8 GiB unless a `with_budget`
//! constructor is used).

mod dense;
mod fastfood;
pub mod scaling;
mod sparse;

pub use dense::DenseProjection;
pub use fastfood::FastfoodProjection;
pub use sparse::SparseProjection;

use thiserror::Error;

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
    /// out ← base + P·x (base and out of length D): θ_D = θ_0 + P·θ_d in
    /// one call. Bit for bit `out.copy_from_slice(base)` followed by
    /// [`Projection::forward_add`], which is the default; Fastfood fuses the
    /// copy into its last pass and saves a read and a write of D floats.
    /// O(D) plus the cost of [`Projection::forward_add`].
    fn forward_from(&mut self, base: &[f32], x: &[f32], out: &mut [f32]) {
        out.copy_from_slice(base);
        self.forward_add(x, out);
    }
    /// out ← Pᵀ·y, with y of length D and out of length d.
    fn adjoint(&mut self, y: &[f32], out: &mut [f32]);
    /// Bytes this projection holds (parameters and scratch).
    fn bytes(&self) -> usize;
}

/// The default memory budget of a projection: 8 GiB.
pub const DEFAULT_BUDGET_BYTES: usize = 8 << 30;

/// Why a projection could not be built.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ProjectionError {
    /// d = 0: a subspace needs at least one direction.
    #[error("the subspace dimension d is 0; choose d ≥ 1")]
    ZeroSmallDim,
    /// D = 0: there is no parameter space to project into.
    #[error("the parameter dimension D is 0; the network has no parameters to project into")]
    ZeroBigDim,
    /// d > D: more directions than parameters.
    #[error(
        "the subspace dimension d = {small_dim} exceeds the parameter dimension D = {big_dim}; choose d ≤ D"
    )]
    SmallDimTooLarge {
        /// d as given.
        small_dim: usize,
        /// D as given.
        big_dim: usize,
    },
    /// The projection would hold more memory than the budget allows.
    #[error(
        "a {kind} projection with D = {big_dim}, d = {small_dim} needs about {needed} bytes \
         ({:.2} GiB), above the budget of {budget} bytes ({:.2} GiB); \
         choose a smaller d, a cheaper kind (sparse or fastfood) or raise the budget",
        *.needed as f64 / (1u64 << 30) as f64,
        *.budget as f64 / (1u64 << 30) as f64
    )]
    OverBudget {
        /// The kind's name.
        kind: &'static str,
        /// D as given.
        big_dim: usize,
        /// d as given.
        small_dim: usize,
        /// Estimated bytes.
        needed: usize,
        /// The budget in bytes.
        budget: usize,
    },
    /// D too large for the index format of the kind.
    #[error(
        "a {kind} projection indexes rows with 31 bits, but D = {big_dim} ≥ 2^31; use fastfood for such D"
    )]
    IndexOverflow {
        /// The kind's name.
        kind: &'static str,
        /// D as given.
        big_dim: usize,
    },
    /// A kind name that is not one of `dense`, `sparse`, `fastfood`.
    #[error("unknown projection kind {0:?}; expected one of: dense, sparse, fastfood")]
    UnknownKind(String),
}

/// Check d ≥ 1, D ≥ 1, d ≤ D and `needed ≤ budget` (in that order). O(1).
pub(crate) fn check_sizes(
    kind: ProjectionKind,
    big_dim: usize,
    small_dim: usize,
    needed: Option<usize>,
    budget: usize,
) -> Result<(), ProjectionError> {
    if small_dim == 0 {
        return Err(ProjectionError::ZeroSmallDim);
    }
    if big_dim == 0 {
        return Err(ProjectionError::ZeroBigDim);
    }
    if small_dim > big_dim {
        return Err(ProjectionError::SmallDimTooLarge { small_dim, big_dim });
    }
    // `None` means the estimate overflowed usize: certainly over budget.
    let needed_v = needed.unwrap_or(usize::MAX);
    if needed_v > budget {
        return Err(ProjectionError::OverBudget {
            kind: kind.name(),
            big_dim,
            small_dim,
            needed: needed_v,
            budget,
        });
    }
    Ok(())
}

/// The three kinds of projection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProjectionKind {
    /// [`DenseProjection`].
    Dense,
    /// [`SparseProjection`].
    Sparse,
    /// [`FastfoodProjection`].
    Fastfood,
}

impl ProjectionKind {
    /// All kinds, in the order dense, sparse, fastfood.
    pub const ALL: [ProjectionKind; 3] = [
        ProjectionKind::Dense,
        ProjectionKind::Sparse,
        ProjectionKind::Fastfood,
    ];

    /// Parse `"dense"`, `"sparse"` or `"fastfood"` (ASCII case-insensitive). O(1).
    pub fn parse(s: &str) -> Result<ProjectionKind, ProjectionError> {
        match s.to_ascii_lowercase().as_str() {
            "dense" => Ok(ProjectionKind::Dense),
            "sparse" => Ok(ProjectionKind::Sparse),
            "fastfood" => Ok(ProjectionKind::Fastfood),
            _ => Err(ProjectionError::UnknownKind(s.to_string())),
        }
    }

    /// The name [`ProjectionKind::parse`] accepts back. O(1).
    pub fn name(self) -> &'static str {
        match self {
            ProjectionKind::Dense => "dense",
            ProjectionKind::Sparse => "sparse",
            ProjectionKind::Fastfood => "fastfood",
        }
    }

    /// Estimated bytes of a projection of this kind (`None` on overflow). O(1).
    pub fn estimated_bytes(self, big_dim: usize, small_dim: usize) -> Option<usize> {
        match self {
            ProjectionKind::Dense => dense::estimated_bytes(big_dim, small_dim),
            ProjectionKind::Sparse => sparse::estimated_bytes(big_dim, small_dim),
            ProjectionKind::Fastfood => fastfood::estimated_bytes(big_dim, small_dim),
        }
    }
}

impl std::fmt::Display for ProjectionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ProjectionKind {
    type Err = ProjectionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProjectionKind::parse(s)
    }
}

/// Build a projection of the given kind with the default budget
/// ([`DEFAULT_BUDGET_BYTES`]). Cost: that of the kind's constructor.
pub fn build(
    kind: ProjectionKind,
    big_dim: usize,
    small_dim: usize,
    seed: u64,
) -> Result<Box<dyn Projection>, ProjectionError> {
    build_with_budget(kind, big_dim, small_dim, seed, DEFAULT_BUDGET_BYTES)
}

/// [`build`] with an explicit memory budget in bytes.
pub fn build_with_budget(
    kind: ProjectionKind,
    big_dim: usize,
    small_dim: usize,
    seed: u64,
    budget: usize,
) -> Result<Box<dyn Projection>, ProjectionError> {
    Ok(match kind {
        ProjectionKind::Dense => Box::new(DenseProjection::with_budget(
            big_dim, small_dim, seed, budget,
        )?),
        ProjectionKind::Sparse => Box::new(SparseProjection::with_budget(
            big_dim, small_dim, seed, budget,
        )?),
        ProjectionKind::Fastfood => Box::new(FastfoodProjection::with_budget(
            big_dim, small_dim, seed, budget,
        )?),
    })
}
