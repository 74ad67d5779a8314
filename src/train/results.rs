//! Sweep results: one row per run, appended to CSV and JSON Lines files run by
//! run; the per-d summary, d_int90 and d_int100; the table and the plot.
//!
//! # d_int90
//!
//! For each d the accuracy is the mean test accuracy over its seeds. With a
//! baseline accuracy b, the threshold is t = 0.9·b and
//!
//! - d_int90 = the smallest swept d whose mean accuracy is ≥ t;
//! - the interpolated crossing is d_lo + (t − a_lo)/(a_hi − a_lo)·(d_hi − d_lo)
//!   between that d (d_hi, a_hi) and the swept d just below it (d_lo, a_lo);
//! - d_int100 = the smallest d whose mean accuracy is ≥ b.
//!
//! Two baselines are reported, as in the authors' code: **measured** (the
//! mean accuracy of the full-space runs of the same model and data: the
//! default) and **global** (a fixed number, 1.0 unless `--baseline` says
//! otherwise: an absolute 90 % line, which the paper's MNIST values fc 750
//! and LeNet 290 use).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use super::TrainError;
use super::restore::json_str;
use crate::plot::{Chart, Series};

/// The CSV header; [`Row::csv_line`] writes the fields in this order.
pub const CSV_HEADER: &str = "model,proj,D,d,seed,proj_seed,data_seed,epochs,batch,optimizer,l2,dataset,train_examples,test_examples,test_correct,test_accuracy,test_loss,train_loss,seconds,examples_per_sec,train_accuracy,curve";

/// The header of results files written before the `train_accuracy` and
/// `curve` columns existed; [`read_csv`] still reads them (their rows have no
/// training accuracy and no curve).
pub const LEGACY_CSV_HEADER: &str = "model,proj,D,d,seed,proj_seed,data_seed,epochs,batch,optimizer,l2,dataset,train_examples,test_examples,test_correct,test_accuracy,test_loss,train_loss,seconds,examples_per_sec";

/// One finished run.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Model name (`Arch::name()`).
    pub model: String,
    /// `none`, `dense`, `sparse` or `fastfood`.
    pub proj: String,
    /// D.
    pub big_dim: usize,
    /// d (= D for `none`).
    pub dim: usize,
    /// Seed of θ_0.
    pub seed: u64,
    /// Seed of P.
    pub proj_seed: u64,
    /// Shuffling seed.
    pub data_seed: u64,
    /// Epochs trained.
    pub epochs: usize,
    /// Batch size.
    pub batch: usize,
    /// Optimiser and learning rate, e.g. `adam(lr=0.01;b1=0.9;b2=0.999)`.
    pub optimizer: String,
    /// L2 coefficient.
    pub l2: f32,
    /// Dataset variant, e.g. `mnist` or `mnist/subset=2000`.
    pub dataset: String,
    /// Training examples.
    pub train_examples: usize,
    /// Test examples.
    pub test_examples: usize,
    /// Correct test predictions after the last epoch.
    pub test_correct: usize,
    /// Test accuracy after the last epoch.
    pub test_accuracy: f64,
    /// Mean test cross-entropy after the last epoch.
    pub test_loss: f64,
    /// Mean training loss of the last epoch.
    pub train_loss: f64,
    /// Wall time of the run, seconds.
    pub seconds: f64,
    /// Training examples per second.
    pub examples_per_sec: f64,
    /// Accuracy on the training split after the last epoch (runs with
    /// `--metric train` only).
    pub train_accuracy: Option<f64>,
    /// Test accuracy after each epoch (empty in legacy files). With a constant
    /// learning rate, entry e − 1 is bit for bit the final accuracy of the same
    /// run cut to e epochs, which [`crate::train::analysis::at_epoch`] uses.
    pub curve: Vec<f64>,
}

