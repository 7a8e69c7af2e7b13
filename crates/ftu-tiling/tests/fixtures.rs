//! TIFFs written by tifffile + imagecodecs (scripts/tiling_make_fixtures.py)
//! must read as the pixels tifffile itself reads from them.

use std::path::PathBuf;

use ftu_tiling::{ChannelLayout, Slide, Storage};
use ndarray::{Array3, s};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/tiling")
        .join(name)
}

fn load_png(name: &str) -> Array3<u8> {
    let img = image::open(fixture(name)).unwrap().to_rgb8();
    let (w, h) = img.dimensions();
    Array3::from_shape_vec((h as usize, w as usize, 3), img.into_raw()).unwrap()
}

#[test]
fn lossless_layouts_match_the_reference() {
    let want = load_png("reference.png");
    let cases = [
        ("tiled_deflate_bigtiff.tiff", ChannelLayout::Chunky, true),
        ("striped_lzw_predictor.tiff", ChannelLayout::Chunky, false),
        ("striped_packbits.tiff", ChannelLayout::Chunky, false),
        ("tiled_none_planar.tiff", ChannelLayout::Planar, false),
        (
            "striped_deflate_planar_bigtiff.tiff",
            ChannelLayout::Planar,
            true,
        ),
        ("pages_1x1x3xHxW.tiff", ChannelLayout::Pages, false),
        ("pyramid_tiled_deflate.tiff", ChannelLayout::Chunky, false),
    ];
    for (name, layout, bigtiff) in cases {
        let slide = Slide::open(fixture(name)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((slide.width(), slide.height()), (300, 200), "{name}");
        assert_eq!(slide.info().layout, layout, "{name}");
        assert_eq!(slide.info().bigtiff, bigtiff, "{name}");
        let got = slide.read_region(0, 0, 300, 200).unwrap();
        assert!(got == want, "{name}: pixels differ from reference.png");
        // An unaligned inner window too.
        let got = slide.read_region(37, 51, 130, 77).unwrap();
        assert_eq!(got, want.slice(s![51..128, 37..167, ..]), "{name}");
    }
    let pyramid = Slide::open(fixture("pyramid_tiled_deflate.tiff")).unwrap();
    assert_eq!(pyramid.info().other_pages, vec![(150, 100)]);
    assert_eq!(
        pyramid.info().storage,
        Storage::Tiled {
            tile_width: 64,
            tile_height: 64
        }
    );
}

#[test]
fn jpeg_tiles_match_tifffile_within_tolerance() {
    let want = load_png("jpeg_expected.png");
    let slide = Slide::open(fixture("tiled_jpeg.tiff")).unwrap();
    assert_eq!(slide.info().photometric, "YCbCr");
    let got = slide.read_region(0, 0, 300, 200).unwrap();
    let diffs: Vec<u32> = got
        .iter()
        .zip(want.iter())
        .map(|(&a, &b)| u32::from(a.abs_diff(b)))
        .collect();
    let mean = diffs.iter().sum::<u32>() as f64 / diffs.len() as f64;
    let max = *diffs.iter().max().unwrap();
    println!("JPEG vs tifffile: mean abs diff {mean:.3}, max {max}");
    assert!(mean < 1.0, "mean abs diff {mean}");
    assert!(max <= 8, "max abs diff {max}");
}
