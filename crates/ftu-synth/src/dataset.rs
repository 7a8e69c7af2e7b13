//! A whole data set in the HuBMAP competition layout.

use std::path::Path;

use ftu_polygon::{Annotation, write_geojson};
use ftu_rle::BandEncoder;

use crate::error::SynthError;
use crate::generator::SlideGenerator;
use crate::noise::mix;
use crate::params::{DatasetParams, SlideParams};
use crate::tiff_out::{TILE, write_tiff};

/// The columns of `HuBMAP-20-dataset_information.csv`, as the competition
/// published them (its typo "segmention" included).
pub const DATASET_INFO_COLUMNS: [&str; 16] = [
    "image_file",
    "width_pixels",
    "height_pixels",
    "anatomical_structures_segmention_file",
    "glomerulus_segmentation_file",
    "patient_number",
    "race",
    "ethnicity",
    "sex",
    "age",
    "weight_kilograms",
    "height_centimeters",
    "bmi_kg/m^2",
    "laterality",
    "percent_cortex",
    "percent_medulla",
];

/// One slide of a data set: its id (9 hex digits, like the competition's),
/// whether it is a training slide, and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetSlide {
    pub id: String,
    pub train: bool,
    pub params: SlideParams,
}

/// Where writing a data set has got to, for progress bars.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetProgress {
    /// Rows written so far, over all slides.
    pub rows_done: u64,
    /// Rows of all slides together.
    pub rows_total: u64,
    /// The slide being written.
    pub id: String,
}

/// The slides a data set holds: train slides first, then test slides, each
/// with a seed and an id derived from the data-set seed. Ids are distinct.
pub fn plan_dataset(params: &DatasetParams) -> Vec<DatasetSlide> {
    let mut ids = std::collections::HashSet::new();
    let mut slides = Vec::with_capacity(params.train + params.test);
    for k in 0..params.train + params.test {
        let seed = mix(params.seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ (k as u64 + 1));
        let mut salt = 0u64;
        let id = loop {
            let id = format!("{:09x}", mix(seed ^ salt) >> 28);
            if ids.insert(id.clone()) {
                break id;
            }
            salt += 1;
        };
        slides.push(DatasetSlide {
            id,
            train: k < params.train,
            params: SlideParams {
                width: params.width,
                height: params.height,
                seed,
                ..SlideParams::default()
            },
        });
    }
    slides
}

/// Writes a data set under `out_dir`:
///
/// - `train/<id>.tiff`, `train/<id>.json` (glomeruli, QuPath GeoJSON),
///   `train/<id>-anatomical-structure.json` (Cortex, Medulla);
/// - `test/<id>.tiff`, `test/<id>-anatomical-structure.json`;
/// - `train.csv` (`id,encoding`), `test_truth.csv` (the test labels, same
///   form), `sample_submission.csv` (`id,predicted`, empty);
/// - `HuBMAP-20-dataset_information.csv` (all slides; the glomerulus file
///   column is empty for test slides, whose labels are only in
///   `test_truth.csv`).
///
/// Returns the slides written.
pub fn write_dataset(
    out_dir: &Path,
    params: &DatasetParams,
) -> Result<Vec<DatasetSlide>, SynthError> {
    write_dataset_with_progress(out_dir, params, |_| {})
}

/// [`write_dataset`], calling `progress` after every band of every slide.
pub fn write_dataset_with_progress(
    out_dir: &Path,
    params: &DatasetParams,
    mut progress: impl FnMut(&DatasetProgress),
) -> Result<Vec<DatasetSlide>, SynthError> {
    if params.width == 0 || params.height == 0 {
        return Err(SynthError::Invalid {
            path: out_dir.to_owned(),
            message: format!(
                "slide size {} x {} has no pixels",
                params.width, params.height
            ),
        });
    }
    let slides = plan_dataset(params);
    for sub in ["train", "test"] {
        let dir = out_dir.join(sub);
        std::fs::create_dir_all(&dir).map_err(|error| SynthError::Io { path: dir, error })?;
    }
    let rows_total = (slides.len() * params.height) as u64;
    let mut rows_before = 0u64;
    let (mut train_rows, mut test_rows, mut info) = (Vec::new(), Vec::new(), Vec::new());
    for slide in &slides {
        let split = if slide.train { "train" } else { "test" };
        let generator = SlideGenerator::new(slide.params.clone());
        let tiff_path = out_dir.join(split).join(format!("{}.tiff", slide.id));
        let mut report = |rows: usize| {
            progress(&DatasetProgress {
                rows_done: rows_before + rows as u64,
                rows_total,
                id: slide.id.clone(),
            })
        };
        write_tiff(&generator, &tiff_path, |done, _| report(done))?;
        rows_before += params.height as u64;

        let rle = encode_mask(&generator, &tiff_path)?;
        let anatomy = generator.anatomical_structures();
        write_geojson(
            out_dir
                .join(split)
                .join(format!("{}-anatomical-structure.json", slide.id)),
            &anatomy,
        )?;
        if slide.train {
            let glomeruli: Vec<Annotation> = generator
                .glomeruli()
                .iter()
                .map(|p| Annotation {
                    class: "glomerulus".into(),
                    polygons: vec![p.clone()],
                })
                .collect();
            write_geojson(
                out_dir.join(split).join(format!("{}.json", slide.id)),
                &glomeruli,
            )?;
            train_rows.push((slide.id.clone(), rle));
        } else {
            test_rows.push((slide.id.clone(), rle));
        }
        info.push(info_row(slide, &anatomy));
    }

    let write = |name: &str, column: &str, rows: &[(String, String)]| {
        ftu_rle::csv::write_encodings(out_dir.join(name), column, rows).map_err(SynthError::RleFile)
    };
    write("train.csv", "encoding", &train_rows)?;
    write("test_truth.csv", "encoding", &test_rows)?;
    let empty: Vec<(String, String)> = test_rows
        .iter()
        .map(|(id, _)| (id.clone(), String::new()))
        .collect();
    write("sample_submission.csv", "predicted", &empty)?;
    write_info(&out_dir.join("HuBMAP-20-dataset_information.csv"), &info)?;
    Ok(slides)
}