impl Row {
    /// The configuration part of the row: two rows with the same key are
    /// the same run (used by `--resume` and by `idim report` to drop
    /// duplicates).
    pub fn key(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
            self.model,
            self.proj,
            self.dim,
            self.seed,
            self.proj_seed,
            self.data_seed,
            self.epochs,
            self.batch,
            self.optimizer,
            self.l2,
            self.dataset,
            self.train_examples
        ) + if self.train_accuracy.is_some() {
            "|metric=train"
        } else {
            ""
        }
    }

    /// The schedule part of the configuration, e.g.
    /// `10 epochs, batch 128, adam(lr=0.01;b1=0.9;b2=0.999)`: the rows of one
    /// summary group share it. O(1).
    pub fn schedule(&self) -> String {
        format!(
            "{} epochs, batch {}, {}",
            self.epochs, self.batch, self.optimizer
        )
    }

    /// The row as one CSV line (no newline). No field contains a comma.
    pub fn csv_line(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            self.model,
            self.proj,
            self.big_dim,
            self.dim,
            self.seed,
            self.proj_seed,
            self.data_seed,
            self.epochs,
            self.batch,
            self.optimizer,
            self.l2,
            self.dataset,
            self.train_examples,
            self.test_examples,
            self.test_correct,
            self.test_accuracy,
            self.test_loss,
            self.train_loss,
            self.seconds,
            self.examples_per_sec,
            self.train_accuracy.map_or(String::new(), |a| a.to_string()),
            self.curve
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(";")
        )
    }

    /// The row as one JSON object (no newline).
    pub fn json(&self) -> String {
        format!(
            "{{\"model\": {}, \"proj\": {}, \"D\": {}, \"d\": {}, \"seed\": {}, \"proj_seed\": {}, \"data_seed\": {}, \"epochs\": {}, \"batch\": {}, \"optimizer\": {}, \"l2\": {}, \"dataset\": {}, \"train_examples\": {}, \"test_examples\": {}, \"test_correct\": {}, \"accuracy\": {}, \"test_loss\": {}, \"train_loss\": {}, \"seconds\": {}, \"examples_per_sec\": {}, \"train_accuracy\": {}, \"curve\": [{}]}}",
            json_str(&self.model),
            json_str(&self.proj),
            self.big_dim,
            self.dim,
            self.seed,
            self.proj_seed,
            self.data_seed,
            self.epochs,
            self.batch,
            json_str(&self.optimizer),
            json_num(self.l2 as f64),
            json_str(&self.dataset),
            self.train_examples,
            self.test_examples,
            self.test_correct,
            json_num(self.test_accuracy),
            json_num(self.test_loss),
            json_num(self.train_loss),
            json_num(self.seconds),
            json_num(self.examples_per_sec),
            self.train_accuracy.map_or("null".into(), json_num),
            self.curve
                .iter()
                .map(|&a| json_num(a))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }

    /// Parses one CSV line written by [`Row::csv_line`] (22 fields), or by
    /// an older version (20 fields: no training accuracy, no curve).
    pub fn parse_csv(line: &str) -> Result<Row, String> {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 22 && f.len() != 20 {
            return Err(format!(
                "expected 22 (or, in files of older versions, 20) comma-separated fields, found {}",
                f.len()
            ));
        }
        fn p<T: std::str::FromStr>(s: &str, name: &str) -> Result<T, String> {
            s.trim()
                .parse()
                .map_err(|_| format!("field {name} = {s:?} is not a valid number"))
        }
        Ok(Row {
            model: f[0].to_string(),
            proj: f[1].to_string(),
            big_dim: p(f[2], "D")?,
            dim: p(f[3], "d")?,
            seed: p(f[4], "seed")?,
            proj_seed: p(f[5], "proj_seed")?,
            data_seed: p(f[6], "data_seed")?,
            epochs: p(f[7], "epochs")?,
            batch: p(f[8], "batch")?,
            optimizer: f[9].to_string(),
            l2: p(f[10], "l2")?,
            dataset: f[11].to_string(),
            train_examples: p(f[12], "train_examples")?,
            test_examples: p(f[13], "test_examples")?,
            test_correct: p(f[14], "test_correct")?,
            test_accuracy: p(f[15], "test_accuracy")?,
            test_loss: p(f[16], "test_loss")?,
            train_loss: p(f[17], "train_loss")?,
            seconds: p(f[18], "seconds")?,
            examples_per_sec: p(f[19], "examples_per_sec")?,
            train_accuracy: match f.get(20).map(|x| x.trim()) {
                None | Some("") => None,
                Some(x) => Some(p(x, "train_accuracy")?),
            },
            curve: match f.get(21).map(|x| x.trim()) {
                None | Some("") => Vec::new(),
                Some(x) => x
                    .split(';')
                    .map(|a| p(a, "curve"))
                    .collect::<Result<_, _>>()?,
            },
        })
    }
}

