//! From a training run to a checkpoint and back: `idim train --save`,
//! `idim eval`, `idim export`.

use std::path::Path;

use super::TrainError;
use super::subspace::{
    EVAL_BATCH, RunResult, compose_theta, evaluate_split, network, projection_for,
};
use crate::checkpoint::Checkpoint;
use crate::data::{Dataset, IMAGE_LEN};
use crate::fsutil;

/// The checkpoint of a finished run: its seeds, θ_d and final test accuracy.
/// `pixel_shuffle_seed` is the dataset variant it was trained on. O(d).
pub fn checkpoint_of(result: &RunResult, pixel_shuffle_seed: Option<u64>) -> Checkpoint {
    let last = result.last();
    Checkpoint {
        arch: result.config.arch.clone(),
        proj: result.config.proj,
        big_dim: result.big_dim,
        small_dim: result.small_dim,
        seed: result.config.seed,
        proj_seed: result.config.proj_seed,
        pixel_shuffle_seed,
        test_correct: last.test_correct as u64,
        test_examples: result.test_examples as u64,
        test_accuracy: last.test_accuracy,
        params: result.params.clone(),
    }
}

/// θ_D = θ_0 + P·θ_d rebuilt from the checkpoint's seeds (θ_D itself for a
/// full-space checkpoint). O(D) plus P's construction and one P·x.
pub fn rebuild_theta(ckpt: &Checkpoint) -> Result<Vec<f32>, TrainError> {
    let net = network(&ckpt.arch, 1)?;
    let big = net.num_params();
    if big != ckpt.big_dim {
        return Err(TrainError::config(
            "checkpoint",
            format!(
                "D = {} but model {} has {big} parameters",
                ckpt.big_dim,
                ckpt.arch.name()
            ),
        ));
    }
    let mut theta0 = vec![0.0f32; big];
    net.init(ckpt.seed, &mut theta0);
    let mut proj = projection_for(ckpt.proj, big, ckpt.small_dim, ckpt.proj_seed)?;
    let mut theta = vec![0.0f32; big];
    compose_theta(&theta0, proj.as_mut(), &ckpt.params, &mut theta);
    Ok(theta)
}

/// The outcome of re-evaluating a checkpoint.
#[derive(Clone, Debug)]
pub struct EvalOutcome {
    /// Correct test predictions now.
    pub correct: usize,
    /// Test examples now.
    pub examples: usize,
    /// `correct / examples`.
    pub accuracy: f64,
    /// Mean test cross-entropy.
    pub loss: f64,
    /// Whether `accuracy` equals the recorded accuracy bit for bit.
    pub matches_recorded: bool,
}

/// Rebuilds θ_D and evaluates it on `data.test` exactly as training did
/// (fixed batches of [`EVAL_BATCH`] in order). O(N_test · forward cost).
pub fn evaluate_checkpoint(ckpt: &Checkpoint, data: &Dataset) -> Result<EvalOutcome, TrainError> {
    let theta = rebuild_theta(ckpt)?;
    let mut net = network(&ckpt.arch, EVAL_BATCH)?;
    let mut x = vec![0.0f32; EVAL_BATCH * IMAGE_LEN];
    let mut y = vec![0u8; EVAL_BATCH];
    let (loss, correct) = evaluate_split(&mut net, &theta, &data.test, &mut x, &mut y);
    let examples = data.test.len();
    let accuracy = correct as f64 / examples.max(1) as f64;
    Ok(EvalOutcome {
        correct,
        examples,
        accuracy,
        loss: loss / examples.max(1) as f64,
        matches_recorded: accuracy.to_bits() == ckpt.test_accuracy.to_bits()
            && examples as u64 == ckpt.test_examples,
    })
}

/// Writes the full θ_D of `ckpt` to `out` as raw little-endian f32 (4·D
/// bytes) and its layout to `out` + `.json` (model, D, and per tensor: name,
/// shape, offset, length, whether L2 applies). Both atomically. O(D).
pub fn export(ckpt: &Checkpoint, out: &Path) -> Result<std::path::PathBuf, TrainError> {
    let theta = rebuild_theta(ckpt)?;
    let net = network(&ckpt.arch, 1)?;
    let mut bytes = Vec::with_capacity(4 * theta.len());
    for v in &theta {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    let mut json = String::new();
    json.push_str("{\n");
    json.push_str(&format!("  \"model\": {},\n", json_str(&ckpt.arch.name())));
    json.push_str(&format!("  \"params\": {},\n", theta.len()));
    json.push_str("  \"dtype\": \"f32\",\n  \"byte_order\": \"little-endian\",\n");
    json.push_str(&format!(
        "  \"data_file\": {},\n",
        json_str(&out.display().to_string())
    ));
    json.push_str("  \"tensors\": [\n");
    let layout = net.layout();
    for (i, t) in layout.iter().enumerate() {
        let shape: Vec<String> = t.shape.iter().map(|s| s.to_string()).collect();
        json.push_str(&format!(
            "    {{\"name\": {}, \"shape\": [{}], \"offset\": {}, \"len\": {}, \"decay\": {}}}{}\n",
            json_str(&t.name),
            shape.join(", "),
            t.offset,
            t.len,
            t.decay,
            if i + 1 < layout.len() { "," } else { "" }
        ));
    }
    json.push_str("  ]\n}\n");
    let sidecar = {
        let mut s = out.as_os_str().to_owned();
        s.push(".json");
        std::path::PathBuf::from(s)
    };
    fsutil::write_atomic(out, &bytes).map_err(|source| TrainError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    fsutil::write_atomic(&sidecar, json.as_bytes()).map_err(|source| TrainError::Io {
        path: sidecar.clone(),
        source,
    })?;
    Ok(sidecar)
}

/// A JSON string literal for `s` (quotes, backslashes and control characters escaped).
pub fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}
