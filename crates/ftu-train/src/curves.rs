//! `curves.png`: loss (left panel: training blue, validation orange) and
//! validation Dice (right panel: at the configured threshold green, at the
//! best grid threshold purple) over epochs, drawn with plotters into an RGB
//! buffer and written as PNG. No text is drawn: plotters needs a font
//! backend for text and no system fonts can be assumed, so axes carry a
//! faint grid (loss from 0 to the largest value; Dice from 0 to 1 in tenths)
//! and the numbers live in `metrics.csv` next to it.

use std::path::Path;

use plotters::prelude::*;

use crate::checkpoint::EpochMetrics;
use crate::error::TrainError;

const WIDTH: u32 = 960;
const HEIGHT: u32 = 420;

/// Draws the two panels for `history` into `path` (atomically).
pub fn write_curves(path: &Path, history: &[EpochMetrics]) -> Result<(), TrainError> {
    let mut buffer = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    draw(&mut buffer, history).map_err(|message| TrainError::Data {
        path: path.to_owned(),
        message: format!("cannot draw curves: {message}"),
    })?;
    let image = image::RgbImage::from_raw(WIDTH, HEIGHT, buffer).expect("buffer matches size");
    let out = ftu_outfile::AtomicFile::create(path).map_err(|e| TrainError::io(path, e))?;
    image
        .write_to(
            &mut std::io::BufWriter::new(out.file()),
            image::ImageFormat::Png,
        )
        .map_err(|e| TrainError::Data {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    out.commit().map_err(|e| TrainError::io(path, e))
}

fn draw(buffer: &mut [u8], history: &[EpochMetrics]) -> Result<(), String> {
    let root = BitMapBackend::with_buffer(buffer, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (left, right) = root.split_horizontally(WIDTH / 2);
    let epochs = history.len().max(2) as f64 - 1.0;
    let max_loss = history
        .iter()
        .flat_map(|m| [m.train_loss, m.val_loss])
        .filter(|v| v.is_finite())
        .fold(1e-6f64, f64::max);
    let orange = RGBColor(230, 120, 20);
    let purple = RGBColor(140, 60, 180);
    let green = RGBColor(30, 150, 60);
    let panel = |area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
                 top: f64,
                 series: &[(Vec<f64>, RGBColor)]|
     -> Result<(), String> {
        let mut chart = ChartBuilder::on(area)
            .margin(16)
            .build_cartesian_2d(0f64..epochs.max(1.0), 0f64..top)
            .map_err(|e| e.to_string())?;
        let grey = RGBColor(225, 225, 225);
        for k in 0..=10 {
            let y = top * k as f64 / 10.0;
            chart
                .draw_series(LineSeries::new([(0.0, y), (epochs.max(1.0), y)], grey))
                .map_err(|e| e.to_string())?;
        }
        for (values, colour) in series {
            chart
                .draw_series(LineSeries::new(
                    values.iter().enumerate().map(|(i, &v)| (i as f64, v)),
                    colour.stroke_width(2),
                ))
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    };
    let col = |f: fn(&EpochMetrics) -> f64| history.iter().map(f).collect::<Vec<f64>>();
    panel(
        &left,
        max_loss * 1.05,
        &[(col(|m| m.train_loss), BLUE), (col(|m| m.val_loss), orange)],
    )?;
    panel(
        &right,
        1.0,
        &[
            (col(|m| m.val_dice), green),
            (col(|m| m.best_threshold_dice), purple),
        ],
    )?;
    root.present().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_png_with_the_curves() {
        let history: Vec<EpochMetrics> = (0..4)
            .map(|e| EpochMetrics {
                epoch: e,
                train_loss: 1.0 / (e + 1) as f64,
                val_loss: 1.2 / (e + 1) as f64,
                val_dice: 0.2 * e as f64,
                best_threshold: 0.5,
                best_threshold_dice: 0.2 * e as f64 + 0.05,
                lr: 1e-3,
                seconds: 1.0,
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.png");
        write_curves(&path, &history).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (WIDTH, HEIGHT));
        // Some pixels are the training-loss blue.
        assert!(img.pixels().any(|p| p.0 == [0, 0, 255]));
        // One epoch only still draws.
        write_curves(&path, &history[..1]).unwrap();
    }
}
