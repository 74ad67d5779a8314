//! One training run: θ_D = θ_0 + P·θ_d with only θ_d trained.
//!
//! Each step, for a mini-batch (x, y):
//!
//! ```text
//! θ_D ← θ_0 + P·θ_d              (Projection::forward_from)
//! L, ∇θ_D ← loss_grad(θ_D, x, y) (Network::loss_grad, forward and backward)
//! g_d ← Pᵀ·∇θ_D                  (Projection::adjoint)
//! θ_d ← optimiser(θ_d, g_d)      (Optimizer::step, O(d))
//! ```
//!
//! With [`ProjSpec::None`] the optimiser updates θ_D directly (full-space
//! training, the baseline). All buffers are made once in [`Trainer::new`];
//! a step allocates nothing. The wall time of every step is split into data
//! (filling the batch), projection (copy, P·θ_d and Pᵀ·∇), network (forward
//! and backward) and optimiser, so the run report shows what each projection
//! costs.
//!
//! Evaluation runs the network on θ_D = θ_0 + P·θ_d recomputed from scratch,
//! in fixed batches of [`EVAL_BATCH`] examples in dataset order, so
//! rebuilding θ_0 and P from their seeds (a checkpoint) reproduces the
//! recorded accuracy bit for bit.

use std::time::{Duration, Instant};

use super::progress::Observer;
use super::{LrSchedule, Metric, ProjSpec, TrainConfig, TrainError};
use crate::data::{Batcher, Dataset, IMAGE_LEN, Split};
use crate::nn::{Arch, Network};
use crate::projection::{self, Projection};
use crate::train::optim::Optimizer;

/// Rows per evaluation batch. Fixed (not the training batch) so that an
/// evaluation is a function of θ_D and the split alone.
pub const EVAL_BATCH: usize = 500;

/// Wall time spent in each part of training.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timing {
    /// Filling mini-batches (shuffled gather, pixel standardisation).
    pub data: Duration,
    /// θ_D ← θ_0 + P·θ_d and g_d ← Pᵀ·∇θ_D (zero for full-space training).
    pub projection: Duration,
    /// Forward and backward passes of the network.
    pub network: Duration,
    /// The optimiser step.
    pub optimizer: Duration,
    /// Test-set (and validation-set) evaluation after each epoch.
    pub eval: Duration,
}

impl Timing {
    /// Data + projection + network + optimiser (evaluation excluded).
    pub fn train_total(&self) -> Duration {
        self.data + self.projection + self.network + self.optimizer
    }

    fn add(&mut self, o: &Timing) {
        self.data += o.data;
        self.projection += o.projection;
        self.network += o.network;
        self.optimizer += o.optimizer;
        self.eval += o.eval;
    }

    /// One line: each part in seconds and as a share of the training time.
    pub fn summary(&self) -> String {
        let t = self.train_total().as_secs_f64().max(1e-12);
        let part = |name: &str, d: Duration| {
            format!(
                "{name} {:.3} s ({:.1} %)",
                d.as_secs_f64(),
                100.0 * d.as_secs_f64() / t
            )
        };
        format!(
            "{}, {}, {}, {}; eval {:.3} s",
            part("data", self.data),
            part("projection", self.projection),
            part("network", self.network),
            part("optimiser", self.optimizer),
            self.eval.as_secs_f64()
        )
    }
}

/// What one epoch achieved.
#[derive(Clone, Debug)]
pub struct EpochReport {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the epoch's mini-batches (weighted by batch
    /// size; includes the L2 term), measured while training.
    pub train_loss: f64,
    /// Mean cross-entropy on the test set after the epoch.
    pub test_loss: f64,
    /// Test accuracy after the epoch, `test_correct / test_examples`.
    pub test_accuracy: f64,
    /// Correctly classified test examples.
    pub test_correct: usize,
    /// Validation accuracy, if a validation split was held out.
    pub validation_accuracy: Option<f64>,
    /// Accuracy on the training split after this epoch ([`Metric::Train`]
    /// runs only).
    pub train_accuracy: Option<f64>,
    /// Training wall time of the epoch (evaluation excluded), seconds.
    pub train_seconds: f64,
    /// Training examples per second of training wall time.
    pub examples_per_sec: f64,
    /// The epoch's timing split.
    pub timing: Timing,
}

