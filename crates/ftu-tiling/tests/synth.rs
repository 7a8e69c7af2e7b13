//! Synthetic slides from ftu-synth: the written TIFF reads back as the
//! generator's in-memory reference, and the glomerulus labels agree whether
//! they come from polygons, polygon JSON or the RLE made from them.

mod common;

use common::reference_window;
use ftu_polygon::Annotation;
use ftu_synth::{SlideGenerator, SlideParams};
use ftu_tiling::{ChannelLayout, Chunking, Codec, Labels, Slide, WriteOptions, write_tiff};

fn generator(width: usize, height: usize, seed: u64) -> SlideGenerator {
    SlideGenerator::new(SlideParams {
        width,
        height,
        seed,
        glomerulus_density: 4.0,
        ..Default::default()
    })
}

#[test]
fn synth_slides_read_back_as_the_generator_renders_them() {
    let (w, h) = (700, 500);
    let g = generator(w, h, 3);
    let dir = tempfile::tempdir().unwrap();
    let windows = [
        (0, 0, w, h),
        (-30, -20, 100, 90),
        (650, 460, 80, 60),
        (250, 250, 300, 7),
        (511, 255, 3, 3),
    ];

    // ftu-synth's own writer (tiled Deflate BigTIFF).
    let path = dir.path().join("synth.tiff");
    ftu_synth::write_tiff(&g, &path, |_, _| {}).unwrap();
    let slide = Slide::open(&path).unwrap();
    assert!(slide.info().bigtiff);
    let reference = g.region(0, 0, w, h);
    for (x, y, ww, hh) in windows {
        let got = slide.read_region(x, y, ww, hh).unwrap();
        assert_eq!(
            got,
            reference_window(&reference, x, y, ww, hh),
            "window ({x},{y},{ww},{hh})"
        );
    }

    // The same pixels through other storage variants.
    let variants = [
        (
            Chunking::Strips { rows: 13 },
            Codec::Lzw,
            false,
            ChannelLayout::Pages,
        ),
        (
            Chunking::Tiles {
                width: 128,
                height: 64,
            },
            Codec::PackBits,
            false,
            ChannelLayout::Planar,
        ),
        (
            Chunking::Strips { rows: 500 },
            Codec::None,
            true,
            ChannelLayout::Chunky,
        ),
    ];
    for (chunking, codec, bigtiff, layout) in variants {
        let opts = WriteOptions {
            chunking,
            codec,
            bigtiff,
            layout,
        };
        let path = dir.path().join("variant.tiff");
        write_tiff(&path, reference.view(), &opts).unwrap();
        let slide = Slide::open(&path).unwrap();
        assert_eq!(
            slide.read_region(0, 0, w, h).unwrap(),
            reference,
            "{opts:?}"
        );
        let inner = slide.read_region(123, 77, 300, 200).unwrap();
        assert_eq!(inner, g.region(123, 77, 300, 200), "{opts:?}");
    }
}

#[test]
fn polygon_json_and_rle_labels_agree() {
    let (w, h) = (2048, 1536);
    let g = generator(w, h, 11);
    assert!(!g.glomeruli().is_empty());
    let mask = g.mask_region(0, 0, w, h);
    let rle = ftu_rle::encode(mask.view());
    let from_rle = Labels::from_rle(&rle, h, w, "synth").unwrap();
    let from_polygons = Labels::from_polygons(g.glomeruli().to_vec());
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("glomeruli.json");
    let annotations = vec![Annotation {
        class: "glomerulus".into(),
        polygons: g.glomeruli().to_vec(),
    }];
    ftu_polygon::write_geojson(&json, &annotations).unwrap();
    let from_json = Labels::from_geojson(&json).unwrap();

    let (mut agree, mut total) = (0usize, 0usize);
    for (x, y, size) in [
        (0, 0, 512),
        (-100, -100, 512),
        (1800, 1300, 512),
        (700, 300, 1024),
        (1000, 1000, 333),
    ] {
        let a = from_rle.window(x, y, size, size).unwrap();
        let b = from_polygons.window(x, y, size, size).unwrap();
        // The RLE was made from these polygons: exact.
        assert_eq!(a, b, "window ({x},{y},{size})");
        let c = from_json.window(x, y, size, size).unwrap();
        agree += a.iter().zip(c.iter()).filter(|(p, q)| p == q).count();
        total += a.len();
    }
    let agreement = agree as f64 / total as f64;
    assert!(agreement >= 0.999, "JSON vs RLE agreement {agreement}");
    // The windows above hold glomeruli, so the agreement is not vacuous.
    assert!(from_rle.window(0, 0, w, h).unwrap().iter().any(|&v| v == 1));
}
