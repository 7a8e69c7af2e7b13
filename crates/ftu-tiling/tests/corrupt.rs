//! Bad files end in a clear error naming the file (and the chunk), never in a
//! panic: unsupported bit depth, absurd declared sizes, truncation, corrupt
//! compressed data, and a seeded fuzz of byte flips and truncations.

mod common;

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use common::reference;
use ftu_tiling::{Chunking, Codec, Slide, TilingError, WriteOptions, write_tiff};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tiff::encoder::{TiffEncoder, colortype};
use tiff::tags::Tag;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/tiling")
        .join(name)
}

/// Opens and reads the whole slide plus an unaligned window.
fn open_and_read(path: &Path) -> Result<(), TilingError> {
    let slide = Slide::open(path)?;
    let (w, h) = (slide.width() as usize, slide.height() as usize);
    let all = slide.read_region(0, 0, w.min(4096), h.min(4096))?;
    assert_eq!(all.dim(), (h.min(4096), w.min(4096), 3));
    slide.read_region(13, 7, 50, 60)?;
    slide.thumbnail(16)?;
    Ok(())
}

#[test]
fn sixteen_bit_slides_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rgb16.tiff");
    let mut bytes = Cursor::new(Vec::new());
    TiffEncoder::new(&mut bytes)
        .unwrap()
        .write_image::<colortype::RGB16>(8, 4, &[1000u16; 8 * 4 * 3])
        .unwrap();
    std::fs::write(&path, bytes.into_inner()).unwrap();
    let err = Slide::open(&path).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, TilingError::Unsupported { .. }), "{msg}");
    assert!(
        msg.contains("rgb16.tiff") && msg.contains("16 bits"),
        "{msg}"
    );
}

/// A TIFF whose tags declare the given sizes, with `chunks` 16-byte chunks of data.
fn declared(width: u32, height: u32, tile: u32, chunks: usize) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    {
        let mut enc = TiffEncoder::new_big(&mut bytes).unwrap();
        let mut dir = enc.image_directory().unwrap();
        let offset = dir.write_data(&[0u8; 16][..]).unwrap();
        dir.write_tag(Tag::ImageWidth, width).unwrap();
        dir.write_tag(Tag::ImageLength, height).unwrap();
        dir.write_tag(Tag::BitsPerSample, &[8u16, 8, 8][..])
            .unwrap();
        dir.write_tag(Tag::Compression, 8u16).unwrap();
        dir.write_tag(Tag::PhotometricInterpretation, 2u16).unwrap();
        dir.write_tag(Tag::SamplesPerPixel, 3u16).unwrap();
        dir.write_tag(Tag::TileWidth, tile).unwrap();
        dir.write_tag(Tag::TileLength, tile).unwrap();
        dir.write_tag(Tag::TileOffsets, &vec![offset; chunks][..])
            .unwrap();
        dir.write_tag(Tag::TileByteCounts, &vec![16u64; chunks][..])
            .unwrap();
        dir.finish().unwrap();
    }
    bytes.into_inner()
}

#[test]
fn decompression_bombs_are_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    // One 60000 x 60000 tile would decode to 10.8 GB.
    let path = dir.path().join("bomb_tile.tiff");
    std::fs::write(&path, declared(60_000, 60_000, 60_000, 1)).unwrap();
    let err = Slide::open(&path).unwrap_err();
    assert!(matches!(err, TilingError::TooLarge { .. }), "{err}");
    assert!(err.to_string().contains("bomb_tile.tiff"), "{err}");

    // A side of 4 million pixels.
    let path = dir.path().join("bomb_side.tiff");
    std::fs::write(&path, declared(4_000_000, 64, 64, 62_500)).unwrap();
    let err = Slide::open(&path).unwrap_err();
    assert!(matches!(err, TilingError::TooLarge { .. }), "{err}");

    // Fewer offsets than the declared size needs.
    let path = dir.path().join("short.tiff");
    std::fs::write(&path, declared(256, 256, 64, 3)).unwrap();
    let err = Slide::open(&path).unwrap_err();
    assert!(
        matches!(
            err,
            TilingError::Malformed { .. } | TilingError::Tiff { .. }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("short.tiff"), "{err}");

    // A window too big to allocate is refused too.
    let path = dir.path().join("ok.tiff");
    write_tiff(&path, reference(32, 32).view(), &WriteOptions::default()).unwrap();
    let slide = Slide::open(&path).unwrap();
    let err = slide.read_region(0, 0, 1 << 20, 1 << 20).unwrap_err();
    assert!(matches!(err, TilingError::TooLarge { .. }), "{err}");
}

