//! Datasets: bytes on disk → validated, memory-mapped examples → batches.
