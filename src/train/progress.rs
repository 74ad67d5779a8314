//! Progress reporting: bars on a terminal, plain lines otherwise.

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::TrainConfig;
use super::subspace::{EpochReport, RunResult};

/// Receives the events of training runs. Every method has an empty default.
pub trait Observer {
    /// A run starts: its configuration, D, d and batches per epoch.
    fn run_start(&mut self, _cfg: &TrainConfig, _big: usize, _small: usize, _batches: usize) {}
    /// One optimiser step finished.
    fn batch_done(&mut self) {}
    /// One epoch finished (after evaluation).
    fn epoch_done(&mut self, _report: &EpochReport) {}
    /// The run finished.
    fn run_done(&mut self, _result: &RunResult) {}
}

/// Reports nothing (tests, library use).
pub struct Silent;

impl Observer for Silent {}

/// Human-readable progress on stderr: indicatif bars (sweep, run, epoch)
/// when stderr is a terminal, one plain line per epoch otherwise.
pub struct Console {
    multi: Option<MultiProgress>,
    sweep_bar: Option<ProgressBar>,
    epoch_bar: Option<ProgressBar>,
    run_bar: Option<ProgressBar>,
    label: String,
    epochs: usize,
    /// Print one line per epoch (also on a terminal, above the bars).
    pub epoch_lines: bool,
}

impl Console {
    /// Bars if stderr is a terminal (and `IDIM_NO_PROGRESS` is unset), plain lines otherwise.
    pub fn new(epoch_lines: bool) -> Console {
        let tty = std::io::stderr().is_terminal() && std::env::var_os("IDIM_NO_PROGRESS").is_none();
        Console {
            multi: tty.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            sweep_bar: None,
            epoch_bar: None,
            run_bar: None,
            label: String::new(),
            epochs: 0,
            epoch_lines,
        }
    }

    /// Whether bars are drawn.
    pub fn is_terminal(&self) -> bool {
        self.multi.is_some()
    }

    /// Starts the sweep-level bar over `total` configurations.
    pub fn sweep_start(&mut self, total: usize) {
        if let Some(m) = &self.multi {
            let bar = m.add(ProgressBar::new(total as u64));
            bar.set_style(style(
                "sweep  {bar:30} {pos}/{len} runs  [{elapsed_precise}] {msg}",
            ));
            self.sweep_bar = Some(bar);
        }
    }

    /// One sweep configuration done (or skipped).
    pub fn sweep_inc(&mut self, msg: &str) {
        if let Some(b) = &self.sweep_bar {
            b.inc(1);
            b.set_message(msg.to_string());
        }
    }

    /// Prints a line (above the bars on a terminal).
    pub fn line(&self, text: &str) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(text);
            }
            None => eprintln!("{text}"),
        }
    }

    /// Removes every bar.
    pub fn finish(&mut self) {
        for b in [
            self.epoch_bar.take(),
            self.run_bar.take(),
            self.sweep_bar.take(),
        ]
        .into_iter()
        .flatten()
        {
            b.finish_and_clear();
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// The short label of a configuration, e.g. `fc fastfood d=750 seed=0`.
pub fn run_label(cfg: &TrainConfig, small: usize) -> String {
    match cfg.proj {
        super::ProjSpec::None => format!(
            "{} full space (D={small}) seed={}",
            cfg.arch.name(),
            cfg.seed
        ),
        _ => format!(
            "{} {} d={small} seed={}",
            cfg.arch.name(),
            cfg.proj.name(),
            cfg.seed
        ),
    }
}

impl Observer for Console {
    fn run_start(&mut self, cfg: &TrainConfig, _big: usize, small: usize, batches: usize) {
        self.label = run_label(cfg, small);
        self.epochs = cfg.epochs;
        if let Some(m) = &self.multi {
            let run = m.add(ProgressBar::new(cfg.epochs as u64));
            run.set_style(style("run    {bar:30} {pos}/{len} epochs {msg}"));
            run.set_message(self.label.clone());
            let ep = m.add(ProgressBar::new(batches as u64));
            ep.set_style(style("epoch  {bar:30} {pos}/{len} batches {per_sec}"));
            self.run_bar = Some(run);
            self.epoch_bar = Some(ep);
        }
    }

    fn batch_done(&mut self) {
        if let Some(b) = &self.epoch_bar {
            b.inc(1);
        }
    }

    fn epoch_done(&mut self, r: &EpochReport) {
        if let Some(b) = &self.epoch_bar {
            b.reset();
        }
        if let Some(b) = &self.run_bar {
            b.inc(1);
        }
        if self.epoch_lines || self.multi.is_none() {
            let val = r
                .validation_accuracy
                .map(|v| format!(", validation {:.2} %", 100.0 * v))
                .unwrap_or_default();
            let train = r
                .train_accuracy
                .map(|v| format!(", train accuracy {:.2} %", 100.0 * v))
                .unwrap_or_default();
            self.line(&format!(
                "{}: epoch {}/{}: train loss {:.4}, test loss {:.4}, test accuracy {:.2} %{val}{train}, {:.2} s, {:.0} examples/s",
                self.label,
                r.epoch,
                self.epochs,
                r.train_loss,
                r.test_loss,
                100.0 * r.test_accuracy,
                r.train_seconds,
                r.examples_per_sec
            ));
        }
    }

    fn run_done(&mut self, _result: &RunResult) {
        for b in [self.epoch_bar.take(), self.run_bar.take()]
            .into_iter()
            .flatten()
        {
            b.finish_and_clear();
        }
    }
}
