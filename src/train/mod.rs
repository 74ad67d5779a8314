//! Optimisers, the subspace training loop and the d sweep.
//!
//! - [`subspace`]: one training run, θ_D = θ_0 + P·θ_d with only θ_d trained
//!   (or θ_D directly with [`ProjSpec::None`]), its timing split and its
//!   per-epoch report.
//! - [`sweep`]: the baseline plus every (d, seed) configuration, resumable and
//!   shardable, and the d_int90 / d_int100 estimates ([`results`]).
//! - [`toy`]: the paper's toy problem whose intrinsic dimension is exactly 10.
//! - [`optim`]: SGD with momentum and Adam on a flat parameter vector.

pub mod analysis;
pub mod optim;
pub mod progress;
pub mod restore;
pub mod results;
pub mod subspace;
pub mod sweep;
pub mod toy;

use crate::nn::Arch;
use crate::projection::ProjectionKind;
use optim::OptimizerKind;

/// Errors of the training, sweep and report layer. Each names the input and
/// says what to do.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A configuration value is out of range.
    #[error("invalid {what}: {message}")]
    Config {
        /// The flag or field at fault, e.g. `--lr`.
        what: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// The network could not be built.
    #[error("cannot build model {model:?}: {source}")]
    Network {
        /// The model name.
        model: String,
        /// The underlying error.
        source: crate::nn::NnError,
    },
    /// The projection could not be built.
    #[error("cannot build the {kind} projection with D = {big}, d = {small}: {source}")]
    Projection {
        /// The projection kind's name.
        kind: String,
        /// D.
        big: usize,
        /// d.
        small: usize,
        /// The underlying error.
        source: crate::projection::ProjectionError,
    },
    /// The dataset could not be loaded.
    #[error("cannot load the dataset: {0}")]
    Data(#[from] crate::data::DataError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A results file is malformed.
    #[error("{path}, line {line}: {message}")]
    Results {
        /// The file.
        path: std::path::PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Training diverged (a non-finite loss).
    #[error(
        "training diverged at epoch {epoch}: the loss became {loss}; lower --lr (now {lr}) or raise --batch"
    )]
    Diverged {
        /// 1-based epoch.
        epoch: usize,
        /// The loss value.
        loss: f32,
        /// The learning rate used.
        lr: f32,
    },
    /// A checkpoint could not be read or does not match.
    #[error(transparent)]
    Checkpoint(#[from] crate::checkpoint::CheckpointError),
}

impl TrainError {
    /// A [`TrainError::Config`] for `what` with `message`.
    pub fn config(what: &str, message: impl Into<String>) -> TrainError {
        TrainError::Config {
            what: what.into(),
            message: message.into(),
        }
    }
}

/// Where the trained parameters live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProjSpec {
    /// Full-space training: the optimiser updates θ_D directly (P = I, d = D).
    None,
    /// Subspace training through a random projection of this kind.
    Kind(ProjectionKind),
}

impl ProjSpec {
    /// Parses `none`, `dense`, `sparse` or `fastfood`.
    pub fn parse(s: &str) -> Result<ProjSpec, TrainError> {
        match s {
            "none" => Ok(ProjSpec::None),
            "dense" => Ok(ProjSpec::Kind(ProjectionKind::Dense)),
            "sparse" => Ok(ProjSpec::Kind(ProjectionKind::Sparse)),
            "fastfood" => Ok(ProjSpec::Kind(ProjectionKind::Fastfood)),
            _ => Err(TrainError::config(
                "--proj",
                format!("unknown projection {s:?}; use dense, sparse, fastfood or none"),
            )),
        }
    }

    /// The name [`ProjSpec::parse`] accepts back.
    pub fn name(&self) -> &'static str {
        match self {
            ProjSpec::None => "none",
            ProjSpec::Kind(ProjectionKind::Dense) => "dense",
            ProjSpec::Kind(ProjectionKind::Sparse) => "sparse",
            ProjSpec::Kind(ProjectionKind::Fastfood) => "fastfood",
        }
    }
}

/// Everything that defines one training run (besides the dataset).
#[derive(Clone, Debug)]
pub struct TrainConfig {
    /// The network.
    pub arch: Arch,
    /// Full space or which projection.
    pub proj: ProjSpec,
    /// d, the subspace dimension (ignored for [`ProjSpec::None`], where d = D).
    pub dim: usize,
    /// The optimiser and its hyper-parameters (besides the learning rate).
    pub optimizer: OptimizerKind,
    /// The learning rate (> 0).
    pub lr: f32,
    /// L2 weight decay on weights (not biases): the loss gains (l2/2)·Σ w².
    pub l2: f32,
    /// Mini-batch size.
    pub batch: usize,
    /// Passes over the training set.
    pub epochs: usize,
    /// Seed of θ_0 (the network's initialisation).
    pub seed: u64,
    /// Seed of the projection P.
    pub proj_seed: u64,
    /// Seed of the per-epoch shuffling of the training set.
    pub data_seed: u64,
    /// The accuracy a run reports besides the test accuracy: [`Metric::Test`]
    /// (the default) or also the training accuracy after every epoch
    /// ([`Metric::Train`], for memorisation experiments with shuffled labels).
    pub metric: Metric,
    /// The learning-rate schedule over the run's steps.
    pub schedule: LrSchedule,
}

/// How the learning rate changes over a run of T optimiser steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LrSchedule {
    /// lr at every step (the default). The first e epochs of a run do not
    /// depend on its length, so one long run gives every shorter schedule.
    #[default]
    Constant,
    /// Cosine decay (Loshchilov & Hutter 2017, without restarts):
    /// lr_t = lr · ½(1 + cos(π·t/T)) for step t = 0 … T−1, from lr down to
    /// nearly 0 at the last step.
    Cosine,
}

