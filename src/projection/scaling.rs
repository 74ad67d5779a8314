//! The projection scaling study behind `idim bench-projections`: time
//! `forward_add` and `adjoint` of each kind over a grid of (D, d), with one
//! thread and with all threads, print a table of medians and bytes, fit the
//! log-log slopes in D and in d, and draw time against each kind's cost model
//! (dense D·d, sparse d·√D, Fastfood D·log2 d) as an SVG.
//!
//! This is a quick look, not a Criterion benchmark (that is
//! `benches/projections.rs`): each point is the median of a few calls.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::{ProjectionError, ProjectionKind, build};
use crate::kernels::AlignedVec;
use crate::kernels::fwht::fwht_rows;
use crate::plot::{Chart, Series};

/// What to measure.
#[derive(Clone, Debug)]
pub struct ScalingConfig {
    /// The values of D.
    pub big_dims: Vec<usize>,
    /// The values of d.
    pub small_dims: Vec<usize>,
    /// Extra (D, d) points measured besides the grid (e.g. the MNIST fc network at d = 750).
    pub extra_points: Vec<(usize, usize)>,
    /// The kinds measured.
    pub kinds: Vec<ProjectionKind>,
    /// Dense is skipped where its 4·D·d bytes exceed this.
    pub dense_limit_bytes: usize,
    /// Thread counts (each a separate rayon pool).
    pub threads: Vec<usize>,
    /// Calls per point: at least this many…
    pub min_reps: usize,
    /// …and more until this much time is spent (at most `max_reps`).
    pub min_time: Duration,
    /// Upper limit of calls per point.
    pub max_reps: usize,
    /// The projection seed.
    pub seed: u64,
}

impl ScalingConfig {
    /// The grid of issue 3: D ∈ {10⁴, 10⁵, 10⁶, 10⁷} × d ∈ {10², 10³, 10⁴} plus
    /// (199,210, 750), dense up to 1 GiB, 1 thread and all threads.
    pub fn full() -> ScalingConfig {
        ScalingConfig {
            big_dims: vec![10_000, 100_000, 1_000_000, 10_000_000],
            small_dims: vec![100, 1000, 10_000],
            extra_points: vec![(199_210, 750)],
            kinds: ProjectionKind::ALL.to_vec(),
            dense_limit_bytes: 1 << 30,
            threads: thread_counts(),
            min_reps: 3,
            min_time: Duration::from_millis(300),
            max_reps: 50,
            seed: 1,
        }
    }

    /// A smaller grid that runs in well under a minute: D up to 10⁶, d up to 10³.
    pub fn quick() -> ScalingConfig {
        ScalingConfig {
            big_dims: vec![10_000, 100_000, 1_000_000],
            small_dims: vec![100, 1000],
            dense_limit_bytes: 256 << 20,
            min_time: Duration::from_millis(100),
            ..ScalingConfig::full()
        }
    }
}

/// 1 and the rayon pool's thread count (once if they are equal).
fn thread_counts() -> Vec<usize> {
    let all = rayon::current_num_threads();
    if all > 1 { vec![1, all] } else { vec![1] }
}

/// One measured point.
#[derive(Clone, Debug)]
pub struct Measurement {
    /// The kind.
    pub kind: ProjectionKind,
    /// D.
    pub big_dim: usize,
    /// d.
    pub small_dim: usize,
    /// Threads of the rayon pool.
    pub threads: usize,
    /// [`super::Projection::bytes`].
    pub bytes: usize,
    /// Construction time in seconds (all threads).
    pub build_s: f64,
    /// Median `forward_add` time in seconds.
    pub forward_s: f64,
    /// Median `adjoint` time in seconds.
    pub adjoint_s: f64,
    /// Fastfood only: median time of the FWHTs alone (2·⌈D/L⌉ transforms of
    /// length L, i.e. one direction's transforms), same thread count. The
    /// table's "FWHT share" is 2·fwht_s / (forward + adjoint): the fraction of
    /// the kernel's own speed that Fastfood reaches.
    pub fwht_s: Option<f64>,
}

impl Measurement {
    /// Forward plus adjoint, seconds.
    pub fn both_s(&self) -> f64 {
        self.forward_s + self.adjoint_s
    }

    /// The kind's cost model: D·d (dense), d·√D (sparse), D·log2 d (Fastfood; log2 of L).
    pub fn model_cost(&self) -> f64 {
        let (big, d) = (self.big_dim as f64, self.small_dim as f64);
        match self.kind {
            ProjectionKind::Dense => big * d,
            ProjectionKind::Sparse => d * big.sqrt(),
            ProjectionKind::Fastfood => {
                big * (self.small_dim.next_power_of_two() as f64).log2().max(1.0)
            }
        }
    }
}