/// The outcome of [`train`].
#[derive(Clone, Debug)]
pub struct RunResult {
    /// The configuration that was trained.
    pub config: TrainConfig,
    /// D, the number of network parameters.
    pub big_dim: usize,
    /// d (= D for full-space training).
    pub small_dim: usize,
    /// The trained parameters: θ_d, or θ_D for full-space training.
    pub params: Vec<f32>,
    /// One report per epoch.
    pub epochs: Vec<EpochReport>,
    /// Total timing split.
    pub timing: Timing,
    /// Training examples per epoch.
    pub train_examples: usize,
    /// Test examples.
    pub test_examples: usize,
    /// Wall time of the whole run including evaluation, seconds.
    pub seconds: f64,
}

impl RunResult {
    /// The report of the last epoch.
    ///
    /// # Panics
    /// Never for a result made by [`train`] (at least one epoch).
    pub fn last(&self) -> &EpochReport {
        self.epochs.last().expect("a run has at least one epoch")
    }

    /// Training examples per second over the whole run (evaluation excluded).
    pub fn examples_per_sec(&self) -> f64 {
        (self.train_examples * self.epochs.len()) as f64
            / self.timing.train_total().as_secs_f64().max(1e-12)
    }
}

/// θ_0, P and the network of one configuration, with every buffer a step
/// needs. Memory O(D + d + batch·activations) plus P's own.
pub struct Trainer {
    cfg: TrainConfig,
    net: Network,
    eval_net: Network,
    proj: Option<Box<dyn Projection>>,
    theta0: Vec<f32>,
    theta: Vec<f32>,
    small: Vec<f32>,
    grad: Vec<f32>,
    small_grad: Vec<f32>,
    opt: Optimizer,
    x: Vec<f32>,
    y: Vec<u8>,
    ex: Vec<f32>,
    ey: Vec<u8>,
    /// T, the steps the learning-rate schedule spans.
    total_steps: u64,
}

/// Builds the network for `arch` with room for `max_batch` rows.
pub fn network(arch: &Arch, max_batch: usize) -> Result<Network, TrainError> {
    Network::new(arch, max_batch).map_err(|source| TrainError::Network {
        model: arch.name(),
        source,
    })
}

/// Builds P for `spec` (None for full-space training), checking 1 ≤ d ≤ D.
pub fn projection_for(
    spec: ProjSpec,
    big_dim: usize,
    small_dim: usize,
    seed: u64,
) -> Result<Option<Box<dyn Projection>>, TrainError> {
    match spec {
        ProjSpec::None => Ok(None),
        ProjSpec::Kind(kind) => {
            if small_dim == 0 || small_dim > big_dim {
                return Err(TrainError::config(
                    "--dim",
                    format!(
                        "d = {small_dim} must be between 1 and D = {big_dim} (the model's parameter count)"
                    ),
                ));
            }
            projection::build(kind, big_dim, small_dim, seed)
                .map(Some)
                .map_err(|source| TrainError::Projection {
                    kind: spec.name().into(),
                    big: big_dim,
                    small: small_dim,
                    source,
                })
        }
    }
}

/// θ_D ← θ_0 + P·params (or θ_D ← params when there is no P). O(D) + one P·x.
pub fn compose_theta(
    theta0: &[f32],
    proj: Option<&mut Box<dyn Projection>>,
    params: &[f32],
    theta: &mut [f32],
) {
    match proj {
        Some(p) => p.forward_from(theta0, params, theta),
        None => theta.copy_from_slice(params),
    }
}

