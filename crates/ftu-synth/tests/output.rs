//! What lands on disk: the BigTIFF, and the data set in competition layout.

use std::fs::File;
use std::io::Read;

use ftu_polygon::{rasterize, read_geojson};
use ftu_synth::{
    DATASET_INFO_COLUMNS, DatasetParams, SlideGenerator, SlideParams, TILE, write_dataset,
    write_tiff,
};
use tiff::decoder::{ChunkType, Decoder, DecodingResult};
use tiff::tags::Tag;

#[test]
fn tiff_is_tiled_deflate_bigtiff_equal_to_the_generator() {
    // Neither side a multiple of the tile: edge tiles are padded.
    let (w, h) = (1300, 1100);
    let g = SlideGenerator::new(SlideParams {
        width: w,
        height: h,
        seed: 9,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slide.tiff");
    let mut calls = Vec::new();
    write_tiff(&g, &path, |done, total| calls.push((done, total))).unwrap();
    assert_eq!(calls, vec![(512, h), (1024, h), (h, h)]);

    let mut head = [0u8; 4];
    File::open(&path).unwrap().read_exact(&mut head).unwrap();
    assert_eq!(head, [b'I', b'I', 43, 0], "not a little-endian BigTIFF");

    let mut dec = Decoder::new(File::open(&path).unwrap()).unwrap();
    assert_eq!(dec.dimensions().unwrap(), (w as u32, h as u32));
    assert_eq!(dec.get_chunk_type(), ChunkType::Tile);
    assert_eq!(dec.chunk_dimensions(), (TILE as u32, TILE as u32));
    assert_eq!(dec.get_tag_u32(Tag::Compression).unwrap(), 8, "not Deflate");
    assert_eq!(dec.colortype().unwrap(), tiff::ColorType::RGB(8));
    let DecodingResult::U8(pixels) = dec.read_image().unwrap() else {
        panic!("not 8-bit")
    };
    let want = g.region(0, 0, w, h);
    assert_eq!(pixels.len(), want.len());
    assert!(
        pixels == want.as_slice().unwrap(),
        "TIFF pixels differ from the generator"
    );
    // Compressed, and not trivially: real texture was written.
    let size = std::fs::metadata(&path).unwrap().len() as usize;
    assert!(size < w * h * 3 && size > w * h / 10, "file size {size}");
    // Atomic: only the finished file is left in the directory.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn write_tiff_reports_the_file_on_failure() {
    let g = SlideGenerator::new(SlideParams {
        width: 64,
        height: 64,
        seed: 1,
        ..Default::default()
    });
    let path = std::path::Path::new("/nonexistent-dir-for-ftu-synth/slide.tiff");
    let err = write_tiff(&g, path, |_, _| {}).unwrap_err().to_string();
    assert!(err.contains("nonexistent-dir-for-ftu-synth"), "{err}");
    let empty = SlideGenerator::new(SlideParams {
        width: 0,
        height: 64,
        ..Default::default()
    });
    let err = write_tiff(&empty, std::path::Path::new("x.tiff"), |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("x.tiff: "), "{err}");
}

#[test]
fn dataset_layout_labels_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let params = DatasetParams {
        train: 2,
        test: 1,
        width: 1536,
        height: 1536,
        seed: 4,
    };
    let slides = write_dataset(out, &params).unwrap();
    assert_eq!(slides.len(), 3);
    assert_eq!(slides.iter().filter(|s| s.train).count(), 2);

    let train = ftu_rle::csv::read_encodings(out.join("train.csv")).unwrap();
    let truth = ftu_rle::csv::read_encodings(out.join("test_truth.csv")).unwrap();
    let sample = ftu_rle::csv::read_encodings(out.join("sample_submission.csv")).unwrap();
    assert_eq!(train.len(), 2);
    assert_eq!(truth.len(), 1);
    assert_eq!(sample, vec![(truth[0].0.clone(), String::new())]);
    assert!(
        std::fs::read_to_string(out.join("sample_submission.csv"))
            .unwrap()
            .starts_with("id,predicted")
    );
    assert!(
        std::fs::read_to_string(out.join("train.csv"))
            .unwrap()
            .starts_with("id,encoding")
    );

    let mut glomeruli = 0;
    for s in &slides {
        assert_eq!(s.id.len(), 9);
        assert!(
            s.id.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
            "{}",
            s.id
        );
        let g = SlideGenerator::new(s.params.clone());
        let split = if s.train { "train" } else { "test" };
        assert!(out.join(split).join(format!("{}.tiff", s.id)).is_file());
        let want = rasterize(g.glomeruli(), 0, 0, 1536, 1536);
        let rle = &train
            .iter()
            .chain(&truth)
            .find(|(id, _)| *id == s.id)
            .unwrap()
            .1;
        assert_eq!(
            ftu_rle::decode(rle, 1536, 1536).unwrap(),
            want,
            "{}: RLE is not the polygons",
            s.id
        );
        glomeruli += g.glomeruli().len();

        let anatomy = read_geojson(
            out.join(split)
                .join(format!("{}-anatomical-structure.json", s.id)),
        )
        .unwrap();
        assert!(anatomy.iter().any(|a| a.class == "Cortex"));
        assert!(
            anatomy
                .iter()
                .all(|a| a.class == "Cortex" || a.class == "Medulla")
        );
        let labels = out.join(split).join(format!("{}.json", s.id));
        if s.train {
            let back = read_geojson(&labels).unwrap();
            assert!(
                back.iter()
                    .all(|a| a.class == "glomerulus" && a.polygons.len() == 1)
            );
            let polys: Vec<_> = back.into_iter().flat_map(|a| a.polygons).collect();
            assert_eq!(
                polys.as_slice(),
                g.glomeruli(),
                "{}: GeoJSON polygons differ",
                s.id
            );
        } else {
            assert!(
                !labels.exists(),
                "test labels must not sit beside the test slide"
            );
        }
    }
    assert!(glomeruli > 0, "no glomeruli in the whole data set");

    let mut info = csv::Reader::from_path(out.join("HuBMAP-20-dataset_information.csv")).unwrap();
    let header: Vec<String> = info.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header, DATASET_INFO_COLUMNS);
    let rows: Vec<csv::StringRecord> = info.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    for (row, s) in rows.iter().zip(&slides) {
        assert_eq!(&row[0], format!("{}.tiff", s.id));
        assert_eq!((&row[1], &row[2]), ("1536", "1536"));
        let (c, m): (u32, u32) = (row[14].parse().unwrap(), row[15].parse().unwrap());
        assert_eq!(c + m, 100);
    }
}

#[test]
fn dataset_info_columns_match_the_competition_file() {
    let real = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/hubmap-kidney-tiles/annotations/HuBMAP-20-dataset_information.csv"
    );
    let Ok(text) = std::fs::read_to_string(real) else {
        println!("skipped: {real} is absent");
        return;
    };
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    assert_eq!(header, DATASET_INFO_COLUMNS);
}