/// The slide's glomerulus mask as competition RLE, encoded band by band.
fn encode_mask(generator: &SlideGenerator, slide_path: &Path) -> Result<String, SynthError> {
    let (w, h) = (generator.width(), generator.height());
    let rle_err = |error| SynthError::Rle {
        path: slide_path.to_owned(),
        error,
    };
    let mut encoder = BandEncoder::new(h, w);
    for y in (0..h).step_by(TILE) {
        let band = generator.mask_region(0, y, w, TILE.min(h - y));
        encoder.push_band(band.view()).map_err(rle_err)?;
    }
    encoder.finish().map_err(rle_err)
}

/// One row of the data-set information: dimensions and file names, plus
/// plausible, seeded donor metadata (the real columns, invented values).
fn info_row(slide: &DatasetSlide, anatomy: &[Annotation]) -> Vec<String> {
    let area = |class: &str| -> f64 {
        anatomy
            .iter()
            .filter(|a| a.class == class)
            .flat_map(|a| &a.polygons)
            .map(|p| p.area())
            .sum()
    };
    let (cortex, medulla) = (area("Cortex"), area("Medulla"));
    let pct_cortex = if cortex + medulla > 0.0 {
        (100.0 * cortex / (cortex + medulla)).round() as u32
    } else {
        100
    };
    let h = mix(slide.params.seed ^ 0xD0_702);
    let pick = |k: u32, n: u64| (mix(h ^ k as u64) % n) as usize;
    let weight = 55.0 + (pick(1, 750) as f64) / 10.0;
    let height = 150.0 + (pick(2, 450) as f64) / 10.0;
    let bmi = weight / (height / 100.0).powi(2);
    vec![
        format!("{}.tiff", slide.id),
        slide.params.width.to_string(),
        slide.params.height.to_string(),
        format!("{}-anatomical-structure.json", slide.id),
        if slide.train {
            format!("{}.json", slide.id)
        } else {
            String::new()
        },
        (63000 + pick(3, 6000)).to_string(),
        ["White", "Black or African American", "Asian"][pick(4, 3)].to_string(),
        ["Not Hispanic or Latino", "Hispanic or Latino"][usize::from(pick(5, 10) == 0)].to_string(),
        ["Female", "Male"][pick(6, 2)].to_string(),
        (30 + pick(7, 50)).to_string(),
        format!("{weight:.1}"),
        format!("{height:.1}"),
        format!("{bmi:.1}"),
        ["Left", "Right"][pick(8, 2)].to_string(),
        pct_cortex.to_string(),
        (100 - pct_cortex).to_string(),
    ]
}

/// Writes the data-set information CSV atomically.
fn write_info(path: &Path, rows: &[Vec<String>]) -> Result<(), SynthError> {
    let io = |error| SynthError::Io {
        path: path.to_owned(),
        error,
    };
    let csv_err = |error| SynthError::Csv {
        path: path.to_owned(),
        error,
    };
    let out = ftu_outfile::AtomicFile::create(path).map_err(io)?;
    {
        let mut w = csv::Writer::from_writer(out.file());
        w.write_record(DATASET_INFO_COLUMNS).map_err(csv_err)?;
        for row in rows {
            w.write_record(row).map_err(csv_err)?;
        }
        w.flush().map_err(io)?;
    }
    out.commit().map_err(io)
}
