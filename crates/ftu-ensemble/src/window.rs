//! The sliding window of one member geometry: which tiles to predict (tissue
//! only) and a reader thread that reads and resizes them ahead of the models.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use ftu_tiling::{Slide, Tile, TileGrid, TissueMap, TissueParams, resize_rgb};
use ndarray::Array3;
use rayon::prelude::*;

use crate::error::Result;

/// A window geometry: full-resolution tile side, model input side, overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Geometry {
    pub tile: usize,
    pub size: usize,
    pub overlap: usize,
}

/// The tiles of a slide under one geometry that hold enough tissue, in
/// row-major order (the order the stitcher needs), and the grid's size.
pub fn tissue_tiles(
    width: u64,
    height: u64,
    g: Geometry,
    tissue: &TissueMap,
    params: &TissueParams,
) -> Result<(Vec<Tile>, usize)> {
    let grid = TileGrid::new(width, height, g.tile, g.overlap)?;
    let t = g.tile as u64;
    let tiles = grid
        .iter()
        .filter(|tile| tissue.fraction(tile.x, tile.y, t, t) >= params.min_fraction)
        .collect();
    Ok((tiles, grid.len()))
}

/// Consecutive tiles read and resized to the model's input side.
pub struct Batch {
    pub tiles: Vec<Tile>,
    /// One `size x size x 3` RGB image per tile.
    pub rgb: Vec<Array3<u8>>,
}

/// Reads one tile at full resolution and resizes it to `size`.
pub fn read_tile(slide: &Slide, tile: &Tile, size: usize) -> Result<Array3<u8>> {
    let full = slide.read_region(tile.x as i64, tile.y as i64, tile.size, tile.size)?;
    Ok(resize_rgb(full.view(), size, size)?)
}

/// Starts reading `tiles` in batches of `batch` on a scoped thread; batches
/// arrive in order, at most `ahead` waiting. Tiles of a batch are read in
/// parallel on `pool` (or rayon's global pool). The thread stops when the
/// receiver is dropped.
pub fn spawn_reader<'scope, 'env>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    slide: &'env Slide,
    tiles: &'env [Tile],
    size: usize,
    batch: usize,
    ahead: usize,
    pool: Option<&'env rayon::ThreadPool>,
) -> Receiver<Result<Batch>> {
    let (tx, rx): (SyncSender<Result<Batch>>, _) = sync_channel(ahead.max(1));
    scope.spawn(move || {
        for chunk in tiles.chunks(batch.max(1)) {
            let read = || -> Result<Vec<Array3<u8>>> {
                chunk
                    .par_iter()
                    .map(|t| read_tile(slide, t, size))
                    .collect()
            };
            let rgb = match pool {
                Some(p) => p.install(read),
                None => read(),
            };
            let item = rgb.map(|rgb| Batch {
                tiles: chunk.to_vec(),
                rgb,
            });
            let failed = item.is_err();
            if tx.send(item).is_err() || failed {
                return;
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;
    use ftu_tiling::{WriteOptions, write_tiff};

    #[test]
    fn reader_delivers_every_tile_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.tiff");
        let px = Array3::from_shape_fn((200, 300, 3), |(y, x, c)| (x + y + c) as u8);
        write_tiff(&path, px.view(), &WriteOptions::default()).unwrap();
        let slide = Slide::open(&path).unwrap();
        let grid = TileGrid::new(300, 200, 64, 16).unwrap();
        let tiles: Vec<Tile> = grid.iter().collect();
        let got: Vec<Tile> = std::thread::scope(|s| {
            let rx = spawn_reader(s, &slide, &tiles, 32, 3, 2, None);
            rx.iter()
                .flat_map(|b| {
                    let b = b.unwrap();
                    assert!(b.rgb.iter().all(|r| r.dim() == (32, 32, 3)));
                    b.tiles
                })
                .collect()
        });
        assert_eq!(got, tiles);
    }

    #[test]
    fn background_tiles_are_dropped() {
        // Left half tissue-coloured, right half white glass.
        let thumb =
            Array3::from_shape_fn(
                (10, 20, 3),
                |(_, x, c)| {
                    if x < 10 { [200u8, 80, 150][c] } else { 250 }
                },
            );
        let params = TissueParams::default();
        let map = TissueMap::new(thumb.view(), 10, &params);
        let g = Geometry {
            tile: 100,
            size: 32,
            overlap: 0,
        };
        let (tiles, total) = tissue_tiles(200, 100, g, &map, &params).unwrap();
        assert_eq!(total, 2);
        assert_eq!(tiles.len(), 1);
        assert_eq!(tiles[0].x, 0);
    }
}
