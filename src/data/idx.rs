//! The IDX file format (LeCun's MNIST distribution format), unsigned-byte
//! variant only, parsed from a byte slice without copying.
//!
//! ```text
//! offset  type     value
//! 0       u32 BE   magic = 0x0000_08NN   (0x08: unsigned byte; NN: number of dimensions)
//! 4       u32 BE   dimension 0 (number of examples)
//! 8       u32 BE   dimension 1 (rows; images only)
//! 12      u32 BE   dimension 2 (columns; images only)
//! 4+4·NN  u8 …     the data, row-major, exactly Π dimensions bytes
//! ```
//!
//! Labels files have magic [`LABELS_MAGIC`] (one dimension), images files
//! [`IMAGES_MAGIC`] (three). Every check is done on the slice's length before
//! any data byte is indexed, products of dimensions use checked arithmetic,
//! and nothing is read past the end of the slice: the parsers return an error
//! for every input and never panic.

use std::path::Path;

use super::{DataError, NUM_CLASSES};

/// Magic number of an IDX labels file: unsigned bytes, one dimension.
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Magic number of an IDX images file: unsigned bytes, three dimensions.
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Header length of a labels file (magic + 1 dimension).
pub const LABELS_HEADER: usize = 8;
/// Header length of an images file (magic + 3 dimensions).
pub const IMAGES_HEADER: usize = 16;

/// The dimensions of a validated images file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImagesHeader {
    /// Number of images.
    pub count: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
}

impl ImagesHeader {
    /// Pixels per image, `rows · cols` (cannot overflow once validated).
    pub fn pixels(&self) -> usize {
        self.rows * self.cols
    }
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    // Callers check `bytes.len() >= at + 4` first.
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn check_magic(bytes: &[u8], path: &Path, expected: u32, header: usize) -> Result<(), DataError> {
    if bytes.len() < 4 {
        return Err(DataError::ShortHeader {
            path: path.to_path_buf(),
            needed: header,
            actual: bytes.len(),
        });
    }
    let found = be_u32(bytes, 0);
    if found != expected {
        let hint = if bytes[0] == 0x1f && bytes[1] == 0x8b {
            "this is gzip-compressed data: give the file the .gz suffix so it is decompressed first"
                .to_string()
        } else if found == IMAGES_MAGIC || found == LABELS_MAGIC {
            "this is the other kind of IDX file (images vs labels): are the file names swapped?"
                .to_string()
        } else if found >> 8 == 0x08 {
            format!(
                "an IDX unsigned-byte file with {} dimensions, not {}",
                found & 0xff,
                expected & 0xff
            )
        } else {
            "not an IDX unsigned-byte file: restore or re-download it".to_string()
        };
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            found,
            expected,
            hint,
        });
    }
    if bytes.len() < header {
        return Err(DataError::ShortHeader {
            path: path.to_path_buf(),
            needed: header,
            actual: bytes.len(),
        });
    }
    Ok(())
}

/// Validate an IDX labels file held in `bytes` (named `path` in errors) and
/// return its labels, a zero-copy view of `bytes[8..]`.
///
/// Checks the magic, that the file length is exactly `8 + count`, and that
/// every label is below [`NUM_CLASSES`]. O(count).
pub fn parse_labels<'a>(bytes: &'a [u8], path: &Path) -> Result<&'a [u8], DataError> {
    check_magic(bytes, path, LABELS_MAGIC, LABELS_HEADER)?;
    let count = be_u32(bytes, 4) as u64;
    let expected = count + LABELS_HEADER as u64;
    if bytes.len() as u64 != expected {
        return Err(DataError::LengthMismatch {
            path: path.to_path_buf(),
            dims: format!("{count} labels"),
            expected,
            actual: bytes.len() as u64,
        });
    }
    let labels = &bytes[LABELS_HEADER..];
    if let Some((index, &value)) = labels
        .iter()
        .enumerate()
        .find(|&(_, &l)| l as usize >= NUM_CLASSES)
    {
        return Err(DataError::BadLabel {
            path: path.to_path_buf(),
            index,
            value,
        });
    }
    Ok(labels)
}

