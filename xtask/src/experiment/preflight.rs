//! Checks made before any long work starts, so a typo costs seconds, not an
//! hour of training: every input exists, the libraries accept their config
//! tables (an unknown encoder is caught here), and every test slide holds
//! tissue the sliding window will find.

use std::path::Path;

use anyhow::{Context, Result, bail};
use ftu_tiling::{Slide, TissueMap};

use super::adapters;
use super::config::ExperimentConfig;
use super::stage::slides_in;

pub fn check(cfg: &ExperimentConfig) -> Result<()> {
    for c in &cfg.data.competition {
        need_dir(&c.dir.join("train"), "competition slides (train/<id>.tiff)")?;
        if c.labels == ftu_tiling::preprocess::CompetitionLabels::Csv {
            need_file(&c.dir.join("train.csv"), "competition labels (train.csv)")?;
        }
    }
    for d in &cfg.data.external_tiles {
        need_dir(&d.join("images"), "external tiles (images/*.png)")?;
        need_dir(&d.join("masks"), "external tiles (masks/*.png)")?;
    }
    if let Some(t) = &cfg.data.test_truth {
        need_file(t, "test truth")?;
        ftu_rle::csv::read_encodings(t)?;
    }
    for d in &cfg.data.extra_slides {
        slides_in(d)?;
    }
    if let Some(h) = &cfg.data.holdout {
        slides_in(&h.slides)?;
        need_file(&h.truth, "holdout truth")?;
    }
    for m in &cfg.models {
        adapters::check_train(&m.train)
            .with_context(|| format!("[[models]] `{}`: [models.train]", m.name))?;
    }
    adapters::check_infer(&cfg.infer).context("[infer]")?;

    // A test slide the tissue filter finds empty would be predicted empty
    // without a word: say so now.
    for slide in slides_in(&cfg.data.test_slides)? {
        let s = Slide::open(&slide.path)?;
        let factor = cfg.tiling.thumbnail_factor;
        let thumb = s.thumbnail(factor)?;
        let map = TissueMap::new(thumb.view(), factor, &cfg.tiling.tissue);
        let tissue = map.fraction(0, 0, s.width() as u64, s.height() as u64);
        if tissue <= 0.0 {
            bail!(
                "{}: no tissue region found (tissue filter: {:?}); check the slide or [tiling.tissue]",
                slide.path.display(),
                cfg.tiling.tissue
            );
        }
    }
    Ok(())
}

fn need_dir(path: &Path, what: &str) -> Result<()> {
    if !path.is_dir() {
        bail!("{}: missing folder ({what})", path.display());
    }
    Ok(())
}

fn need_file(path: &Path, what: &str) -> Result<()> {
    if !path.is_file() {
        bail!("{}: missing file ({what})", path.display());
    }
    Ok(())
}