/// A finite number as JSON (NaN and ∞ become `null`).
pub fn json_num(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        "null".into()
    }
}

/// Reads every row of a results CSV (header first). A torn last line (an
/// interrupted append) is skipped; any other malformed line is an error
/// naming the file and line.
pub fn read_csv(path: &Path) -> Result<Vec<Row>, TrainError> {
    let io = |source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let lines: Vec<String> = BufReader::new(file)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(io)?;
    let mut rows = Vec::new();
    let n = lines.len();
    for (i, line) in lines.iter().enumerate() {
        if i == 0 {
            if line.trim() != CSV_HEADER && line.trim() != LEGACY_CSV_HEADER {
                return Err(TrainError::Results {
                    path: path.to_path_buf(),
                    line: 1,
                    message: format!(
                        "not an idim results file: the header should be {CSV_HEADER:?}"
                    ),
                });
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        match Row::parse_csv(line) {
            Ok(r) => rows.push(r),
            Err(_) if i + 1 == n => {} // torn final append from an interrupted run
            Err(message) => {
                return Err(TrainError::Results {
                    path: path.to_path_buf(),
                    line: i + 1,
                    message,
                });
            }
        }
    }
    Ok(rows)
}

/// Appends rows to a CSV and a JSON Lines file, flushing and syncing after
/// every row so an interrupted sweep loses at most the run in progress.
pub struct Appender {
    csv: File,
    jsonl: File,
    csv_path: PathBuf,
    jsonl_path: PathBuf,
}

impl Appender {
    /// Opens (creating if needed) `csv_path` and `jsonl_path` for appending;
    /// with `truncate` both start empty. Writes the CSV header to a new file.
    /// If the CSV ends in a torn line, a newline is added first.
    pub fn open(
        csv_path: &Path,
        jsonl_path: &Path,
        truncate: bool,
    ) -> Result<Appender, TrainError> {
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| TrainError::Io { path: p, source }
        };
        let mut opts = OpenOptions::new();
        opts.create(true);
        if truncate {
            opts.write(true).truncate(true);
        } else {
            opts.append(true);
        }
        let mut csv = opts.open(csv_path).map_err(io(csv_path))?;
        let mut jsonl = opts.open(jsonl_path).map_err(io(jsonl_path))?;
        let mut existing = std::fs::read(csv_path).map_err(io(csv_path))?;
        if existing.starts_with(format!("{LEGACY_CSV_HEADER}\n").as_bytes()) {
            // Rows with the new columns are about to be appended: give the
            // file the current header (its old rows stay as they are, two
            // fields short, which readers take as empty trailing fields).
            existing.splice(..LEGACY_CSV_HEADER.len(), CSV_HEADER.bytes());
            crate::fsutil::write_atomic(csv_path, &existing).map_err(io(csv_path))?;
            csv = opts.open(csv_path).map_err(io(csv_path))?;
        }
        if existing.is_empty() {
            writeln!(csv, "{CSV_HEADER}").map_err(io(csv_path))?;
        } else if existing.last() != Some(&b'\n') {
            writeln!(csv).map_err(io(csv_path))?;
        }
        let jexisting = std::fs::metadata(jsonl_path).map_err(io(jsonl_path))?.len();
        if jexisting > 0 {
            let j = std::fs::read(jsonl_path).map_err(io(jsonl_path))?;
            if j.last() != Some(&b'\n') {
                writeln!(jsonl).map_err(io(jsonl_path))?;
            }
        }
        csv.sync_all().map_err(io(csv_path))?;
        Ok(Appender {
            csv,
            jsonl,
            csv_path: csv_path.to_path_buf(),
            jsonl_path: jsonl_path.to_path_buf(),
        })
    }

    /// Appends one row to both files, then flushes and fsyncs them.
    pub fn append(&mut self, row: &Row) -> Result<(), TrainError> {
        let c = &self.csv_path;
        let j = &self.jsonl_path;
        let io = |p: &PathBuf| {
            let p = p.clone();
            move |source| TrainError::Io { path: p, source }
        };
        writeln!(self.csv, "{}", row.csv_line()).map_err(io(c))?;
        self.csv.flush().map_err(io(c))?;
        self.csv.sync_data().map_err(io(c))?;
        writeln!(self.jsonl, "{}", row.json()).map_err(io(j))?;
        self.jsonl.flush().map_err(io(j))?;
        self.jsonl.sync_data().map_err(io(j))?;
        Ok(())
    }
}

/// Accuracy statistics of one d (over seeds).
#[derive(Clone, Debug, PartialEq)]
pub struct DimStat {
    /// d.
    pub dim: usize,
    /// Runs (seeds).
    pub runs: usize,
    /// Mean test accuracy.
    pub mean: f64,
    /// Lowest test accuracy.
    pub min: f64,
    /// Highest test accuracy.
    pub max: f64,
    /// Mean wall time per run, seconds.
    pub seconds: f64,
    /// The accuracy of each run (seed), in file order.
    pub accs: Vec<f64>,
}

/// Where the accuracy curve crosses a threshold.
#[derive(Clone, Debug, PartialEq)]
pub struct Crossing {
    /// The accuracy the curve must reach.
    pub threshold: f64,
    /// The smallest swept d whose mean accuracy reaches it, if any.
    pub dim: Option<usize>,
    /// Linear interpolation between the bracketing swept values (None if
    /// the smallest swept d already reaches the threshold or none does).
    pub interpolated: Option<f64>,
    /// The bracketing swept values (d_lo, d_hi).
    pub bracket: Option<(usize, usize)>,
}

/// The first crossing of `threshold` by `stats` (sorted by d). O(len).
pub fn crossing(stats: &[DimStat], threshold: f64) -> Crossing {
    for (i, s) in stats.iter().enumerate() {
        if s.mean >= threshold {
            let (interpolated, bracket) = if i > 0 {
                let lo = &stats[i - 1];
                let t = ((threshold - lo.mean) / (s.mean - lo.mean)).clamp(0.0, 1.0);
                (
                    Some(lo.dim as f64 + t * (s.dim - lo.dim) as f64),
                    Some((lo.dim, s.dim)),
                )
            } else {
                (None, None)
            };
            return Crossing {
                threshold,
                dim: Some(s.dim),
                interpolated,
                bracket,
            };
        }
    }
    Crossing {
        threshold,
        dim: None,
        interpolated: None,
        bracket: None,
    }
}

/// Which baseline the headline d_int90 uses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Baseline {
    /// The measured full-space accuracy (the default).
    Measured,
    /// A fixed accuracy, e.g. 1.0 (the paper's "global" baseline).
    Global(f64),
}

