//! The recipe's ablation table: single models vs the fold ensemble, without
//! and with TTA, fixed threshold vs DenseCRF, each a mean Dice over slides
//! with known truth. One sliding-window pass per slide: each member x TTA
//! view runs once per patch and every row combines those cached logits.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use crate::config::{InferConfig, PostKind};
use crate::engine::{BandSink, ProgressFn, Variant, run_variants};
use crate::error::{EnsembleError, Result, io_err};
use crate::model::{TileModel, load_members};
use crate::predict::{MaskSink, SlideInput, open_slide, parse_truth};

/// Which models a row uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Models {
    /// Each member alone; the row's Dice averages over members.
    Single,
    /// All members averaged.
    Ensemble,
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct AblationRow {
    pub models: Models,
    pub tta: bool,
    pub post: PostKind,
    /// Mean Dice over slides (and over members for `Single`).
    pub dice: f64,
    /// Dice per slide, in the table's slide order.
    pub per_slide: Vec<f64>,
}

impl AblationRow {
    /// The setup as the recipe's table words it.
    pub fn setup(&self, k: usize) -> String {
        let models = match self.models {
            Models::Single => "Average of single models".to_owned(),
            Models::Ensemble if k == 1 => "Ensemble (1 fold)".to_owned(),
            Models::Ensemble => format!("Ensemble ({k} folds)"),
        };
        let tta = if self.tta { "TTA" } else { "no TTA" };
        let post = match self.post {
            PostKind::Threshold => "fixed threshold",
            PostKind::Crf => "DenseCRF",
        };
        format!("{models} – {tta} – {post}")
    }
}

/// The seven rows of the recipe's table.
#[derive(Debug, Clone, PartialEq)]
pub struct AblationTable {
    pub rows: Vec<AblationRow>,
    pub slides: Vec<String>,
    /// Members of the ensemble.
    pub members: usize,
    /// The TTA set of the TTA rows.
    pub tta: String,
}

/// The rows, in the recipe's order.
const ROWS: [(Models, bool, PostKind); 7] = [
    (Models::Single, false, PostKind::Threshold),
    (Models::Single, true, PostKind::Threshold),
    (Models::Single, true, PostKind::Crf),
    (Models::Ensemble, false, PostKind::Threshold),
    (Models::Ensemble, true, PostKind::Threshold),
    (Models::Ensemble, false, PostKind::Crf),
    (Models::Ensemble, true, PostKind::Crf),
];

impl AblationTable {
    /// A Markdown table: setup and mean Dice (4 decimals).
    pub fn to_markdown(&self) -> String {
        let mut s = format!(
            "Mean Dice over {} slide(s) with known truth; {} member(s); TTA = {}.\n\n| Inference setup | Dice |\n|---|---|\n",
            self.slides.len(),
            self.members,
            self.tta
        );
        for r in &self.rows {
            s.push_str(&format!("| {} | {:.4} |\n", r.setup(self.members), r.dice));
        }
        s
    }

    /// CSV: `setup,models,tta,post,dice,<slide ids...>`.
    pub fn to_csv(&self) -> String {
        let mut s = String::from("setup,models,tta,post,dice");
        for id in &self.slides {
            s.push(',');
            s.push_str(id);
        }
        s.push('\n');
        for r in &self.rows {
            let models = match r.models {
                Models::Single => "single",
                Models::Ensemble => "ensemble",
            };
            let post = match r.post {
                PostKind::Threshold => "threshold",
                PostKind::Crf => "crf",
            };
            s.push_str(&format!(
                "\"{}\",{models},{},{post},{:.6}",
                r.setup(self.members),
                r.tta,
                r.dice
            ));
            for d in &r.per_slide {
                s.push_str(&format!(",{d:.6}"));
            }
            s.push('\n');
        }
        s
    }

    /// Writes `ablation.md` and `ablation.csv` into `out_dir`, atomically.
    pub fn write(&self, out_dir: &Path) -> Result<()> {
        std::fs::create_dir_all(out_dir).map_err(io_err(out_dir))?;
        for (name, text) in [
            ("ablation.md", self.to_markdown()),
            ("ablation.csv", self.to_csv()),
        ] {
            let path = out_dir.join(name);
            let out = ftu_outfile::AtomicFile::create(&path).map_err(io_err(&path))?;
            out.file()
                .write_all(text.as_bytes())
                .map_err(io_err(&path))?;
            out.commit().map_err(io_err(&path))?;
        }
        Ok(())
    }
}

