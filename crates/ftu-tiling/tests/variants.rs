//! Every storage variant the reader supports, written from an in-memory
//! reference, must read back exactly: whole image, edges, corners, windows
//! across chunk borders, and windows partly or wholly outside the slide.

mod common;

use common::{reference, reference_window};
use ftu_tiling::{ChannelLayout, Chunking, Codec, FILL, Slide, Storage, WriteOptions, write_tiff};
use ndarray::{Array3, s};
use rayon::prelude::*;

const W: usize = 301;
const H: usize = 203;

/// Windows (x, y, w, h) chosen to hit every edge case of the chunk arithmetic.
fn windows() -> Vec<(i64, i64, usize, usize)> {
    vec![
        (0, 0, W, H),                       // whole slide
        (-17, -9, 40, 30),                  // top-left corner, padded
        (W as i64 - 20, -5, 50, 25),        // top-right corner, padded
        (-3, H as i64 - 10, 30, 40),        // bottom-left corner, padded
        (W as i64 - 1, H as i64 - 1, 5, 5), // last pixel
        (63, 47, 3, 3),                     // across a tile corner (64 x 48 tiles)
        (100, 6, 150, 9),                   // across strip borders (7-row strips)
        (130, 100, 1, 1),                   // one pixel
        (-50, -50, 20, 20),                 // wholly outside
        (W as i64 + 5, 10, 10, 10),         // wholly outside, right
        (-5, -5, W + 10, H + 10),           // the slide plus a border
    ]
}

fn check_reads(slide: &Slide, img: &Array3<u8>, label: &str) {
    for (x, y, w, h) in windows() {
        let got = slide
            .read_region(x, y, w, h)
            .unwrap_or_else(|e| panic!("{label}: window ({x},{y},{w},{h}): {e}"));
        let want = reference_window(img, x, y, w, h);
        assert_eq!(got, want, "{label}: window ({x},{y},{w},{h})");
    }
}

#[test]
fn every_storage_variant_reads_back_exactly() {
    let img = reference(W, H);
    let dir = tempfile::tempdir().unwrap();
    let chunkings = [
        Chunking::Tiles {
            width: 64,
            height: 48,
        },
        Chunking::Strips { rows: 7 },
    ];
    let codecs = [Codec::None, Codec::Lzw, Codec::Deflate, Codec::PackBits];
    let layouts = [
        ChannelLayout::Chunky,
        ChannelLayout::Planar,
        ChannelLayout::Pages,
    ];
    let mut n = 0;
    for chunking in chunkings {
        for codec in codecs {
            for bigtiff in [false, true] {
                for layout in layouts {
                    let opts = WriteOptions {
                        chunking,
                        codec,
                        bigtiff,
                        layout,
                    };
                    let label = format!("{opts:?}");
                    let path = dir.path().join(format!("v{n}.tiff"));
                    n += 1;
                    write_tiff(&path, img.view(), &opts).unwrap();
                    let slide = Slide::open(&path).unwrap_or_else(|e| panic!("{label}: {e}"));
                    let info = slide.info();
                    assert_eq!((info.width, info.height), (W as u32, H as u32), "{label}");
                    assert_eq!(info.layout, layout, "{label}");
                    assert_eq!(info.bigtiff, bigtiff, "{label}");
                    assert_eq!(info.channels, 3, "{label}");
                    let want_storage = match chunking {
                        Chunking::Tiles { width, height } => Storage::Tiled {
                            tile_width: width,
                            tile_height: height,
                        },
                        Chunking::Strips { rows } => Storage::Striped {
                            rows_per_strip: rows,
                        },
                    };
                    assert_eq!(info.storage, want_storage, "{label}");
                    check_reads(&slide, &img, &label);
                }
            }
        }
    }
    assert_eq!(n, 48);
}

#[test]
fn grey_is_expanded_and_alpha_dropped() {
    let img = reference(W, H);
    let dir = tempfile::tempdir().unwrap();

    let grey = img.slice(s![.., .., 1..2]).to_owned();
    let path = dir.path().join("grey.tiff");
    write_tiff(&path, grey.view(), &WriteOptions::default()).unwrap();
    let slide = Slide::open(&path).unwrap();
    assert_eq!(slide.info().channels, 1);
    let got = slide.read_region(10, 20, 100, 50).unwrap();
    for ((y, x, _), v) in got.indexed_iter() {
        assert_eq!(*v, img[[20 + y, 10 + x, 1]]);
    }

    let mut rgba = Array3::zeros((H, W, 4));
    rgba.slice_mut(s![.., .., ..3]).assign(&img);
    rgba.slice_mut(s![.., .., 3]).fill(77);
    let path = dir.path().join("rgba.tiff");
    let opts = WriteOptions {
        chunking: Chunking::Strips { rows: 16 },
        codec: Codec::Lzw,
        bigtiff: false,
        layout: ChannelLayout::Chunky,
    };
    write_tiff(&path, rgba.view(), &opts).unwrap();
    let slide = Slide::open(&path).unwrap();
    assert_eq!(slide.info().channels, 4);
    check_reads(&slide, &img, "rgba");
}

#[test]
fn concurrent_reads_from_rayon_workers_agree() {
    let img = reference(W, H);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("par.tiff");
    let opts = WriteOptions {
        chunking: Chunking::Tiles {
            width: 32,
            height: 32,
        },
        ..WriteOptions::default()
    };
    write_tiff(&path, img.view(), &opts).unwrap();
    let slide = Slide::open(&path).unwrap();
    let origins: Vec<(i64, i64)> = (0..64)
        .map(|i| ((i * 37) % 280 - 10, (i * 53) % 190 - 5))
        .collect();
    origins.par_iter().for_each(|&(x, y)| {
        let got = slide.read_region(x, y, 40, 30).unwrap();
        assert_eq!(got, reference_window(&img, x, y, 40, 30), "({x},{y})");
    });
}

#[test]
fn thumbnail_is_the_block_mean() {
    let img = reference(W, H);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("thumb.tiff");
    write_tiff(&path, img.view(), &WriteOptions::default()).unwrap();
    let slide = Slide::open(&path).unwrap();
    let f = 8;
    let thumb = slide.thumbnail(f as u32).unwrap();
    assert_eq!(thumb.dim(), (H.div_ceil(f), W.div_ceil(f), 3));
    for ((ty, tx, c), &v) in thumb.indexed_iter() {
        let block = img.slice(s![
            ty * f..(ty * f + f).min(H),
            tx * f..(tx * f + f).min(W),
            c
        ]);
        let sum: u32 = block.iter().map(|&p| u32::from(p)).sum();
        let n = block.len() as u32;
        assert_eq!(
            u32::from(v),
            (sum + n / 2) / n,
            "thumbnail pixel ({ty},{tx},{c})"
        );
    }
    assert!(slide.thumbnail(0).is_err());
    // Padding value is documented, and reads wholly outside are exactly that.
    assert!(
        slide
            .read_region(-10, -10, 5, 5)
            .unwrap()
            .iter()
            .all(|&v| v == FILL)
    );
}