impl Baseline {
    /// The global baseline in force: x for `Global(x)`, else 1.0. O(1).
    pub fn global(self) -> f64 {
        match self {
            Baseline::Global(x) => x,
            Baseline::Measured => 1.0,
        }
    }

    /// Parses `measured` or a number in (0, 1].
    pub fn parse(s: &str) -> Result<Baseline, TrainError> {
        if s == "measured" {
            return Ok(Baseline::Measured);
        }
        match s.parse::<f64>() {
            Ok(v) if v > 0.0 && v <= 1.0 => Ok(Baseline::Global(v)),
            _ => Err(TrainError::config(
                "--baseline",
                format!("{s:?} must be `measured` or an accuracy in (0, 1], e.g. 1.0"),
            )),
        }
    }
}

/// The summary of one (model, projection, dataset, schedule) group of rows.
#[derive(Clone, Debug)]
pub struct GroupSummary {
    /// Model name.
    pub model: String,
    /// Projection name.
    pub proj: String,
    /// Dataset variant.
    pub dataset: String,
    /// Schedule: epochs, batch, optimiser.
    pub schedule: String,
    /// D.
    pub big_dim: usize,
    /// Baseline accuracies (full-space runs of the same model and dataset).
    pub baseline_runs: Vec<f64>,
    /// Per-d statistics, sorted by d.
    pub stats: Vec<DimStat>,
    /// d_int90 against the measured baseline (None without baseline runs).
    pub measured90: Option<Crossing>,
    /// d_int100 against the measured baseline.
    pub measured100: Option<Crossing>,
    /// d_int90 against the global baseline.
    pub global90: Crossing,
    /// The global baseline used.
    pub global: f64,
    /// Which one is the headline.
    pub headline: Baseline,
}