/// The variants one slide needs, and for each table row the variant indices
/// whose Dice it averages.
fn plan(members: usize) -> (Vec<Variant>, Vec<Vec<usize>>) {
    let mut variants: Vec<Variant> = Vec::new();
    let mut rows = Vec::new();
    for (models, tta, post) in ROWS {
        let sets: Vec<Vec<usize>> = match models {
            Models::Single => (0..members).map(|m| vec![m]).collect(),
            Models::Ensemble => vec![(0..members).collect()],
        };
        let idx = sets
            .into_iter()
            .map(|members| {
                let v = Variant { members, tta, post };
                match variants.iter().position(|x| *x == v) {
                    Some(i) => i,
                    None => {
                        variants.push(v);
                        variants.len() - 1
                    }
                }
            })
            .collect();
        rows.push(idx);
    }
    (variants, rows)
}

/// Runs the ablation with loaded `models` (one per member). Every slide needs
/// truth. Writes `ablation.md` / `ablation.csv` into `out_dir`.
pub fn ablation_with(
    slides: &[SlideInput],
    cfg: &InferConfig,
    models: &[Arc<dyn TileModel>],
    out_dir: &Path,
    progress: Option<ProgressFn<'_>>,
) -> Result<AblationTable> {
    cfg.validate()?;
    if slides.is_empty() {
        return Err(EnsembleError::Config("ablation: no slides".into()));
    }
    let (variants, row_variants) = plan(cfg.members.len());
    // dice[v][s]
    let mut dice = vec![Vec::with_capacity(slides.len()); variants.len()];
    for input in slides {
        let truth = input.truth.as_deref().ok_or_else(|| EnsembleError::Truth {
            slide: input.id.clone(),
            message: "the ablation needs truth for every slide (truth CSV has no row)".into(),
        })?;
        let (slide, _, tissue) = open_slide(&input.path, cfg)?;
        let (w, h) = (slide.width() as usize, slide.height() as usize);
        parse_truth(&input.id, truth, h, w)?;
        let mut sinks: Vec<MaskSink> = variants
            .iter()
            .map(|v| MaskSink::new(h, w, cfg.final_threshold(v.post)))
            .collect();
        let mut refs: Vec<&mut dyn BandSink> =
            sinks.iter_mut().map(|s| s as &mut dyn BandSink).collect();
        run_variants(
            &slide, &input.id, &tissue, cfg, models, &variants, &mut refs, progress,
        )?;
        for (v, sink) in sinks.iter_mut().enumerate() {
            dice[v].push(ftu_rle::dice_rle(truth, &sink.finish()?)?);
        }
    }
    let rows = ROWS
        .iter()
        .zip(&row_variants)
        .map(|(&(models, tta, post), vs)| {
            let per_slide: Vec<f64> = (0..slides.len())
                .map(|s| vs.iter().map(|&v| dice[v][s]).sum::<f64>() / vs.len() as f64)
                .collect();
            AblationRow {
                models,
                tta,
                post,
                dice: ftu_rle::mean_dice(&per_slide),
                per_slide,
            }
        })
        .collect();
    let table = AblationTable {
        rows,
        slides: slides.iter().map(|s| s.id.clone()).collect(),
        members: cfg.members.len(),
        tta: cfg.tta.name().into(),
    };
    table.write(out_dir)?;
    Ok(table)
}

/// Loads the config's members and runs [`ablation_with`].
pub fn ablation(
    slides: &[SlideInput],
    cfg: &InferConfig,
    out_dir: &Path,
    progress: Option<ProgressFn<'_>>,
) -> Result<AblationTable> {
    cfg.validate()?;
    let models = load_members(&cfg.members)?;
    ablation_with(slides, cfg, &models, out_dir, progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_shares_variants_between_rows() {
        let (variants, rows) = plan(3);
        // 3 single x 3 setups + 4 ensemble setups.
        assert_eq!(variants.len(), 13);
        assert_eq!(rows[0].len(), 3);
        assert_eq!(rows[3].len(), 1);
        // With one member, "single" and "ensemble" rows are the same variants.
        let (variants, rows) = plan(1);
        assert_eq!(variants.len(), 4);
        assert_eq!(rows[0], rows[3]);
    }
}
