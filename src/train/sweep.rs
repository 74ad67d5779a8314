//! The d sweep: the full-space baseline, then every (d, seed) configuration;
//! resumable (`--resume`) and shardable (`--shard i/n`).
//!
//! The configurations, in order: the baseline runs (projection none, seed
//! indices 0..baseline_seeds), then for each d of the list and each seed
//! index s in 0..seeds a subspace run with θ_0 seed = seed + s, P seed =
//! proj_seed + s and shuffling seed = data_seed + s. Shard i of n (0 ≤ i < n)
//! runs the configurations whose position in that list is ≡ i (mod n), so n
//! machines together run each configuration exactly once.
//!
//! Each finished run is appended to `results.csv` and `results.jsonl` (or
//! `results.shard-i-of-n.*`) with an fsync, so an interrupted sweep loses at
//! most the run in progress; `--resume` skips the configurations already
//! there. At the end `summary.json` and `accuracy.svg` are written atomically.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::analysis;
use super::progress::{Console, run_label};
use super::results::{self, Appender, Baseline, GroupSummary, Row};
use super::subspace::{RunResult, network, train};
use super::{Metric, ProjSpec, TrainConfig, TrainError};
use crate::data::Dataset;
use crate::fsutil;

/// Largest number of d values a sweep accepts (guards against typos like
/// `1:1000000:1`).
pub const MAX_DIMS: usize = 10_000;

/// The default d list of `idim sweep` (and of `cargo run --release`).
pub const DEFAULT_DIMS: &str = "100:1500:100";
/// The default learning rate of the full-space baseline.
pub const DEFAULT_BASELINE_LR: f32 = 1e-3;

/// The default subspace-run template of `idim sweep`: fc, Fastfood, Adam
/// (lr 1e-2, β = 0.9, 0.999), batch 128, no L2, 10 epochs (the schedule
/// that reaches ≈ 90 % at fc d = 750, as the paper's 100 epochs at lr 1e-3 do).
pub fn default_template() -> TrainConfig {
    TrainConfig::default_subspace()
}