impl GroupSummary {
    /// The mean measured baseline accuracy, if there are baseline runs.
    pub fn baseline(&self) -> Option<f64> {
        if self.baseline_runs.is_empty() {
            None
        } else {
            Some(self.baseline_runs.iter().sum::<f64>() / self.baseline_runs.len() as f64)
        }
    }

    /// The headline d_int90 crossing.
    pub fn headline90(&self) -> Option<&Crossing> {
        match self.headline {
            Baseline::Measured => self.measured90.as_ref(),
            Baseline::Global(_) => Some(&self.global90),
        }
    }
}

/// Groups rows by (model, dataset, projection, schedule) and summarises each
/// subspace group against the full-space rows of the same model and
/// dataset. `global` is the global baseline (1.0 unless `headline` is
/// `Global(x)`, then x). Duplicate rows (same [`Row::key`]) count once.
pub fn summarise(rows: &[Row], headline: Baseline) -> Vec<GroupSummary> {
    let mut seen = std::collections::HashSet::new();
    let rows: Vec<&Row> = rows.iter().filter(|r| seen.insert(r.key())).collect();
    let global = headline.global();
    let mut groups: BTreeMap<(String, String, String, String), Vec<&Row>> = BTreeMap::new();
    for r in &rows {
        if r.proj != "none" {
            let sched = r.schedule();
            groups
                .entry((r.model.clone(), r.dataset.clone(), r.proj.clone(), sched))
                .or_default()
                .push(r);
        }
    }
    // Full-space models with no subspace rows still get a (baseline-only) group.
    for r in &rows {
        if r.proj == "none" && !groups.keys().any(|k| k.0 == r.model && k.1 == r.dataset) {
            let sched = r.schedule();
            groups
                .entry((r.model.clone(), r.dataset.clone(), "none".into(), sched))
                .or_default();
        }
    }
    let mut out = Vec::new();
    for ((model, dataset, proj, schedule), members) in groups {
        let base: Vec<&&Row> = rows
            .iter()
            .filter(|r| r.proj == "none" && r.model == model && r.dataset == dataset)
            .collect();
        let baseline_runs: Vec<f64> = base.iter().map(|r| r.test_accuracy).collect();
        let big_dim = members
            .first()
            .map(|r| r.big_dim)
            .or_else(|| base.first().map(|r| r.big_dim))
            .unwrap_or(0);
        let mut by_d: BTreeMap<usize, Vec<&Row>> = BTreeMap::new();
        for r in members {
            by_d.entry(r.dim).or_default().push(r);
        }
        let stats: Vec<DimStat> = by_d
            .into_iter()
            .map(|(dim, rs)| {
                let accs: Vec<f64> = rs.iter().map(|r| r.test_accuracy).collect();
                DimStat {
                    dim,
                    runs: rs.len(),
                    mean: accs.iter().sum::<f64>() / accs.len() as f64,
                    min: accs.iter().cloned().fold(f64::INFINITY, f64::min),
                    max: accs.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                    seconds: rs.iter().map(|r| r.seconds).sum::<f64>() / rs.len() as f64,
                    accs,
                }
            })
            .collect();
        let b = if baseline_runs.is_empty() {
            None
        } else {
            Some(baseline_runs.iter().sum::<f64>() / baseline_runs.len() as f64)
        };
        out.push(GroupSummary {
            measured90: b.map(|b| crossing(&stats, 0.9 * b)),
            measured100: b.map(|b| crossing(&stats, b)),
            global90: crossing(&stats, 0.9 * global),
            model,
            proj,
            dataset,
            schedule,
            big_dim,
            baseline_runs,
            stats,
            global,
            headline,
        });
    }
    out
}

