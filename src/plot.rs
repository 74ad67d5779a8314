//! A small, dependency-free SVG chart: lines with markers, linear or
//! logarithmic axes with ticks, a legend, and labelled horizontal and vertical
//! reference lines. Used by the projection scaling study and the trainer's
//! reports.
//!
//! ```
//! use intrinsic_dim::plot::{Chart, Series};
//! let chart = Chart {
//!     title: "time".into(), x_label: "n".into(), y_label: "ms".into(),
//!     log_x: true, log_y: true,
//!     series: vec![Series { label: "fastfood".into(), points: vec![(1e4, 0.1), (1e6, 9.0)] }],
//!     hlines: vec![(1.0, "1 ms".into())], vlines: vec![],
//! };
//! let svg = chart.to_svg();
//! assert!(svg.starts_with("<svg") && svg.contains("<polyline"));
//! ```

use std::fmt::Write as _;

/// One named line of (x, y) points, drawn in the given order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// The points (x, y); on a log axis, points with a non-positive coordinate are skipped.
    pub points: Vec<(f64, f64)>,
}

/// A line chart with optional log axes, a legend, and reference lines.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Chart {
    /// Title above the plot.
    pub title: String,
    /// Label under the x axis.
    pub x_label: String,
    /// Label beside the y axis.
    pub y_label: String,
    /// Logarithmic x axis (base 10 ticks).
    pub log_x: bool,
    /// Logarithmic y axis (base 10 ticks).
    pub log_y: bool,
    /// The lines.
    pub series: Vec<Series>,
    /// Horizontal reference lines: (y, label).
    pub hlines: Vec<(f64, String)>,
    /// Vertical reference lines: (x, label).
    pub vlines: Vec<(f64, String)>,
}

const WIDTH: f64 = 860.0;
const HEIGHT: f64 = 520.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 220.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;
const COLORS: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// One axis: the data range in transformed (log10 or plain) coordinates.
#[derive(Clone, Copy, Debug)]
struct Axis {
    log: bool,
    lo: f64,
    hi: f64,
}

impl Axis {
    fn from_values(log: bool, values: impl Iterator<Item = f64>) -> Axis {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values {
            if let Some(t) = transform(log, v) {
                lo = lo.min(t);
                hi = hi.max(t);
            }
        }
        if !lo.is_finite() {
            (lo, hi) = (0.0, 1.0);
        }
        if hi - lo < 1e-12 {
            let pad = if lo.abs() > 1e-12 {
                lo.abs() * 0.1
            } else {
                1.0
            };
            (lo, hi) = (lo - pad, hi + pad);
        }
        let pad = (hi - lo) * 0.05;
        Axis {
            log,
            lo: lo - pad,
            hi: hi + pad,
        }
    }

    /// Position in [0, 1] of a data value, or None if it cannot be drawn.
    fn frac(&self, v: f64) -> Option<f64> {
        transform(self.log, v).map(|t| (t - self.lo) / (self.hi - self.lo))
    }

    /// Tick values in data units.
    fn ticks(&self) -> Vec<f64> {
        let mut out = Vec::new();
        if self.log {
            let (a, b) = (self.lo.floor() as i32, self.hi.ceil() as i32);
            let decades = b - a;
            let mults: &[f64] = if decades <= 1 {
                &[1.0, 2.0, 5.0]
            } else if decades <= 3 {
                &[1.0, 3.0]
            } else {
                &[1.0]
            };
            let step = if decades > 10 {
                (decades / 8).max(1)
            } else {
                1
            };
            for e in (a..=b).step_by(step as usize) {
                for &m in mults {
                    let v = m * 10f64.powi(e);
                    let t = v.log10();
                    if t >= self.lo && t <= self.hi {
                        out.push(v);
                    }
                }
            }
        } else {
            let span = self.hi - self.lo;
            let raw = span / 6.0;
            let mag = 10f64.powf(raw.log10().floor());
            let step = [1.0, 2.0, 5.0, 10.0]
                .iter()
                .map(|m| m * mag)
                .find(|s| span / s <= 8.0)
                .unwrap_or(10.0 * mag);
            let mut v = (self.lo / step).ceil() * step;
            while v <= self.hi + 1e-9 * step {
                out.push(if v.abs() < 1e-12 * step { 0.0 } else { v });
                v += step;
            }
        }
        out
    }
}