/// Validate an IDX images file held in `bytes` (named `path` in errors) and
/// return its dimensions and pixel data, a zero-copy view of `bytes[16..]`.
///
/// Checks the magic and that the file length is exactly
/// `16 + count · rows · cols`, computed with checked arithmetic. Any image
/// shape is accepted here; [`super::load`] additionally requires 28×28. O(1).
pub fn parse_images<'a>(
    bytes: &'a [u8],
    path: &Path,
) -> Result<(ImagesHeader, &'a [u8]), DataError> {
    check_magic(bytes, path, IMAGES_MAGIC, IMAGES_HEADER)?;
    let (count, rows, cols) = (be_u32(bytes, 4), be_u32(bytes, 8), be_u32(bytes, 12));
    let dims = format!("{count} images of {rows}×{cols} pixels");
    let overflow = || DataError::Overflow {
        path: path.to_path_buf(),
        dims: dims.clone(),
    };
    let pixels = (rows as usize)
        .checked_mul(cols as usize)
        .ok_or_else(overflow)?;
    let expected = (count as usize)
        .checked_mul(pixels)
        .and_then(|n| n.checked_add(IMAGES_HEADER))
        .ok_or_else(overflow)?;
    if bytes.len() != expected {
        return Err(DataError::LengthMismatch {
            path: path.to_path_buf(),
            dims,
            expected: expected as u64,
            actual: bytes.len() as u64,
        });
    }
    let header = ImagesHeader {
        count: count as usize,
        rows: rows as usize,
        cols: cols as usize,
    };
    Ok((header, &bytes[IMAGES_HEADER..]))
}

/// Encode an IDX labels file (tests, tools). O(n).
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(LABELS_HEADER + labels.len());
    out.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}

/// Encode an IDX images file of `pixels.len() / (rows · cols)` images (tests, tools). O(n).
///
/// # Panics
/// If `pixels.len()` is not a multiple of `rows · cols` or a dimension exceeds `u32`.
pub fn encode_images(rows: usize, cols: usize, pixels: &[u8]) -> Vec<u8> {
    let per = rows * cols;
    assert!(
        per > 0 && pixels.len().is_multiple_of(per),
        "pixels not a whole number of images"
    );
    let count = u32::try_from(pixels.len() / per).expect("too many images");
    let mut out = Vec::with_capacity(IMAGES_HEADER + pixels.len());
    out.extend_from_slice(&IMAGES_MAGIC.to_be_bytes());
    out.extend_from_slice(&count.to_be_bytes());
    out.extend_from_slice(&u32::try_from(rows).expect("rows").to_be_bytes());
    out.extend_from_slice(&u32::try_from(cols).expect("cols").to_be_bytes());
    out.extend_from_slice(pixels);
    out
}

/// Feed untrusted `bytes` to every parser of outside bytes in [`super`]
/// (labels and images IDX, `SHA256SUMS` lists, cache sidecars) and check the
/// invariants of whatever they accept. Used by the `idx` fuzz target and by
/// the corpus replay test; a panic here is a bug. O(bytes).
pub fn exercise_parsers(bytes: &[u8]) {
    let path = Path::new("fuzz-input");
    match parse_labels(bytes, path) {
        Ok(labels) => {
            assert_eq!(labels.len() + LABELS_HEADER, bytes.len());
            assert!(labels.iter().all(|&l| (l as usize) < NUM_CLASSES));
        }
        Err(e) => assert!(e.to_string().contains("fuzz-input")),
    }
    match parse_images(bytes, path) {
        Ok((h, pixels)) => {
            assert_eq!(h.count * h.pixels() + IMAGES_HEADER, bytes.len());
            assert_eq!(pixels.len(), h.count * h.pixels());
            if h.pixels() > 0 {
                // Touch the last pixel of every image.
                let sum: u64 = pixels
                    .chunks_exact(h.pixels())
                    .map(|img| img[h.pixels() - 1] as u64)
                    .sum();
                std::hint::black_box(sum);
            }
        }
        Err(e) => assert!(e.to_string().contains("fuzz-input")),
    }
    if let Ok(sums) = super::cache::parse_sums(bytes) {
        assert!(sums.values().all(|h| h.len() == 64));
    }
    if let Some(s) = super::cache::Sidecar::parse(bytes) {
        assert_eq!(super::cache::Sidecar::parse(s.encode().as_bytes()), Some(s));
    }
}