fn fmt_crossing(c: &Crossing) -> String {
    match (c.dim, c.interpolated, c.bracket) {
        (Some(d), Some(x), Some((lo, hi))) => {
            format!("{d} (interpolated {x:.0}, between {lo} and {hi})")
        }
        (Some(d), _, _) => format!("≤ {d} (the smallest swept d already reaches it)"),
        _ => "not reached by any swept d (sweep larger d)".into(),
    }
}

/// The human-readable table and d_int lines of one group.
pub fn render_table(g: &GroupSummary) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "{} with {} projection, D = {}, {} ({})\n",
        g.model, g.proj, g.big_dim, g.dataset, g.schedule
    ));
    match g.baseline() {
        Some(b) => s.push_str(&format!(
            "baseline (full space, {} run{}): {:.2} %\n",
            g.baseline_runs.len(),
            if g.baseline_runs.len() == 1 { "" } else { "s" },
            100.0 * b
        )),
        None => s.push_str("baseline: no full-space run in these results\n"),
    }
    s.push_str("       d  runs   mean acc    min acc    max acc   s/run\n");
    for st in &g.stats {
        s.push_str(&format!(
            "{:>8}  {:>4}   {:>7.2} %  {:>7.2} %  {:>7.2} %  {:>6.1}\n",
            st.dim,
            st.runs,
            100.0 * st.mean,
            100.0 * st.min,
            100.0 * st.max,
            st.seconds
        ));
    }
    let mark = |is: bool| if is { "  <- headline" } else { "" };
    let measured_head = g.headline == Baseline::Measured;
    if let Some(c) = &g.measured90 {
        s.push_str(&format!(
            "d_int90 (measured baseline, threshold {:.2} %): {}{}\n",
            100.0 * c.threshold,
            fmt_crossing(c),
            mark(measured_head)
        ));
    }
    s.push_str(&format!(
        "d_int90 (global baseline {}, threshold {:.2} %): {}{}\n",
        g.global,
        100.0 * g.global90.threshold,
        fmt_crossing(&g.global90),
        mark(!measured_head)
    ));
    if let Some(c) = &g.measured100 {
        s.push_str(&format!(
            "d_int100 (reaches the measured baseline {:.2} %): {}\n",
            100.0 * c.threshold,
            fmt_crossing(c)
        ));
    }
    s
}

fn crossing_json(c: &Crossing) -> String {
    format!(
        "{{\"threshold\": {}, \"d\": {}, \"interpolated\": {}, \"bracket\": {}}}",
        json_num(c.threshold),
        c.dim.map_or("null".into(), |d| d.to_string()),
        c.interpolated.map_or("null".into(), json_num),
        c.bracket
            .map_or("null".into(), |(a, b)| format!("[{a}, {b}]"))
    )
}

