//! Analyses over sweep results for reports: bootstrap intervals of d_int90
//! over seeds, d_int90 by training length (from per-epoch curves), the
//! training-accuracy view of memorisation runs, and the Markdown tables and
//! plots that RESULTS.md embeds.
//!
//! # Bootstrap interval of d_int90
//!
//! A sweep has, for each swept d, the accuracies a_{d,1..n_d} of its seeds,
//! and the baseline accuracies b_1..b_m. One bootstrap replicate draws, for
//! every d independently, n_d accuracies with replacement from a_{d,·} (and m
//! from b_· for the measured baseline), and recomputes the interpolated
//! d_int90 of the resampled means exactly as [`crossing`] does. Over R
//! replicates the report gives the mean ± standard deviation (the form of the
//! authors' notebook, e.g. 786 ± 66) and the 2.5 %–97.5 % percentile interval.
//! Replicates whose resampled curve never reaches the threshold are counted
//! and shown as "> d_max" bounds. The draws come from the seeded
//! [`crate::rng`] stream `Misc`, so a report is reproducible bit for bit.
//! Cost O(R · Σ_d n_d).

use std::fmt::Write as _;

use super::Metric;
use super::results::{Baseline, Crossing, DimStat, GroupSummary, Row, crossing, summarise};
use crate::plot::{Chart, Series};
use crate::rng::{self, Stream};

/// Bootstrap replicates per interval.
pub const BOOTSTRAP_REPLICATES: usize = 2000;

/// A bootstrap summary of an interpolated d_int90.
#[derive(Clone, Debug, PartialEq)]
pub struct Interval {
    /// Mean over the replicates that reached the threshold.
    pub mean: f64,
    /// Standard deviation over those replicates.
    pub sd: f64,
    /// 2.5 % percentile (over all replicates; unreached ones count as +∞).
    pub lo: f64,
    /// 97.5 % percentile (+∞ if more than 2.5 % of replicates never reach
    /// the threshold).
    pub hi: f64,
    /// Replicates that reached the threshold.
    pub reached: usize,
    /// Replicates drawn.
    pub replicates: usize,
}

/// The point estimate of d_int90 that the bootstrap resamples: the
/// interpolated crossing if there is one, else the first swept d that
/// reaches the threshold, else None. O(1).
pub fn point(c: &Crossing) -> Option<f64> {
    c.interpolated.or(c.dim.map(|d| d as f64))
}