/// Evaluates `theta` on every example of `split` in dataset order, in fixed
/// batches of [`EVAL_BATCH`] rows; `x`, `y` are buffers of at least
/// `EVAL_BATCH·784` and `EVAL_BATCH` entries and `net` must hold
/// `EVAL_BATCH` rows. Returns (sum of cross-entropy losses, correct). A
/// deterministic function of θ and the split. O(len · forward cost).
pub fn evaluate_split(
    net: &mut Network,
    theta: &[f32],
    split: &Split,
    x: &mut [f32],
    y: &mut [u8],
) -> (f64, usize) {
    let n = split.len();
    let mut loss = 0.0f64;
    let mut correct = 0usize;
    let mut start = 0;
    while start < n {
        let count = EVAL_BATCH.min(n - start);
        split.fill_batch(start, count, &mut x[..count * IMAGE_LEN], &mut y[..count]);
        let (l, c) = net.evaluate(theta, &x[..count * IMAGE_LEN], &y[..count]);
        loss += l;
        correct += c;
        start += count;
    }
    (loss, correct)
}

impl Trainer {
    /// Builds θ_0 (from `cfg.seed`), P (from `cfg.proj_seed`), the optimiser
    /// and every buffer. Errors: invalid configuration, unknown model, d > D,
    /// projection over its memory budget. O(D) plus P's construction.
    pub fn new(cfg: &TrainConfig) -> Result<Trainer, TrainError> {
        cfg.validate()?;
        let net = network(&cfg.arch, cfg.batch)?;
        let eval_net = network(&cfg.arch, EVAL_BATCH)?;
        let big = net.num_params();
        let mut theta0 = vec![0.0f32; big];
        net.init(cfg.seed, &mut theta0);
        let proj = projection_for(cfg.proj, big, cfg.dim, cfg.proj_seed)?;
        let small_dim = if proj.is_some() { cfg.dim } else { big };
        let small = match cfg.proj {
            ProjSpec::None => theta0.clone(),
            ProjSpec::Kind(_) => vec![0.0f32; small_dim],
        };
        let opt = Optimizer::new(cfg.optimizer, cfg.lr, small_dim);
        Ok(Trainer {
            cfg: cfg.clone(),
            net,
            eval_net,
            proj,
            theta: theta0.clone(),
            theta0,
            small,
            grad: vec![0.0f32; big],
            small_grad: vec![
                0.0f32;
                if cfg.proj == ProjSpec::None {
                    0
                } else {
                    small_dim
                }
            ],
            opt,
            x: vec![0.0f32; cfg.batch * IMAGE_LEN],
            y: vec![0u8; cfg.batch],
            ex: vec![0.0f32; EVAL_BATCH * IMAGE_LEN],
            ey: vec![0u8; EVAL_BATCH],
            total_steps: 0,
        })
    }

    /// Sets T, the number of steps the learning-rate schedule spans
    /// ([`train`] sets it to epochs × batches per epoch; a [`Trainer`] used
    /// directly with a cosine schedule must call this before its first
    /// [`Trainer::step`], which panics otherwise). O(1).
    pub fn set_total_steps(&mut self, total: u64) {
        self.total_steps = total.max(1);
    }

    /// D, the network's parameter count.
    pub fn big_dim(&self) -> usize {
        self.theta0.len()
    }

    /// d (= D for full-space training).
    pub fn small_dim(&self) -> usize {
        self.small.len()
    }

    /// The trained parameters: θ_d, or θ_D for full-space training.
    pub fn params(&self) -> &[f32] {
        &self.small
    }

    /// Mutable access to the trained parameters (tests, warm starts).
    pub fn params_mut(&mut self) -> &mut [f32] {
        &mut self.small
    }

    /// θ_0, the frozen initialisation.
    pub fn theta0(&self) -> &[f32] {
        &self.theta0
    }

    /// θ_D as last composed (call [`Trainer::refresh_theta`] after training
    /// steps to bring it up to date).
    pub fn theta(&self) -> &[f32] {
        &self.theta
    }