/// The JSON summary of every group (what `summary.json` holds).
pub fn summary_json(groups: &[GroupSummary], runs: usize) -> String {
    let mut s = String::from("{\n");
    s.push_str(&format!("  \"runs\": {runs},\n  \"groups\": [\n"));
    for (i, g) in groups.iter().enumerate() {
        let stats: Vec<String> = g
            .stats
            .iter()
            .map(|st| {
                format!(
                    "{{\"d\": {}, \"runs\": {}, \"mean\": {}, \"min\": {}, \"max\": {}, \"seconds\": {}}}",
                    st.dim,
                    st.runs,
                    json_num(st.mean),
                    json_num(st.min),
                    json_num(st.max),
                    json_num(st.seconds)
                )
            })
            .collect();
        s.push_str(&format!(
            "    {{\"model\": {}, \"proj\": {}, \"dataset\": {}, \"schedule\": {}, \"D\": {}, \"baseline\": {}, \"baseline_runs\": {}, \"headline\": {}, \"global_baseline\": {}, \"d_int90_measured\": {}, \"d_int100_measured\": {}, \"d_int90_global\": {}, \"by_d\": [{}]}}{}\n",
            json_str(&g.model),
            json_str(&g.proj),
            json_str(&g.dataset),
            json_str(&g.schedule),
            g.big_dim,
            g.baseline().map_or("null".into(), json_num),
            g.baseline_runs.len(),
            json_str(match g.headline {
                Baseline::Measured => "measured",
                Baseline::Global(_) => "global",
            }),
            json_num(g.global),
            g.measured90.as_ref().map_or("null".into(), crossing_json),
            g.measured100.as_ref().map_or("null".into(), crossing_json),
            crossing_json(&g.global90),
            stats.join(", "),
            if i + 1 < groups.len() { "," } else { "" }
        ));
    }
    s.push_str("  ]\n}\n");
    s
}

/// The accuracy-against-d plot of all groups, with the baseline, the 90 %
/// lines and the headline d_int90 marked.
pub fn chart(groups: &[GroupSummary], rows: &[Row], accuracy: &str) -> Chart {
    let mut series = Vec::new();
    let mut hlines = Vec::new();
    let mut vlines = Vec::new();
    for g in groups.iter().filter(|g| !g.stats.is_empty()) {
        let name = format!("{} {}", g.model, g.proj);
        series.push(Series {
            label: format!("{name}: mean over seeds"),
            points: g.stats.iter().map(|s| (s.dim as f64, s.mean)).collect(),
        });
        let mut single: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| r.model == g.model && r.proj == g.proj && r.dataset == g.dataset)
            .map(|r| (r.dim as f64, r.test_accuracy))
            .collect();
        single.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        if g.stats.iter().any(|s| s.runs > 1) {
            series.push(Series {
                label: format!("{name}: single runs"),
                points: single,
            });
        }
        if let Some(b) = g.baseline() {
            hlines.push((b, format!("{} baseline {:.2} %", g.model, 100.0 * b)));
            hlines.push((0.9 * b, format!("90 % of {} baseline", g.model)));
        }
        hlines.push((0.9 * g.global, format!("90 % of global {}", g.global)));
        if let Some(Crossing { dim: Some(_), .. }) = g.headline90() {
            let c = g.headline90().expect("checked");
            let x = c.interpolated.unwrap_or(c.dim.unwrap_or(0) as f64);
            vlines.push((x, format!("{name} d_int90 ≈ {x:.0}")));
        }
    }
    hlines.dedup_by(|a, b| a.1 == b.1);
    Chart {
        title: format!("{accuracy} accuracy against subspace dimension d"),
        x_label: "subspace dimension d".into(),
        y_label: format!("{accuracy} accuracy"),
        log_x: false,
        log_y: false,
        series,
        hlines,
        vlines,
    }
}