/// Parses a list of subspace dimensions: comma-separated items, each a
/// number `d` or an inclusive range `start:stop:step` (e.g. `100:1500:100`).
/// The result is sorted and deduplicated. Errors name the offending item.
pub fn parse_dims(s: &str) -> Result<Vec<usize>, TrainError> {
    let bad = |item: &str, why: &str| {
        TrainError::config(
            "--dims",
            format!(
                "{item:?} {why}; use a list like 100,200,300 or a range start:stop:step like 100:1500:100"
            ),
        )
    };
    let mut out = Vec::new();
    if s.trim().is_empty() {
        return Err(bad(s, "is empty"));
    }
    for item in s.split(',') {
        let item = item.trim();
        let parts: Vec<&str> = item.split(':').collect();
        let num = |p: &str| {
            p.trim()
                .parse::<usize>()
                .map_err(|_| bad(item, "is not a whole number"))
        };
        match parts.len() {
            1 => out.push(num(parts[0])?),
            3 => {
                let (a, b, step) = (num(parts[0])?, num(parts[1])?, num(parts[2])?);
                if step == 0 {
                    return Err(bad(item, "has step 0"));
                }
                if a > b {
                    return Err(bad(item, "has start > stop"));
                }
                if (b - a) / step + 1 > MAX_DIMS {
                    return Err(bad(item, "has too many values"));
                }
                let mut d = a;
                while d <= b {
                    out.push(d);
                    d += step;
                }
            }
            _ => return Err(bad(item, "is neither a number nor start:stop:step")),
        }
        if out.len() > MAX_DIMS {
            return Err(bad(s, "has too many values"));
        }
    }
    if out.contains(&0) {
        return Err(bad(
            s,
            "contains d = 0 (a subspace needs at least one dimension)",
        ));
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Parses `i/n` with 0 ≤ i < n.
pub fn parse_shard(s: &str) -> Result<(usize, usize), TrainError> {
    let err = || {
        TrainError::config(
            "--shard",
            format!(
                "{s:?} must be i/n with 0 ≤ i < n, e.g. 0/4 (Slurm: --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)"
            ),
        )
    };
    let (a, b) = s.split_once('/').ok_or_else(err)?;
    let i: usize = a.trim().parse().map_err(|_| err())?;
    let n: usize = b.trim().parse().map_err(|_| err())?;
    if n == 0 || i >= n {
        return Err(err());
    }
    Ok((i, n))
}

/// Everything a sweep needs besides the dataset.
#[derive(Clone, Debug)]
pub struct SweepConfig {
    /// The subspace runs' configuration (its `dim` is replaced by each d and
    /// its seeds are offsets).
    pub template: TrainConfig,
    /// Learning rate of the full-space baseline (full-space training wants a
    /// smaller step than subspace training).
    pub baseline_lr: f32,
    /// Full-space baseline runs (0 = none: use `--baseline <number>` or a
    /// baseline row from another file).
    pub baseline_seeds: usize,
    /// The swept d values, sorted.
    pub dims: Vec<usize>,
    /// Seeds per d.
    pub seeds: usize,
    /// The headline baseline.
    pub baseline: Baseline,
    /// Output directory.
    pub out_dir: PathBuf,
    /// Skip configurations already in the results file.
    pub resume: bool,
    /// Discard an existing results file.
    pub fresh: bool,
    /// (i, n): run every n-th configuration starting at i.
    pub shard: (usize, usize),
    /// The dataset variant's label for the rows, e.g. `mnist`.
    pub dataset: String,
}

/// What a sweep produced.
#[derive(Clone, Debug)]
pub struct SweepOutcome {
    /// Every row of this results file (earlier and new runs).
    pub rows: Vec<Row>,
    /// The summaries.
    pub groups: Vec<GroupSummary>,
    /// Runs trained now.
    pub trained: usize,
    /// Runs skipped because they were already in the file.
    pub skipped: usize,
    /// Files written: CSV, JSON Lines, JSON summary, SVG plot.
    pub files: Vec<PathBuf>,
}

/// All configurations of the sweep in order (before sharding).
pub fn configurations(sc: &SweepConfig) -> Vec<TrainConfig> {
    let mut v = Vec::new();
    for s in 0..sc.baseline_seeds as u64 {
        let mut c = sc.template.clone();
        c.proj = ProjSpec::None;
        c.lr = sc.baseline_lr;
        c.seed = sc.template.seed + s;
        c.proj_seed = 0;
        c.data_seed = sc.template.data_seed + s;
        c.dim = 0;
        v.push(c);
    }
    for &d in &sc.dims {
        for s in 0..sc.seeds as u64 {
            let mut c = sc.template.clone();
            c.dim = d;
            c.seed = sc.template.seed + s;
            c.proj_seed = sc.template.proj_seed + s;
            c.data_seed = sc.template.data_seed + s;
            v.push(c);
        }
    }
    v
}

/// The results row of a finished run.
pub fn row_of(r: &RunResult, dataset: &str) -> Row {
    let last = r.last();
    Row {
        model: r.config.arch.name(),
        proj: r.config.proj.name().into(),
        big_dim: r.big_dim,
        dim: r.small_dim,
        seed: r.config.seed,
        proj_seed: r.config.proj_seed,
        data_seed: r.config.data_seed,
        epochs: r.config.epochs,
        batch: r.config.batch,
        optimizer: r.config.optimizer_name().replace(',', ";"),
        l2: r.config.l2,
        dataset: dataset.into(),
        train_examples: r.train_examples,
        test_examples: r.test_examples,
        test_correct: last.test_correct,
        test_accuracy: last.test_accuracy,
        test_loss: last.test_loss,
        train_loss: last.train_loss,
        seconds: r.seconds,
        examples_per_sec: r.examples_per_sec(),
        train_accuracy: last.train_accuracy,
        curve: r.epochs.iter().map(|e| e.test_accuracy).collect(),
    }
}

/// The [`Row::key`] a configuration will have once trained.
pub fn key_of(cfg: &TrainConfig, big_dim: usize, dataset: &str, train_examples: usize) -> String {
    Row {
        model: cfg.arch.name(),
        proj: cfg.proj.name().into(),
        big_dim,
        dim: if cfg.proj == ProjSpec::None {
            big_dim
        } else {
            cfg.dim
        },
        seed: cfg.seed,
        proj_seed: cfg.proj_seed,
        data_seed: cfg.data_seed,
        epochs: cfg.epochs,
        batch: cfg.batch,
        optimizer: cfg.optimizer_name().replace(',', ";"),
        l2: cfg.l2,
        dataset: dataset.into(),
        train_examples,
        test_examples: 0,
        test_correct: 0,
        test_accuracy: 0.0,
        test_loss: 0.0,
        train_loss: 0.0,
        seconds: 0.0,
        examples_per_sec: 0.0,
        train_accuracy: (cfg.metric == Metric::Train).then_some(0.0),
        curve: Vec::new(),
    }
    .key()
}

/// The results file names of a shard: `results.csv` / `results.jsonl` for
/// an unsharded sweep, `results.shard-i-of-n.{csv,jsonl}` otherwise.
pub fn result_paths(out_dir: &Path, shard: (usize, usize)) -> (PathBuf, PathBuf) {
    let stem = if shard.1 == 1 {
        "results".to_string()
    } else {
        format!("results.shard-{}-of-{}", shard.0, shard.1)
    };
    (
        out_dir.join(format!("{stem}.csv")),
        out_dir.join(format!("{stem}.jsonl")),
    )
}

/// Writes `summary.json` (or `summary.shard-…json`) and `accuracy.svg` for
/// `rows` into `dir`, atomically; returns their paths.
pub fn write_summary(
    dir: &Path,
    stem: &str,
    rows: &[Row],
    groups: &[GroupSummary],
    metric: Metric,
) -> Result<Vec<PathBuf>, TrainError> {
    let json = dir.join(format!("{stem}.json"));
    let svg = dir.join(format!("{}.svg", stem.replace("summary", "accuracy")));
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| TrainError::Io { path: p, source }
    };
    fsutil::write_atomic(&json, results::summary_json(groups, rows.len()).as_bytes())
        .map_err(io(&json))?;
    let accuracy = match metric {
        Metric::Test => "test",
        Metric::Train => "training",
    };
    fsutil::write_atomic(
        &svg,
        results::chart(groups, rows, accuracy).to_svg().as_bytes(),
    )
    .map_err(io(&svg))?;
    Ok(vec![json, svg])
}

/// Checks a sweep configuration before any data is loaded: the template,
/// seeds, d list (every d ≤ D), baseline learning rate, resume/fresh. O(1)
/// plus building the model's layout.
pub fn validate(sc: &SweepConfig) -> Result<(), TrainError> {
    sc.template.validate()?;
    if sc.seeds == 0 {
        return Err(TrainError::config("--seeds", "must be at least 1"));
    }
    if sc.dims.is_empty() {
        return Err(TrainError::config("--dims", "no d values to sweep"));
    }
    if !(sc.baseline_lr > 0.0 && sc.baseline_lr.is_finite()) {
        return Err(TrainError::config(
            "--baseline-lr",
            format!("{} must be a positive finite number", sc.baseline_lr),
        ));
    }
    if sc.resume && sc.fresh {
        return Err(TrainError::config(
            "--resume",
            "--resume and --fresh contradict each other; pass one",
        ));
    }
    let big = network(&sc.template.arch, 1)?.num_params();
    if let Some(&d) = sc.dims.iter().find(|&&d| d > big) {
        return Err(TrainError::config(
            "--dims",
            format!(
                "d = {d} exceeds D = {big}, the parameter count of {}",
                sc.template.arch.name()
            ),
        ));
    }
    Ok(())
}

/// Runs the sweep (this shard of it) on `data`, appending each run to the
/// results files. Errors: invalid configuration, d > D, unwritable output
/// directory, existing results without `resume` or `fresh`, a failed run.
/// Time: Σ over configurations of one training run.
pub fn run_sweep(
    sc: &SweepConfig,
    data: &Dataset,
    console: &mut Console,
) -> Result<SweepOutcome, TrainError> {
    validate(sc)?;
    let big = network(&sc.template.arch, 1)?.num_params();
    std::fs::create_dir_all(&sc.out_dir).map_err(|source| TrainError::Io {
        path: sc.out_dir.clone(),
        source,
    })?;
    let (csv, jsonl) = result_paths(&sc.out_dir, sc.shard);
    let existing = if csv.exists() && !sc.fresh {
        results::read_csv(&csv)?
    } else {
        Vec::new()
    };
    if !existing.is_empty() && !sc.resume {
        return Err(TrainError::config(
            "output",
            format!(
                "{} already holds {} runs; pass --resume to continue that sweep, --fresh to discard it, or choose another --out",
                csv.display(),
                existing.len()
            ),
        ));
    }
    let done: HashSet<String> = existing.iter().map(Row::key).collect();
    let mut appender = Appender::open(&csv, &jsonl, sc.fresh)?;
    let all = configurations(sc);
    let mine: Vec<&TrainConfig> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| i % sc.shard.1 == sc.shard.0)
        .map(|(_, c)| c)
        .collect();
    let train_n = data.train.len();
    let mut rows = existing;
    let (mut trained, mut skipped) = (0, 0);
    console.sweep_start(mine.len());
    for cfg in mine {
        let label = run_label(
            cfg,
            if cfg.proj == ProjSpec::None {
                big
            } else {
                cfg.dim
            },
        );
        if done.contains(&key_of(cfg, big, &sc.dataset, train_n)) {
            skipped += 1;
            console.sweep_inc(&format!("skipped {label}"));
            continue;
        }
        let result = train(cfg, data, console)?;
        let row = row_of(&result, &sc.dataset);
        appender.append(&row)?;
        console.line(&format!(
            "{label}: test accuracy {:.2} % after {} epochs, {:.1} s, {:.0} examples/s ({})",
            100.0 * row.test_accuracy,
            row.epochs,
            row.seconds,
            row.examples_per_sec,
            result.timing.summary()
        ));
        rows.push(row);
        trained += 1;
        console.sweep_inc(&label);
    }
    console.finish();
    let view = analysis::for_metric(&rows, sc.template.metric);
    let groups = results::summarise(&view, sc.baseline);
    let stem = if sc.shard.1 == 1 {
        "summary".to_string()
    } else {
        format!("summary.shard-{}-of-{}", sc.shard.0, sc.shard.1)
    };
    let mut files = vec![csv, jsonl];
    files.extend(write_summary(
        &sc.out_dir,
        &stem,
        &view,
        &groups,
        sc.template.metric,
    )?);
    Ok(SweepOutcome {
        rows,
        groups,
        trained,
        skipped,
        files,
    })
}

/// `idim report`: merges results files (e.g. the shards of one sweep),
/// dropping duplicate runs, and summarises them. Errors name the file.
pub fn merge_files(paths: &[PathBuf]) -> Result<Vec<Row>, TrainError> {
    if paths.is_empty() {
        return Err(TrainError::config(
            "FILES",
            "no results files given; pass one or more results*.csv files",
        ));
    }
    let mut seen = HashSet::new();
    let mut rows = Vec::new();
    for p in paths {
        for r in results::read_csv(p)? {
            if seen.insert(r.key()) {
                rows.push(r);
            }
        }
    }
    Ok(rows)
}