    /// θ_D ← θ_0 + P·θ_d (or θ_D ← θ_D-parameters). O(D) + one P·x.
    pub fn refresh_theta(&mut self) {
        compose_theta(
            &self.theta0,
            self.proj.as_mut(),
            &self.small,
            &mut self.theta,
        );
    }

    /// The loss on one batch at the current parameters and its gradient with
    /// respect to the trained parameters (g_d = Pᵀ·∇θ_D, or ∇θ_D itself),
    /// written to `out` (length d). Allocates nothing. Used by the gradient
    /// tests; [`Trainer::step`] is the same computation plus the update.
    pub fn loss_and_param_grad(&mut self, x: &[f32], y: &[u8], out: &mut [f32]) -> f32 {
        self.refresh_theta();
        let loss = self
            .net
            .loss_grad(&self.theta, x, y, self.cfg.l2, &mut self.grad);
        match self.proj.as_mut() {
            Some(p) => p.adjoint(&self.grad, out),
            None => out.copy_from_slice(&self.grad),
        }
        loss
    }

    /// One optimiser step on the batch (x, y) (rows = y.len()); adds the time
    /// of each part to `timing` and returns the batch loss. Allocates nothing.
    pub fn step(&mut self, x: &[f32], y: &[u8], timing: &mut Timing) -> f32 {
        let c = &self.cfg;
        assert!(
            c.schedule == LrSchedule::Constant || self.total_steps > 0,
            "Trainer::step: a cosine schedule needs set_total_steps first"
        );
        self.opt
            .set_lr(c.schedule.lr_at(c.lr, self.opt.steps(), self.total_steps));
        match self.proj.as_mut() {
            Some(p) => {
                let t0 = Instant::now();
                p.forward_from(&self.theta0, &self.small, &mut self.theta);
                let t1 = Instant::now();
                let loss = self
                    .net
                    .loss_grad(&self.theta, x, y, self.cfg.l2, &mut self.grad);
                let t2 = Instant::now();
                p.adjoint(&self.grad, &mut self.small_grad);
                let t3 = Instant::now();
                self.opt.step(&mut self.small, &self.small_grad);
                let t4 = Instant::now();
                timing.projection += (t1 - t0) + (t3 - t2);
                timing.network += t2 - t1;
                timing.optimizer += t4 - t3;
                loss
            }
            None => {
                let t1 = Instant::now();
                let loss = self
                    .net
                    .loss_grad(&self.small, x, y, self.cfg.l2, &mut self.grad);
                let t2 = Instant::now();
                self.opt.step(&mut self.small, &self.grad);
                let t3 = Instant::now();
                timing.network += t2 - t1;
                timing.optimizer += t3 - t2;
                loss
            }
        }
    }

    /// One pass over the batcher's split (the batcher's epoch must have been
    /// started). Returns the mean batch loss (weighted by rows) and the
    /// number of examples. Calls `on_batch` after each step.
    pub fn train_epoch(
        &mut self,
        batcher: &mut Batcher,
        timing: &mut Timing,
        on_batch: &mut dyn FnMut(),
    ) -> (f64, usize) {
        let mut loss_sum = 0.0f64;
        let mut seen = 0usize;
        loop {
            let t0 = Instant::now();
            let Some(rows) = batcher.next_batch(&mut self.x, &mut self.y) else {
                timing.data += t0.elapsed();
                break;
            };
            timing.data += t0.elapsed();
            // The buffers are moved out for the call so that `step` can borrow
            // `self` mutably; moving a Vec does not allocate.
            let x = std::mem::take(&mut self.x);
            let y = std::mem::take(&mut self.y);
            let loss = self.step(&x[..rows * IMAGE_LEN], &y[..rows], timing);
            self.x = x;
            self.y = y;
            loss_sum += loss as f64 * rows as f64;
            seen += rows;
            on_batch();
        }
        (loss_sum / seen.max(1) as f64, seen)
    }