/// Bootstrap interval of d_int90 for one group (see the module docs).
/// `fixed` is a global baseline; None resamples the measured baseline runs.
/// None if the group has no per-seed data or (measured) no baseline runs.
/// O(R·(Σ_d n_d + m) + R·log R) for R replicates.
///
/// # Panics
/// If `replicates == 0`.
pub fn bootstrap(
    g: &GroupSummary,
    fixed: Option<f64>,
    replicates: usize,
    seed: u64,
) -> Option<Interval> {
    assert!(replicates > 0, "bootstrap: at least one replicate");
    if g.stats.is_empty() || (fixed.is_none() && g.baseline_runs.is_empty()) {
        return None;
    }
    let mut rng = rng::stream(seed, Stream::Misc, 0xB007);
    let mut resample_mean = |v: &[f64]| -> f64 {
        (0..v.len())
            .map(|_| v[rng::below(&mut rng, v.len() as u64) as usize])
            .sum::<f64>()
            / v.len() as f64
    };
    let mut values = Vec::with_capacity(replicates);
    let mut stats: Vec<DimStat> = g.stats.clone();
    for _ in 0..replicates {
        let threshold = 0.9 * fixed.unwrap_or_else(|| resample_mean(&g.baseline_runs));
        for (s, orig) in stats.iter_mut().zip(&g.stats) {
            s.mean = resample_mean(&orig.accs);
        }
        values.push(point(&crossing(&stats, threshold)).unwrap_or(f64::INFINITY));
    }
    let reached: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let n = reached.len().max(1) as f64;
    let mean = reached.iter().sum::<f64>() / n;
    let sd = (reached.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    values.sort_by(f64::total_cmp);
    let q = |p: f64| values[((p * (replicates - 1) as f64).round() as usize).min(replicates - 1)];
    Some(Interval {
        mean,
        sd,
        lo: q(0.025),
        hi: q(0.975),
        reached: reached.len(),
        replicates,
    })
}

/// The rows with the training accuracy as their accuracy (`test_accuracy`
/// and `test_correct` replaced), for memorisation experiments; rows without a
/// training accuracy are dropped. [`Metric::Test`] returns the rows unchanged.
/// O(rows).
pub fn for_metric(rows: &[Row], metric: Metric) -> Vec<Row> {
    match metric {
        Metric::Test => rows.to_vec(),
        Metric::Train => rows
            .iter()
            .filter_map(|r| {
                let a = r.train_accuracy?;
                Some(Row {
                    test_accuracy: a,
                    test_correct: (a * r.train_examples as f64).round() as usize,
                    test_examples: r.train_examples,
                    curve: Vec::new(),
                    ..r.clone()
                })
            })
            .collect(),
    }
}

/// The rows as if every run had stopped after `epoch` epochs: accuracy from
/// the per-epoch curve, seconds scaled by epoch/epochs. Rows whose curve is
/// shorter are dropped, and so are runs with a decaying (cosine) learning
/// rate, whose first e epochs depend on the run's length. Exact for
/// constant-rate runs, whose first e epochs do not (same shuffles, same
/// steps).
/// The losses and the training accuracy of the cut rows are unknown: NaN
/// and None. O(rows · epoch).
pub fn at_epoch(rows: &[Row], epoch: usize) -> Vec<Row> {
    // `TrainConfig::optimizer_name` marks decaying schedules with `,cosine`
    // (`;cosine` once stored in a row).
    let decays = |r: &Row| r.optimizer.contains("cosine");
    rows.iter()
        .filter(|r| epoch >= 1 && r.curve.len() >= epoch && !decays(r))
        .map(|r| {
            let a = r.curve[epoch - 1];
            Row {
                epochs: epoch,
                test_accuracy: a,
                test_correct: (a * r.test_examples as f64).round() as usize,
                test_loss: f64::NAN,
                train_loss: f64::NAN,
                train_accuracy: None,
                seconds: r.seconds * epoch as f64 / r.epochs.max(1) as f64,
                curve: r.curve[..epoch].to_vec(),
                ..r.clone()
            }
        })
        .collect()
}

fn fmt_estimate(c: Option<&Crossing>, iv: Option<&Interval>) -> String {
    let Some(c) = c else {
        return "–".into();
    };
    let mut s = match (c.dim, c.interpolated) {
        (Some(_), Some(x)) => format!("**{x:.0}**"),
        (Some(d), None) => format!("**≤ {d}**"),
        (None, _) => "not reached".into(),
    };
    if let Some(iv) = iv.filter(|iv| iv.reached > 0) {
        let hi = if iv.hi.is_finite() {
            format!("{:.0}", iv.hi)
        } else {
            "> max d".into()
        };
        let _ = write!(
            s,
            " ({:.0} ± {:.0}; 95 % {:.0}–{hi})",
            iv.mean, iv.sd, iv.lo
        );
    }
    s
}

fn pct(x: f64) -> String {
    format!("{:.2} %", 100.0 * x)
}

/// The Markdown report of `rows` (one results set): a table with one line
/// per (model, dataset, projection, schedule) group — D, the baseline, d_int90
/// against the measured and the global baseline with bootstrap intervals,
/// d_int100, seeds, the wall time of all its runs and the examples per
/// second — then, per group, the mean accuracy at each d in a collapsed
/// block. `accuracy` names what the accuracies measure (`test` or `train`).
/// O(groups · (R · runs + rows)) with R = [`BOOTSTRAP_REPLICATES`].
pub fn markdown(rows: &[Row], global: f64, accuracy: &str) -> String {
    let groups = summarise(rows, Baseline::Global(global));
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| model | data | P | D | baseline ({accuracy}) | d_int90, measured baseline | d_int90, global baseline {global} | d_int100 | seeds | wall time | examples/s |"
    );
    let _ = writeln!(s, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for g in groups.iter().filter(|g| !g.stats.is_empty()) {
        let members: Vec<&Row> = rows
            .iter()
            .filter(|r| {
                r.model == g.model
                    && r.dataset == g.dataset
                    && r.proj == g.proj
                    && r.schedule() == g.schedule
            })
            .collect();
        let base_secs: f64 = rows
            .iter()
            .filter(|r| r.model == g.model && r.dataset == g.dataset && r.proj == "none")
            .map(|r| r.seconds)
            .sum();
        let secs: f64 = members.iter().map(|r| r.seconds).sum();
        let eps = members.iter().map(|r| r.examples_per_sec).sum::<f64>() / members.len() as f64;
        let seeds = g.stats.iter().map(|st| st.runs).max().unwrap_or(0);
        // With one seed per d there is nothing to resample.
        let (bm, bg) = if seeds > 1 {
            (
                bootstrap(g, None, BOOTSTRAP_REPLICATES, 0),
                bootstrap(g, Some(global), BOOTSTRAP_REPLICATES, 0),
            )
        } else {
            (None, None)
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} s (+ {:.0} s baseline) | {:.0} |",
            g.model,
            g.dataset,
            g.proj,
            g.big_dim,
            g.baseline().map_or("–".into(), |b| format!(
                "{} ({} run{})",
                pct(b),
                g.baseline_runs.len(),
                if g.baseline_runs.len() == 1 { "" } else { "s" }
            )),
            fmt_estimate(g.measured90.as_ref(), bm.as_ref()),
            fmt_estimate(Some(&g.global90), bg.as_ref()),
            g.measured100
                .as_ref()
                .map_or("–".into(), |c| fmt_estimate(Some(c), None)),
            seeds,
            secs,
            base_secs,
            eps
        );
    }
    let total: f64 = rows.iter().map(|r| r.seconds).sum();
    let _ = writeln!(
        s,
        "\nd_int90 in bold: interpolated between the two swept d that bracket the crossing (≤ d: the smallest swept d already reaches it); in brackets the bootstrap over seeds (mean ± sd; 95 % interval). The {} runs above took {:.1} min of wall time together.",
        rows.len(),
        total / 60.0
    );
    for g in groups.iter().filter(|g| !g.stats.is_empty()) {
        let _ = writeln!(
            s,
            "\n<details><summary>{} {} {}: mean {accuracy} accuracy by d ({})</summary>\n\n| d | runs | mean | min | max |\n|---:|---:|---:|---:|---:|",
            g.model, g.dataset, g.proj, g.schedule
        );
        for st in &g.stats {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                st.dim,
                st.runs,
                pct(st.mean),
                pct(st.min),
                pct(st.max)
            );
        }
        s.push_str("\n</details>\n");
    }
    s
}