impl LrSchedule {
    /// Parses `constant` or `cosine`.
    pub fn parse(s: &str) -> Result<LrSchedule, TrainError> {
        match s {
            "constant" => Ok(LrSchedule::Constant),
            "cosine" => Ok(LrSchedule::Cosine),
            _ => Err(TrainError::config(
                "--schedule",
                format!("unknown learning-rate schedule {s:?}; use constant or cosine"),
            )),
        }
    }

    /// The learning rate of step `t` (0-based) of `total` steps with base
    /// rate `lr`. O(1).
    pub fn lr_at(self, lr: f32, t: u64, total: u64) -> f32 {
        match self {
            LrSchedule::Constant => lr,
            LrSchedule::Cosine => {
                let x = t.min(total) as f64 / total.max(1) as f64;
                (lr as f64 * 0.5 * (1.0 + (std::f64::consts::PI * x).cos())) as f32
            }
        }
    }
}

/// Which accuracy measures a run: generalisation (test set) or memorisation
/// (the training set, e.g. with shuffled labels, as in the paper's random-label
/// experiments).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Metric {
    /// Accuracy on the test set (the default).
    #[default]
    Test,
    /// Accuracy on the training split (evaluated after every epoch, at the
    /// cost of one forward pass over it).
    Train,
}

impl Metric {
    /// Parses `test` or `train`.
    pub fn parse(s: &str) -> Result<Metric, TrainError> {
        match s {
            "test" => Ok(Metric::Test),
            "train" => Ok(Metric::Train),
            _ => Err(TrainError::config(
                "--metric",
                format!("unknown metric {s:?}; use test or train"),
            )),
        }
    }
}

impl TrainConfig {
    /// The defaults of `idim train`: fc, Fastfood, d = 750, Adam (lr 1e-2,
    /// β = 0.9, 0.999), no L2, batch 128, 10 epochs, all seeds 0.
    pub fn default_subspace() -> TrainConfig {
        TrainConfig {
            arch: Arch::fc(),
            proj: ProjSpec::Kind(ProjectionKind::Fastfood),
            dim: 750,
            optimizer: OptimizerKind::Adam {
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            },
            lr: 1e-2,
            l2: 0.0,
            batch: 128,
            epochs: 10,
            seed: 0,
            proj_seed: 0,
            data_seed: 0,
            metric: Metric::Test,
            schedule: LrSchedule::Constant,
        }
    }

    /// Checks every field that does not need the network (d ≤ D is checked
    /// when the network is built). O(1).
    pub fn validate(&self) -> Result<(), TrainError> {
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(TrainError::config(
                "--lr",
                format!("{} must be a positive finite number, e.g. 0.01", self.lr),
            ));
        }
        if !(self.l2 >= 0.0 && self.l2.is_finite()) {
            return Err(TrainError::config(
                "--l2",
                format!("{} must be ≥ 0, e.g. 1e-4", self.l2),
            ));
        }
        if self.batch == 0 || self.batch > 65_536 {
            return Err(TrainError::config(
                "--batch",
                format!("{} must be between 1 and 65536, e.g. 128", self.batch),
            ));
        }
        if self.epochs == 0 {
            return Err(TrainError::config("--epochs", "must be at least 1"));
        }
        if self.proj != ProjSpec::None && self.dim == 0 {
            return Err(TrainError::config(
                "--dim",
                "d = 0: the subspace needs at least one dimension",
            ));
        }
        match self.optimizer {
            OptimizerKind::Sgd { momentum } => {
                if !(0.0..1.0).contains(&momentum) {
                    return Err(TrainError::config(
                        "--momentum",
                        format!("{momentum} must be in [0, 1), e.g. 0.9"),
                    ));
                }
            }
            OptimizerKind::Adam { beta1, beta2, eps } => {
                for (flag, b) in [("--beta1", beta1), ("--beta2", beta2)] {
                    if !(0.0..1.0).contains(&b) {
                        return Err(TrainError::config(
                            flag,
                            format!("{b} must be in [0, 1), e.g. 0.9 or 0.999"),
                        ));
                    }
                }
                if eps.is_nan() || eps <= 0.0 {
                    return Err(TrainError::config("eps", format!("{eps} must be > 0")));
                }
            }
        }
        Ok(())
    }

    /// A one-line description of the optimiser and schedule, e.g.
    /// `adam(lr=0.01,b1=0.9,b2=0.999)` or `sgd(lr=0.1,momentum=0.9,cosine)`.
    pub fn optimizer_name(&self) -> String {
        let sched = match self.schedule {
            LrSchedule::Constant => "",
            LrSchedule::Cosine => ",cosine",
        };
        match self.optimizer {
            OptimizerKind::Sgd { momentum } => {
                format!("sgd(lr={},momentum={}{sched})", self.lr, momentum)
            }
            OptimizerKind::Adam { beta1, beta2, .. } => {
                format!("adam(lr={},b1={},b2={}{sched})", self.lr, beta1, beta2)
            }
        }
    }
}

/// Checks, before any work, that `path` can be written: its directory exists
/// and a temporary sibling can be created there (and is removed again).
/// Leaves no file behind. O(1).
pub fn check_output_path(path: &std::path::Path) -> Result<(), TrainError> {
    if path.is_dir() {
        return Err(TrainError::config(
            "output",
            format!("{} is a directory; give a file name", path.display()),
        ));
    }
    let tmp = crate::fsutil::temp_sibling(path);
    match std::fs::File::create(&tmp) {
        Ok(_) => {
            let _ = std::fs::remove_file(&tmp);
            Ok(())
        }
        Err(source) => Err(TrainError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                source.kind(),
                format!(
                    "cannot write here ({source}); check that the directory exists and is writable"
                ),
            ),
        }),
    }
}