#[test]
fn a_corrupt_chunk_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.tiff");
    let opts = WriteOptions {
        chunking: Chunking::Tiles {
            width: 32,
            height: 32,
        },
        codec: Codec::Deflate,
        bigtiff: false,
        layout: ftu_tiling::ChannelLayout::Chunky,
    };
    write_tiff(&path, reference(64, 64).view(), &opts).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    // Chunks follow the 8-byte header in file order: garble the start of the
    // first chunk's zlib stream.
    bytes[8..20].fill(0xFF);
    std::fs::write(&path, &bytes).unwrap();
    let slide = Slide::open(&path).unwrap();
    // The other chunks still read.
    slide.read_region(32, 32, 32, 32).unwrap();
    let err = slide.read_region(0, 0, 8, 8).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, TilingError::Chunk { chunk: 0, .. }), "{msg}");
    assert!(
        msg.contains("corrupt.tiff") && msg.contains("chunk 0"),
        "{msg}"
    );
}

#[test]
fn truncated_files_error() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("tiled_deflate_bigtiff.tiff")).unwrap();
    for (i, len) in [0, 7, 16, 200, bytes.len() / 3, bytes.len() - 2000]
        .into_iter()
        .enumerate()
    {
        let path = dir.path().join(format!("trunc{i}.tiff"));
        std::fs::write(&path, &bytes[..len]).unwrap();
        let err = open_and_read(&path).unwrap_err();
        assert!(err.to_string().contains(&format!("trunc{i}.tiff")), "{err}");
    }
}

#[test]
fn fuzzed_files_never_panic() {
    let sources = [
        "tiled_deflate_bigtiff.tiff",
        "striped_lzw_predictor.tiff",
        "tiled_jpeg.tiff",
        "pages_1x1x3xHxW.tiff",
        "striped_deflate_planar_bigtiff.tiff",
        "tiled_none_planar.tiff",
    ];
    let originals: Vec<Vec<u8>> = sources
        .iter()
        .map(|s| std::fs::read(fixture(s)).unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzz.tiff");
    let mut rng = ChaCha8Rng::seed_from_u64(2021);
    let (mut errors, mut ok) = (0, 0);
    for case in 0..300 {
        let src = &originals[case % originals.len()];
        let mut bytes = src.clone();
        match rng.random_range(0..3) {
            0 => {
                // Flip bytes, biased to the header and directory where sizes live.
                for _ in 0..rng.random_range(1..8) {
                    let hi = if rng.random_bool(0.5) {
                        512.min(bytes.len())
                    } else {
                        bytes.len()
                    };
                    let i = rng.random_range(0..hi);
                    bytes[i] = rng.random();
                }
            }
            1 => bytes.truncate(rng.random_range(0..bytes.len())),
            _ => {
                // Overwrite a run with 0xFF (huge offsets, counts and sizes).
                let i = rng.random_range(0..bytes.len());
                let n = rng.random_range(1..16).min(bytes.len() - i);
                bytes[i..i + n].fill(0xFF);
            }
        }
        std::fs::write(&path, &bytes).unwrap();
        match catch_unwind(AssertUnwindSafe(|| open_and_read(&path))) {
            Ok(Ok(())) => ok += 1,
            Ok(Err(_)) => errors += 1,
            Err(_) => panic!("case {case} ({}) panicked", sources[case % sources.len()]),
        }
    }
    println!("fuzz: {ok} read, {errors} errors, 0 panics");
    assert!(errors > 50, "the corruptions should mostly be detected");
}
