//! Shuffled, standardised mini-batches in caller-owned buffers.
//!
//! A pixel byte p becomes `x = (p/255 − μ)/σ` with MNIST's training-set mean
//! μ = 0.1307 and standard deviation σ = 0.3081 (the usual torchvision
//! normalisation), computed in `f32` as the affine map
//! `x = p·SCALE + OFFSET`, SCALE = 1/(255σ), OFFSET = −μ/σ (both rounded to
//! `f32` once), so background pixels map to ≈ −0.4242 and ink to ≈ 2.8215.

use super::{IMAGE_LEN, Split};
use crate::rng::{self, Stream};

/// Mean of MNIST's training pixels after scaling to \[0, 1\].
pub const MNIST_MEAN: f32 = 0.1307;
/// Standard deviation of MNIST's training pixels after scaling to \[0, 1\].
pub const MNIST_STD: f32 = 0.3081;
const SCALE: f32 = (1.0 / (255.0 * 0.3081f64)) as f32;
const OFFSET: f32 = (-0.1307 / 0.3081f64) as f32;

/// The standardised value of pixel byte `p`: `p·(1/(255σ)) − μ/σ` in `f32`. O(1).
#[inline]
pub fn standardise(p: u8) -> f32 {
    p as f32 * SCALE + OFFSET
}

/// Standardise one image into `out`, gathering through `perm` if given
/// (`out[j] = standardise(img[perm[j]])`). O(784).
///
/// # Panics
/// If `img`, `out` (or `perm`) are not 784 long.
#[inline]
pub fn fill_row(img: &[u8], perm: Option<&[u16]>, out: &mut [f32]) {
    let img: &[u8; IMAGE_LEN] = img.try_into().expect("image must be 784 bytes");
    let out: &mut [f32; IMAGE_LEN] = out.try_into().expect("row must be 784 floats");
    let convert = |img: &[u8; IMAGE_LEN], out: &mut [f32; IMAGE_LEN]| {
        for (o, &p) in out.iter_mut().zip(img.iter()) {
            *o = standardise(p);
        }
    };
    match perm {
        None => convert(img, out),
        Some(perm) => {
            // Gather the bytes first (cheap scalar byte moves), then convert
            // with the vectorised contiguous loop.
            let perm: &[u16; IMAGE_LEN] = perm.try_into().expect("permutation must be 784 long");
            let mut tmp = [0u8; IMAGE_LEN];
            for (t, &j) in tmp.iter_mut().zip(perm.iter()) {
                *t = img[j as usize];
            }
            convert(&tmp, out)
        }
    }
}

/// Epoch-wise shuffled batches of one split.
///
/// Epoch `e` visits the examples in the order of a uniformly random
/// permutation drawn from `rng::stream(shuffle_seed, Stream::Shuffle, e)`
/// (Fisher–Yates), so the same `(shuffle_seed, e)` gives the same batches on
/// every machine. The permutation vector is allocated once and refilled per
/// epoch; batches are written into the caller's buffers.
#[derive(Clone, Debug)]
pub struct Batcher {
    split: Split,
    batch_size: usize,
    seed: u64,
    order: Vec<u32>,
    pos: usize,
}

impl Batcher {
    /// A batcher over `split` (a cheap clone is kept), ready for epoch 0.
    /// O(len).
    ///
    /// # Panics
    /// If `batch_size == 0` or the split has more than `u32::MAX` examples.
    pub fn new(split: &Split, batch_size: usize, shuffle_seed: u64) -> Batcher {
        assert!(batch_size > 0, "batch_size must be positive");
        assert!(split.len() <= u32::MAX as usize, "split too large");
        let mut b = Batcher {
            split: split.clone(),
            batch_size,
            seed: shuffle_seed,
            order: vec![0; split.len()],
            pos: 0,
        };
        b.start_epoch(0);
        b
    }

    /// Shuffle for epoch `epoch` and rewind. No allocation. O(len).
    pub fn start_epoch(&mut self, epoch: u64) {
        for (i, o) in self.order.iter_mut().enumerate() {
            *o = i as u32;
        }
        let mut r = rng::stream(self.seed, Stream::Shuffle, epoch);
        rng::shuffle(&mut r, &mut self.order);
        self.pos = 0;
    }

    /// Fill the next batch: up to `batch_size` rows of 784 standardised
    /// `f32` into `x` (row-major) and their labels into `y`; returns the
    /// number of rows, or `None` when the epoch is over. The last batch may
    /// be partial. No allocation. O(rows·784).
    ///
    /// # Panics
    /// If `x.len() < rows·784` or `y.len() < rows`.
    pub fn next_batch(&mut self, x: &mut [f32], y: &mut [u8]) -> Option<usize> {
        let len = self.order.len();
        if self.pos >= len {
            return None;
        }
        let n = self.batch_size.min(len - self.pos);
        self.split
            .fill_indices(&self.order[self.pos..self.pos + n], x, y);
        self.pos += n;
        Some(n)
    }

    /// The batch size.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Batches per epoch, `⌈len / batch_size⌉`.
    pub fn batches_per_epoch(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }

    /// The current epoch's visiting order (split positions).
    pub fn order(&self) -> &[u32] {
        &self.order
    }

    /// The split being batched.
    pub fn split(&self) -> &Split {
        &self.split
    }
}