/// A chart of d_int90 against `x_label`, one line per entry of `series`.
fn dint_chart(title: &str, x_label: &str, log_y: bool, series: Vec<Series>) -> Chart {
    Chart {
        title: title.into(),
        x_label: x_label.into(),
        y_label: "d_int90".into(),
        log_x: true,
        log_y,
        series,
        hlines: Vec::new(),
        vlines: Vec::new(),
    }
}

/// d_int90 (measured and global baseline) of every group against its D, on
/// log-log axes: the width/depth experiment's figure. O(groups).
pub fn dint_vs_big_dim_chart(groups: &[GroupSummary]) -> Chart {
    let mut measured = Vec::new();
    let mut global = Vec::new();
    for g in groups.iter().filter(|g| !g.stats.is_empty()) {
        if let Some(x) = g.measured90.as_ref().and_then(point) {
            measured.push((g.big_dim as f64, x));
        }
        if let Some(x) = point(&g.global90) {
            global.push((g.big_dim as f64, x));
        }
    }
    measured.sort_by(|a, b| a.0.total_cmp(&b.0));
    global.sort_by(|a, b| a.0.total_cmp(&b.0));
    let g = groups.first().map_or(1.0, |g| g.global);
    dint_chart(
        "d_int90 against the number of parameters D",
        "D (parameters)",
        true,
        vec![
            Series {
                label: "measured baseline".into(),
                points: measured,
            },
            Series {
                label: format!("global baseline {g}"),
                points: global,
            },
        ],
    )
}

/// d_int90 by training length: for each e of `epochs`, the rows cut to e
/// epochs ([`at_epoch`]) are summarised and the interpolated d_int90 against
/// the measured (baseline also cut to e epochs) and the global baseline is
/// listed, one line per (group, e). Returns the Markdown table and the chart
/// (d_int90 against epochs, two lines per group). O(epochs · rows · e).
pub fn by_epoch(rows: &[Row], epochs: &[usize], global: f64) -> (String, Chart) {
    let mut s = String::from(
        "| model | data | P | epochs | baseline | d_int90, measured baseline | d_int90, global baseline | subspace training time per d |\n|---|---|---|---:|---:|---:|---:|---:|\n",
    );
    let mut lines: std::collections::BTreeMap<String, Vec<(f64, f64)>> = Default::default();
    for &e in epochs {
        let cut = at_epoch(rows, e);
        for g in summarise(&cut, Baseline::Global(global))
            .iter()
            .filter(|g| !g.stats.is_empty())
        {
            let name = format!("{} {} {}", g.model, g.dataset, g.proj);
            if let Some(x) = g.measured90.as_ref().and_then(point) {
                lines
                    .entry(format!("{name}, measured baseline"))
                    .or_default()
                    .push((e as f64, x));
            }
            if let Some(x) = point(&g.global90) {
                lines
                    .entry(format!("{name}, global baseline {global}"))
                    .or_default()
                    .push((e as f64, x));
            }
            let secs = g.stats.iter().map(|st| st.seconds).sum::<f64>() / g.stats.len() as f64;
            let _ = writeln!(
                s,
                "| {} | {} | {} | {e} | {} | {} | {} | {secs:.0} s |",
                g.model,
                g.dataset,
                g.proj,
                g.baseline().map_or("–".into(), pct),
                fmt_estimate(g.measured90.as_ref(), None),
                fmt_estimate(Some(&g.global90), None),
            );
        }
    }
    let series = lines
        .into_iter()
        .map(|(label, points)| Series { label, points })
        .collect();
    (
        s,
        dint_chart(
            "d_int90 against the length of training",
            "epochs",
            false,
            series,
        ),
    )
}