fn transform(log: bool, v: f64) -> Option<f64> {
    if !v.is_finite() {
        None
    } else if log {
        (v > 0.0).then(|| v.log10())
    } else {
        Some(v)
    }
}

/// The plot box in SVG pixels and the two axes.
#[derive(Clone, Copy, Debug)]
struct Frame {
    x: Axis,
    y: Axis,
    left: f64,
    top: f64,
    width: f64,
    height: f64,
}

impl Frame {
    fn new(chart: &Chart) -> Frame {
        let xs = chart
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .chain(chart.vlines.iter().map(|v| v.0));
        let ys = chart
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .chain(chart.hlines.iter().map(|h| h.0));
        Frame {
            x: Axis::from_values(chart.log_x, xs),
            y: Axis::from_values(chart.log_y, ys),
            left: LEFT,
            top: TOP,
            width: WIDTH - LEFT - RIGHT,
            height: HEIGHT - TOP - BOTTOM,
        }
    }

    /// SVG pixel coordinates of a data point, None if not drawable.
    fn map(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let fx = self.x.frac(x)?;
        let fy = self.y.frac(y)?;
        Some((
            self.left + fx * self.width,
            self.top + (1.0 - fy) * self.height,
        ))
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A short tick label: 1e5, 2e-3, 0.5, 120.
fn fmt_num(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        let e = a.log10().floor() as i32;
        let m = v / 10f64.powi(e);
        let m = (m * 100.0).round() / 100.0;
        return format!("{m}e{e}");
    }
    let s = format!("{:.4}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

impl Chart {
    /// Render as a self-contained SVG document (no scripts, no external
    /// resources): a framed plot box, ticks and grid lines, one polyline with
    /// circle markers per series, dashed reference lines with their labels,
    /// a legend at the right. O(total points).
    pub fn to_svg(&self) -> String {
        let f = Frame::new(self);
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(
            s,
            r#"<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#
        );
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle" font-size="15">{}</text>"#,
            f.left + f.width / 2.0,
            TOP / 2.0 + 5.0,
            escape(&self.title)
        );
        // Ticks and grid.
        for v in f.x.ticks() {
            if let Some((px, _)) = f.map(v, if f.y.log { 10f64.powf(f.y.lo) } else { f.y.lo }) {
                let _ = writeln!(
                    s,
                    r##"<line class="grid" x1="{px:.2}" y1="{:.2}" x2="{px:.2}" y2="{:.2}" stroke="#e0e0e0"/>"##,
                    f.top,
                    f.top + f.height
                );
                let _ = writeln!(
                    s,
                    r#"<text class="xtick" x="{px:.2}" y="{:.2}" text-anchor="middle">{}</text>"#,
                    f.top + f.height + 16.0,
                    fmt_num(v)
                );
            }
        }
        for v in f.y.ticks() {
            if let Some((_, py)) = f.map(if f.x.log { 10f64.powf(f.x.lo) } else { f.x.lo }, v) {
                let _ = writeln!(
                    s,
                    r##"<line class="grid" x1="{:.2}" y1="{py:.2}" x2="{:.2}" y2="{py:.2}" stroke="#e0e0e0"/>"##,
                    f.left,
                    f.left + f.width
                );
                let _ = writeln!(
                    s,
                    r#"<text class="ytick" x="{:.2}" y="{:.2}" text-anchor="end">{}</text>"#,
                    f.left - 6.0,
                    py + 4.0,
                    fmt_num(v)
                );
            }
        }
        let _ = writeln!(
            s,
            r#"<rect class="plot-area" x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}" fill="none" stroke="black"/>"#,
            f.left, f.top, f.width, f.height
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.2}" y="{:.2}" text-anchor="middle">{}</text>"#,
            f.left + f.width / 2.0,
            HEIGHT - 15.0,
            escape(&self.x_label)
        );
        let _ = writeln!(
            s,
            r#"<text x="18" y="{:.2}" text-anchor="middle" transform="rotate(-90 18 {:.2})">{}</text>"#,
            f.top + f.height / 2.0,
            f.top + f.height / 2.0,
            escape(&self.y_label)
        );
        // Reference lines.
        for (y, label) in &self.hlines {
            if let Some(fy) = f.y.frac(*y) {
                let py = f.top + (1.0 - fy) * f.height;
                let _ = writeln!(
                    s,
                    r##"<line class="hline" x1="{:.2}" y1="{py:.2}" x2="{:.2}" y2="{py:.2}" stroke="#555" stroke-dasharray="6 4"/>"##,
                    f.left,
                    f.left + f.width
                );
                let _ = writeln!(
                    s,
                    r##"<text x="{:.2}" y="{:.2}" text-anchor="end" fill="#555">{}</text>"##,
                    f.left + f.width - 4.0,
                    py - 4.0,
                    escape(label)
                );
            }
        }
        for (x, label) in &self.vlines {
            if let Some(fx) = f.x.frac(*x) {
                let px = f.left + fx * f.width;
                let _ = writeln!(
                    s,
                    r##"<line class="vline" x1="{px:.2}" y1="{:.2}" x2="{px:.2}" y2="{:.2}" stroke="#555" stroke-dasharray="6 4"/>"##,
                    f.top,
                    f.top + f.height
                );
                let _ = writeln!(
                    s,
                    r##"<text x="{:.2}" y="{:.2}" fill="#555">{}</text>"##,
                    px + 4.0,
                    f.top + 14.0,
                    escape(label)
                );
            }
        }
        // Series and legend.
        for (k, series) in self.series.iter().enumerate() {
            let color = COLORS[k % COLORS.len()];
            let pts: Vec<(f64, f64)> = series
                .points
                .iter()
                .filter_map(|&(x, y)| f.map(x, y))
                .collect();
            let list: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.2},{y:.2}")).collect();
            let _ = writeln!(
                s,
                r#"<polyline class="series" points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
                list.join(" ")
            );
            for (x, y) in &pts {
                let _ = writeln!(
                    s,
                    r#"<circle cx="{x:.2}" cy="{y:.2}" r="3" fill="{color}"/>"#
                );
            }
            let ly = f.top + 10.0 + 20.0 * k as f64;
            let lx = f.left + f.width + 15.0;
            let _ = writeln!(
                s,
                r#"<line class="legend" x1="{lx:.2}" y1="{ly:.2}" x2="{:.2}" y2="{ly:.2}" stroke="{color}" stroke-width="2"/>"#,
                lx + 20.0
            );
            let _ = writeln!(
                s,
                r#"<text x="{:.2}" y="{:.2}">{}</text>"#,
                lx + 26.0,
                ly + 4.0,
                escape(&series.label)
            );
        }
        s.push_str("</svg>\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pull the numbers of attribute `name="…"` from every element starting with `tag`.
    fn attrs(svg: &str, tag: &str, name: &str) -> Vec<String> {
        svg.lines()
            .filter(|l| l.trim_start().starts_with(tag))
            .filter_map(|l| {
                let key = format!(" {name}=\"");
                let start = l.find(&key)? + key.len();
                let end = start + l[start..].find('"')?;
                Some(l[start..end].to_string())
            })
            .collect()
    }

    fn chart() -> Chart {
        Chart {
            title: "a <b> & c".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            log_x: true,
            log_y: true,
            series: vec![
                Series {
                    label: "one".into(),
                    points: vec![(10.0, 1.0), (100.0, 10.0), (1000.0, 100.0)],
                },
                Series {
                    label: "two".into(),
                    points: vec![(10.0, 100.0), (-5.0, 3.0), (1000.0, 1.0)],
                },
            ],
            hlines: vec![(50.0, "target".into())],
            vlines: vec![(300.0, "D".into())],
        }
    }

    #[test]
    fn structure_and_coordinates() {
        let c = chart();
        let svg = c.to_svg();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        // The non-positive x of series two is skipped on a log axis: 3 + 2 markers.
        assert_eq!(svg.matches("<circle").count(), 5);
        assert_eq!(svg.matches(r#"class="hline""#).count(), 1);
        assert_eq!(svg.matches(r#"class="vline""#).count(), 1);
        assert!(svg.contains("a &lt;b&gt; &amp; c"));
        assert!(svg.contains(">one<") && svg.contains(">two<") && svg.contains(">target<"));

        // The plot box, parsed back.
        let num = |k: &str| {
            attrs(&svg, r#"<rect class="plot-area""#, k)[0]
                .parse::<f64>()
                .unwrap()
        };
        let (bx, by, bw, bh) = (num("x"), num("y"), num("width"), num("height"));
        // Data range: x in [10, 1000], y in [1, 100], both log, padded by 5 % of 2 decades
        // on each side: the 2-decade span covers 2 / 2.2 of the box, centred.
        let pts = attrs(&svg, "<polyline", "points");
        let first: Vec<(f64, f64)> = pts[0]
            .split(' ')
            .map(|p| {
                let (x, y) = p.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect();
        let pad = 0.1 / 2.2;
        let expect =
            |fx: f64, fy: f64| (bx + (pad + fx / 1.1) * bw, by + (1.0 - pad - fy / 1.1) * bh);
        for (k, &(fx, fy)) in [(0.0, 0.0), (0.5, 0.5), (1.0, 1.0)].iter().enumerate() {
            let (ex, ey) = expect(fx, fy);
            assert!((first[k].0 - ex).abs() < 0.02, "x {} vs {ex}", first[k].0);
            assert!((first[k].1 - ey).abs() < 0.02, "y {} vs {ey}", first[k].1);
            assert!(first[k].0 > bx && first[k].0 < bx + bw);
            assert!(first[k].1 > by && first[k].1 < by + bh);
        }
        // Log ticks: decades 10, 100, 1000 on x.
        let xt: Vec<String> = svg
            .lines()
            .filter(|l| l.contains(r#"class="xtick""#))
            .map(|l| l[l.find('>').unwrap() + 1..l.find("</").unwrap()].to_string())
            .collect();
        for want in ["10", "100", "1000"] {
            assert!(xt.iter().any(|t| t == want), "x ticks {xt:?}");
        }
    }

    #[test]
    fn linear_axes_and_degenerate_ranges() {
        let mut c = chart();
        c.log_x = false;
        c.log_y = false;
        c.series = vec![Series {
            label: "flat".into(),
            points: vec![(0.0, 2.0), (4.0, 2.0)],
        }];
        c.hlines.clear();
        c.vlines.clear();
        let svg = c.to_svg();
        let pts = attrs(&svg, "<polyline", "points");
        let ys: Vec<f64> = pts[0]
            .split(' ')
            .map(|p| p.split_once(',').unwrap().1.parse().unwrap())
            .collect();
        // A constant series sits in the vertical middle of the box.
        let num = |k: &str| {
            attrs(&svg, r#"<rect class="plot-area""#, k)[0]
                .parse::<f64>()
                .unwrap()
        };
        let mid = num("y") + num("height") / 2.0;
        assert!(
            ys.iter().all(|&y| (y - mid).abs() < 0.02),
            "{ys:?} vs {mid}"
        );
        let empty = Chart::default().to_svg();
        assert!(empty.contains("plot-area") && !empty.contains("NaN"));
        assert_eq!(fmt_num(2e6), "2e6");
        assert_eq!(fmt_num(0.25), "0.25");
    }
}
