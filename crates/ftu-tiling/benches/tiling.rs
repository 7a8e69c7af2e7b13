//! Criterion benches of the hot paths:
//! - region reads from a Deflate-tiled BigTIFF, tile-aligned and unaligned;
//! - `preprocess` of a 20000 x 20000 Deflate-tiled synthetic slide into
//!   1024 -> 256 tiles (thumbnail, tissue filter, read, resize, PNG out).
//!
//! The slides are written once under `target/ftu-tiling-bench/` (by ftu-synth:
//! 512 x 512 Deflate tiles, like real slides). `scripts/tiling_reference.py`
//! does the same preprocessing with tifffile + OpenCV on the same file.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ftu_synth::{SlideGenerator, SlideParams};
use ftu_tiling::{PreprocessConfig, Slide};

// The allocator `cargo xtask` uses: on this VM freshly faulted pages are
// expensive, and mimalloc keeps freed tile buffers for reuse.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/ftu-tiling-bench");
    std::fs::create_dir_all(&dir).expect("create bench dir");
    dir
}

/// A synthetic slide of `side` x `side` pixels, written on first use.
fn synth_slide(side: usize) -> PathBuf {
    let path = bench_dir().join(format!("synth-{side}/slides/slide.tiff"));
    if !path.exists() {
        std::fs::create_dir_all(path.parent().unwrap()).expect("create slide dir");
        let g = SlideGenerator::new(SlideParams {
            width: side,
            height: side,
            seed: 5,
            ..Default::default()
        });
        eprintln!("writing {} (once)", path.display());
        ftu_synth::write_tiff(&g, &path, |_, _| {}).expect("write bench slide");
    }
    path
}

fn region_reads(c: &mut Criterion) {
    let slide = Slide::open(synth_slide(4096)).expect("open bench slide");
    let mut group = c.benchmark_group("read_region_1024");
    group.sample_size(20);
    group.bench_function("aligned", |b| {
        b.iter(|| {
            slide
                .read_region(black_box(1024), black_box(1024), 1024, 1024)
                .unwrap()
        })
    });
    group.bench_function("unaligned", |b| {
        b.iter(|| {
            slide
                .read_region(black_box(1100), black_box(900), 1024, 1024)
                .unwrap()
        })
    });
    group.finish();
}

/// The preprocess config of the bench: the slide as a pseudo-labelled source
/// with an empty mask, 1024 -> 256 tiles, no overlap.
fn preprocess_config(slide: &Path, out: &Path, tissue_from: &str) -> PreprocessConfig {
    let dir = slide.parent().unwrap();
    let csv = dir.join("labels.csv");
    std::fs::write(&csv, "id,predicted\nslide,\n").expect("write labels");
    let text = format!(
        "[preprocess]\nout_dir = {:?}\ntile = 1024\nout_size = 256\ntissue_from = {tissue_from:?}\n\n[[preprocess.sources]]\nkind = \"pseudo\"\nslides = {:?}\ncsv = {:?}\n",
        out.display().to_string(),
        dir.display().to_string(),
        csv.display().to_string()
    );
    PreprocessConfig::from_toml(&text, Path::new("bench.toml")).expect("bench config")
}

fn preprocess_20k(c: &mut Criterion) {
    let slide = synth_slide(20_000);
    let out = bench_dir().join("preprocess-out");
    let mut group = c.benchmark_group("preprocess_20000x20000_1024_to_256");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(60));
    for tissue_from in ["thumbnail", "tile"] {
        let cfg = preprocess_config(&slide, &out, tissue_from);
        group.bench_function(format!("tissue_from_{tissue_from}"), |b| {
            b.iter(|| {
                // Start from an empty output folder, or the run would only resume.
                let _ = std::fs::remove_dir_all(&out);
                let (rows, _) = ftu_tiling::preprocess(&cfg, &()).unwrap();
                black_box(rows.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, region_reads, preprocess_20k);
criterion_main!(benches);