/// The least-squares fit log t = a + α·log D + β·log d for one kind and thread count.
#[derive(Clone, Debug)]
pub struct Slopes {
    /// The kind.
    pub kind: ProjectionKind,
    /// Threads.
    pub threads: usize,
    /// α, the exponent of D (dense 1, sparse ½, Fastfood 1 expected).
    pub in_big: f64,
    /// β, the exponent of d (dense 1, sparse 1, Fastfood ≈ 0 expected, log d).
    pub in_small: f64,
    /// Points fitted.
    pub points: usize,
}

/// Least squares for y = a + α·u + β·v; None if the design is degenerate. O(n).
pub fn fit_plane(points: &[(f64, f64, f64)]) -> Option<(f64, f64, f64)> {
    let n = points.len() as f64;
    if points.len() < 3 {
        return None;
    }
    let (mu, mv, my) = points
        .iter()
        .fold((0.0, 0.0, 0.0), |(a, b, c), &(u, v, y)| {
            (a + u / n, b + v / n, c + y / n)
        });
    let (mut suu, mut svv, mut suv, mut suy, mut svy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(u, v, y) in points {
        let (du, dv, dy) = (u - mu, v - mv, y - my);
        suu += du * du;
        svv += dv * dv;
        suv += du * dv;
        suy += du * dy;
        svy += dv * dy;
    }
    let det = suu * svv - suv * suv;
    if suu <= 1e-12 * n || svv <= 1e-12 * n || det.abs() < 1e-9 * suu * svv {
        return None;
    }
    let alpha = (suy * svv - svy * suv) / det;
    let beta = (svy * suu - suy * suv) / det;
    Some((my - alpha * mu - beta * mv, alpha, beta))
}

/// The result of [`run`].
#[derive(Clone, Debug)]
pub struct ScalingReport {
    /// Every point, in measurement order.
    pub measurements: Vec<Measurement>,
    /// One fit per (kind, thread count) with enough points.
    pub slopes: Vec<Slopes>,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

fn time_median(cfg: &ScalingConfig, mut f: impl FnMut()) -> f64 {
    f(); // warm-up
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < cfg.max_reps
        && (times.len() < cfg.min_reps || start.elapsed() < cfg.min_time)
    {
        let t = Instant::now();
        f();
        times.push(t.elapsed().as_secs_f64());
    }
    median(&mut times)
}

/// Measure every grid point; `progress` sees each measurement as it is made.
/// Projections are built once per (kind, D, d) with all threads. Errors only if
/// a build fails (e.g. over the default budget).
pub fn run(
    cfg: &ScalingConfig,
    mut progress: impl FnMut(&Measurement),
) -> Result<ScalingReport, ProjectionError> {
    let mut sizes: Vec<(usize, usize)> = Vec::new();
    for &big in &cfg.big_dims {
        for &d in &cfg.small_dims {
            if d <= big {
                sizes.push((big, d));
            }
        }
    }
    sizes.extend(cfg.extra_points.iter().copied());
    let mut measurements = Vec::new();
    for &kind in &cfg.kinds {
        for &(big, d) in &sizes {
            if kind == ProjectionKind::Dense
                && kind
                    .estimated_bytes(big, d)
                    .is_none_or(|b| b > cfg.dense_limit_bytes)
            {
                continue;
            }
            let t = Instant::now();
            let mut p = build(kind, big, d, cfg.seed)?;
            let build_s = t.elapsed().as_secs_f64();
            let x: Vec<f32> = (0..d).map(|i| ((i % 7) as f32 - 3.0) * 0.1).collect();
            let y: Vec<f32> = (0..big).map(|i| ((i % 5) as f32 - 2.0) * 0.1).collect();
            let mut out = vec![0.0f32; big];
            let mut g = vec![0.0f32; d];
            let l = d.next_power_of_two();
            let mut fwht_buf = if kind == ProjectionKind::Fastfood {
                AlignedVec::filled(big.div_ceil(l) * l, 0.5)
            } else {
                AlignedVec::default()
            };
            for &threads in &cfg.threads {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .expect("a rayon pool");
                let (forward_s, adjoint_s, fwht_s) = pool.install(|| {
                    let f = time_median(cfg, || p.forward_add(&x, &mut out));
                    let a = time_median(cfg, || p.adjoint(&y, &mut g));
                    let w = (!fwht_buf.is_empty()).then(|| {
                        let chunk = l * (8192 / l).max(1);
                        time_median(cfg, || {
                            fwht_buf.par_chunks_mut(chunk).for_each(|c| fwht_rows(c, l));
                            fwht_buf.par_chunks_mut(chunk).for_each(|c| fwht_rows(c, l));
                        })
                    });
                    (f, a, w)
                });
                let m = Measurement {
                    kind,
                    big_dim: big,
                    small_dim: d,
                    threads,
                    bytes: p.bytes(),
                    build_s,
                    forward_s,
                    adjoint_s,
                    fwht_s,
                };
                progress(&m);
                measurements.push(m);
            }
        }
    }
    let mut slopes = Vec::new();
    for &kind in &cfg.kinds {
        for &threads in &cfg.threads {
            let pts: Vec<(f64, f64, f64)> = measurements
                .iter()
                .filter(|m| m.kind == kind && m.threads == threads)
                .map(|m| {
                    (
                        (m.big_dim as f64).ln(),
                        (m.small_dim as f64).ln(),
                        m.both_s().ln(),
                    )
                })
                .collect();
            if let Some((_, a, b)) = fit_plane(&pts) {
                slopes.push(Slopes {
                    kind,
                    threads,
                    in_big: a,
                    in_small: b,
                    points: pts.len(),
                });
            }
        }
    }
    Ok(ScalingReport {
        measurements,
        slopes,
    })
}

/// Seconds as a short human string in ms or µs.
fn fmt_time(s: f64) -> String {
    if s >= 1e-3 {
        format!("{:.3} ms", s * 1e3)
    } else {
        format!("{:.1} µs", s * 1e6)
    }
}

impl ScalingReport {
    /// A Markdown table: kind, D, d, threads, forward, adjoint, both, bytes,
    /// bytes per row of P, and for Fastfood the FWHT share. O(points).
    pub fn table(&self) -> String {
        let mut s = String::from(
            "| kind | D | d | threads | forward | adjoint | fwd+adj | MiB | bytes/D | FWHT share |\n\
             |------|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
        );
        for m in &self.measurements {
            let share = m
                .fwht_s
                .map(|w| format!("{:.0} %", 100.0 * 2.0 * w / m.both_s()))
                .unwrap_or_else(|| "–".into());
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {:.1} | {:.2} | {} |",
                m.kind,
                m.big_dim,
                m.small_dim,
                m.threads,
                fmt_time(m.forward_s),
                fmt_time(m.adjoint_s),
                fmt_time(m.both_s()),
                m.bytes as f64 / (1 << 20) as f64,
                m.bytes as f64 / m.big_dim as f64,
                share
            );
        }
        s
    }

    /// The fitted slopes as a Markdown table. O(kinds).
    pub fn slopes_table(&self) -> String {
        let mut s = String::from(
            "| kind | threads | slope in D | slope in d | points | expected (D, d) |\n\
             |------|--:|--:|--:|--:|---|\n",
        );
        for sl in &self.slopes {
            let expect = match sl.kind {
                ProjectionKind::Dense => "1, 1",
                ProjectionKind::Sparse => "½, 1",
                ProjectionKind::Fastfood => "1, ≈0 (log d)",
            };
            let _ = writeln!(
                s,
                "| {} | {} | {:.2} | {:.2} | {} | {} |",
                sl.kind, sl.threads, sl.in_big, sl.in_small, sl.points, expect
            );
        }
        s
    }

    /// Time (forward + adjoint) against each kind's cost model, log-log, one
    /// series per (kind, thread count); each kind should lie on a line of slope 1.
    pub fn chart(&self) -> Chart {
        let mut series = Vec::new();
        let mut threads: Vec<usize> = self.measurements.iter().map(|m| m.threads).collect();
        threads.sort_unstable();
        threads.dedup();
        for kind in ProjectionKind::ALL {
            for &t in &threads {
                let mut pts: Vec<(f64, f64)> = self
                    .measurements
                    .iter()
                    .filter(|m| m.kind == kind && m.threads == t)
                    .map(|m| (m.model_cost(), m.both_s() * 1e3))
                    .collect();
                if pts.is_empty() {
                    continue;
                }
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                let model = match kind {
                    ProjectionKind::Dense => "D·d",
                    ProjectionKind::Sparse => "d·√D",
                    ProjectionKind::Fastfood => "D·log₂L",
                };
                series.push(Series {
                    label: format!("{kind} ({model}), {t} thr"),
                    points: pts,
                });
            }
        }
        Chart {
            title: "Projection forward + adjoint time vs. each method's cost model".into(),
            x_label: "cost model: dense D·d, sparse d·√D, fastfood D·log₂L (L = 2^⌈log₂d⌉)".into(),
            y_label: "time, forward + adjoint (ms)".into(),
            log_x: true,
            log_y: true,
            series,
            hlines: vec![(0.8, "0.8 ms".into()), (60.0, "60 ms".into())],
            vlines: vec![],
        }
    }
}

/// Command-line options of `idim bench-projections`.
#[derive(Clone, Debug, clap::Args)]
pub struct BenchArgs {
    /// A smaller grid (D ≤ 10⁶, d ≤ 10³) that runs in well under a minute.
    #[arg(long)]
    pub quick: bool,
    /// Where to write the SVG plot.
    #[arg(long, default_value = "benches/results/projection-scaling.svg")]
    pub svg: PathBuf,
    /// Also write the tables as Markdown here.
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Dense is measured only where its matrix fits in this many MiB.
    #[arg(long)]
    pub dense_limit_mib: Option<usize>,
}

/// Run the study for the command line: print each point as it comes, then the
/// tables; write the SVG (and Markdown if asked). Errors name the file.
pub fn cli(args: &BenchArgs) -> anyhow::Result<()> {
    let mut cfg = if args.quick {
        ScalingConfig::quick()
    } else {
        ScalingConfig::full()
    };
    if let Some(mib) = args.dense_limit_mib {
        cfg.dense_limit_bytes = mib << 20;
    }
    eprintln!(
        "projection scaling: D {:?} × d {:?} + {:?}, threads {:?}",
        cfg.big_dims, cfg.small_dims, cfg.extra_points, cfg.threads
    );
    let report = run(&cfg, |m| {
        eprintln!(
            "{:>8} D={:>9} d={:>6} thr={} fwd {:>12} adj {:>12} bytes {:>12} (build {:.2} s)",
            m.kind.name(),
            m.big_dim,
            m.small_dim,
            m.threads,
            fmt_time(m.forward_s),
            fmt_time(m.adjoint_s),
            m.bytes,
            m.build_s
        )
    })?;
    let tables = format!("{}\n{}", report.table(), report.slopes_table());
    println!("{tables}");
    let svg = report.chart().to_svg();
    if let Some(dir) = args.svg.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create directory {}: {e}", dir.display()))?;
    }
    crate::fsutil::write_atomic(&args.svg, svg.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot write the plot {}: {e}", args.svg.display()))?;
    eprintln!("wrote {}", args.svg.display());
    if let Some(md) = &args.markdown {
        crate::fsutil::write_atomic(md, tables.as_bytes())
            .map_err(|e| anyhow::anyhow!("cannot write the tables {}: {e}", md.display()))?;
        eprintln!("wrote {}", md.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plane_fit_recovers_exponents() {
        // t = 3·D^0.5·d^1.0 exactly, on a 3×3 grid.
        let mut pts = Vec::new();
        for &big in &[1e4f64, 1e5, 1e6] {
            for &d in &[1e2f64, 1e3, 1e4] {
                pts.push((big.ln(), d.ln(), (3.0 * big.sqrt() * d).ln()));
            }
        }
        let (a, alpha, beta) = fit_plane(&pts).unwrap();
        assert!(
            (a - 3f64.ln()).abs() < 1e-9 && (alpha - 0.5).abs() < 1e-9 && (beta - 1.0).abs() < 1e-9
        );
        // One value of d only: the design is degenerate.
        let flat: Vec<_> = pts.iter().map(|&(u, _, y)| (u, 1.0, y)).collect();
        assert!(fit_plane(&flat).is_none());
    }

    #[test]
    fn tiny_run_produces_table_and_chart() {
        let cfg = ScalingConfig {
            big_dims: vec![300, 600],
            small_dims: vec![10, 20],
            extra_points: vec![],
            kinds: ProjectionKind::ALL.to_vec(),
            dense_limit_bytes: 1 << 20,
            threads: vec![1],
            min_reps: 1,
            min_time: Duration::ZERO,
            max_reps: 1,
            seed: 3,
        };
        let mut seen = 0;
        let r = run(&cfg, |_| seen += 1).unwrap();
        assert_eq!(seen, 12);
        assert_eq!(r.measurements.len(), 12);
        assert_eq!(r.slopes.len(), 3);
        assert_eq!(r.table().lines().count(), 14);
        let svg = r.chart().to_svg();
        assert_eq!(svg.matches("<polyline").count(), 3);
    }
}
