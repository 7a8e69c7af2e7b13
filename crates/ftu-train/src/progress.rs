//! Live progress: indicatif bars for folds, epochs and batches (loss, lr,
//! tiles/s), or plain log lines on stderr (`--quiet`), or nothing.

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::checkpoint::EpochMetrics;

/// How training reports progress.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProgressMode {
    /// Bars on stderr (hidden when stderr is not a terminal).
    #[default]
    Bars,
    /// One log line per epoch and per checkpoint on stderr.
    Log,
    /// Nothing (tests, library use).
    Silent,
}

/// The bars of one training call.
pub(crate) struct Reporter {
    mode: ProgressMode,
    multi: MultiProgress,
    folds: Option<ProgressBar>,
    epochs: Option<ProgressBar>,
    batches: Option<ProgressBar>,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("static template")
        .progress_chars("=> ")
}

impl Reporter {
    pub(crate) fn new(mode: ProgressMode) -> Self {
        Self {
            mode,
            multi: MultiProgress::new(),
            folds: None,
            epochs: None,
            batches: None,
        }
    }

    pub(crate) fn folds(&mut self, total: usize) {
        if self.mode == ProgressMode::Bars {
            let bar = self.multi.add(ProgressBar::new(total as u64));
            bar.set_style(style("folds   [{bar:30}] {pos}/{len} {msg}"));
            self.folds = Some(bar);
        }
    }

    pub(crate) fn fold_done(&self, fold: usize, dice: f64) {
        match (&self.folds, self.mode) {
            (Some(bar), _) => {
                bar.inc(1);
                bar.set_message(format!("fold {fold}: best Dice {dice:.4}"));
            }
            (None, ProgressMode::Log) => eprintln!("fold {fold} done: best Dice {dice:.4}"),
            _ => {}
        }
    }

    pub(crate) fn fold_start(&mut self, fold: usize, epochs: usize, done: usize, batches: usize) {
        match self.mode {
            ProgressMode::Bars => {
                let e = self.multi.add(ProgressBar::new(epochs as u64));
                e.set_style(style("fold {prefix} [{bar:30}] {pos}/{len} epochs {msg}"));
                e.set_prefix(fold.to_string());
                e.set_position(done as u64);
                let b = self.multi.add(ProgressBar::new(batches as u64));
                b.set_style(style("batches [{bar:30}] {pos}/{len} {msg} (eta {eta})"));
                self.epochs = Some(e);
                self.batches = Some(b);
            }
            ProgressMode::Log => eprintln!("fold {fold}: starting at epoch {done} of {epochs}"),
            ProgressMode::Silent => {}
        }
    }

    pub(crate) fn epoch_start(&self, start: usize) {
        if let Some(b) = &self.batches {
            b.reset();
            b.set_position(start as u64);
        }
    }

    pub(crate) fn batch(&self, loss: f64, lr: f64, tiles_per_s: f64) {
        if let Some(b) = &self.batches {
            b.inc(1);
            b.set_message(format!(
                "loss {loss:.4} lr {lr:.2e} {tiles_per_s:.1} tiles/s"
            ));
        }
    }

    pub(crate) fn checkpoint(&self, fold: usize, epoch: usize, batch: usize, step: u64) {
        if self.mode == ProgressMode::Log {
            eprintln!("fold {fold} epoch {epoch} batch {batch}: checkpoint at step {step}");
        }
    }

    pub(crate) fn epoch_end(&self, fold: usize, m: &EpochMetrics) {
        let line = format!(
            "epoch {} train_loss {:.4} val_loss {:.4} val_dice {:.4} best_threshold {:.2} ({:.4}) lr {:.2e} {:.1}s",
            m.epoch,
            m.train_loss,
            m.val_loss,
            m.val_dice,
            m.best_threshold,
            m.best_threshold_dice,
            m.lr,
            m.seconds
        );
        match self.mode {
            ProgressMode::Bars => {
                if let Some(e) = &self.epochs {
                    e.inc(1);
                    e.set_message(format!("Dice {:.4}", m.val_dice));
                    e.println(format!("fold {fold} {line}"));
                }
            }
            ProgressMode::Log => eprintln!("fold {fold} {line}"),
            ProgressMode::Silent => {}
        }
    }

    pub(crate) fn fold_end(&mut self) {
        for bar in [self.epochs.take(), self.batches.take()]
            .into_iter()
            .flatten()
        {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
    }

    pub(crate) fn finish(&mut self) {
        self.fold_end();
        if let Some(f) = self.folds.take() {
            f.finish_and_clear();
        }
    }
}