    /// Evaluates θ_D = θ_0 + P·θ_d (recomposed first) on `split`; returns
    /// (mean cross-entropy, correct). Deterministic. O(len · forward cost).
    pub fn evaluate(&mut self, split: &Split) -> (f64, usize) {
        self.refresh_theta();
        let (loss, correct) = evaluate_split(
            &mut self.eval_net,
            &self.theta,
            split,
            &mut self.ex,
            &mut self.ey,
        );
        (loss / split.len().max(1) as f64, correct)
    }
}

/// Trains `cfg` on `data` for `cfg.epochs` epochs, evaluating on the test
/// set (and the validation split, if any) after each epoch, and reports to
/// `observer`. Errors: invalid configuration, d > D, an empty training set,
/// a diverged loss. Time O(epochs · (N_train + N_test) · network cost +
/// steps · projection cost).
///
/// Call it from a worker of a rayon pool (inside `ThreadPool::install`, as
/// `idim` does): every parallel kernel of a step then forks from a worker,
/// which on two cores saves 10–15 % of fc's epoch against calling it from a
/// thread outside the pool.
pub fn train(
    cfg: &TrainConfig,
    data: &Dataset,
    observer: &mut dyn Observer,
) -> Result<RunResult, TrainError> {
    let start = Instant::now();
    let mut trainer = Trainer::new(cfg)?;
    if data.train.is_empty() {
        return Err(TrainError::config(
            "dataset",
            "the training split is empty; check --subset and --validation",
        ));
    }
    if data.test.is_empty() {
        return Err(TrainError::config("dataset", "the test split is empty"));
    }
    let mut batcher = Batcher::new(&data.train, cfg.batch, cfg.data_seed);
    let batches = data.train.len().div_ceil(cfg.batch);
    trainer.set_total_steps((cfg.epochs * batches) as u64);
    observer.run_start(cfg, trainer.big_dim(), trainer.small_dim(), batches);
    let mut total = Timing::default();
    let mut epochs = Vec::with_capacity(cfg.epochs);
    for epoch in 1..=cfg.epochs {
        let mut timing = Timing::default();
        batcher.start_epoch(epoch as u64 - 1);
        let (train_loss, seen) =
            trainer.train_epoch(&mut batcher, &mut timing, &mut || observer.batch_done());
        if !train_loss.is_finite() {
            return Err(TrainError::Diverged {
                epoch,
                loss: train_loss as f32,
                lr: cfg.lr,
            });
        }
        let t_eval = Instant::now();
        let (test_loss, test_correct) = trainer.evaluate(&data.test);
        let validation_accuracy = data.validation.as_ref().map(|v| {
            let (_, c) = trainer.evaluate(v);
            c as f64 / v.len().max(1) as f64
        });
        let train_accuracy = (cfg.metric == Metric::Train).then(|| {
            let (_, c) = trainer.evaluate(&data.train);
            c as f64 / data.train.len() as f64
        });
        timing.eval = t_eval.elapsed();
        let train_seconds = timing.train_total().as_secs_f64();
        let report = EpochReport {
            epoch,
            train_loss,
            test_loss,
            test_accuracy: test_correct as f64 / data.test.len() as f64,
            test_correct,
            validation_accuracy,
            train_accuracy,
            train_seconds,
            examples_per_sec: seen as f64 / train_seconds.max(1e-12),
            timing,
        };
        total.add(&timing);
        observer.epoch_done(&report);
        epochs.push(report);
    }
    let result = RunResult {
        config: cfg.clone(),
        big_dim: trainer.big_dim(),
        small_dim: trainer.small_dim(),
        params: trainer.params().to_vec(),
        epochs,
        timing: total,
        train_examples: data.train.len(),
        test_examples: data.test.len(),
        seconds: start.elapsed().as_secs_f64(),
    };
    observer.run_done(&result);
    Ok(result)
}
