//! Writing small slides in any storage variant the reader supports (striped or
//! tiled, each lossless compression, classic or BigTIFF, chunky, planar or one
//! page per channel). Tests and benches use it to make slides whose pixels are
//! known exactly.

use std::io::{BufWriter, Seek, Write};
use std::path::Path;

use ndarray::ArrayView3;
use tiff::encoder::compression::{CompressionAlgorithm, Deflate, DeflateLevel, Lzw, Packbits};
use tiff::encoder::{TiffEncoder, TiffKind, TiffKindBig, TiffKindStandard};
use tiff::tags::Tag;

use crate::error::{Result, TilingError};
use crate::slide::ChannelLayout;

/// How pixel data is cut into chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunking {
    /// Tiles of this size (TIFF asks for multiples of 16; the reader does not).
    Tiles { width: u32, height: u32 },
    /// Full-width strips of this many rows.
    Strips { rows: u32 },
}

/// Lossless chunk compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    None,
    Lzw,
    Deflate,
    PackBits,
}

impl Codec {
    fn tag(self) -> u16 {
        match self {
            Codec::None => 1,
            Codec::Lzw => 5,
            Codec::Deflate => 8,
            Codec::PackBits => 32773,
        }
    }

    fn compress(self, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(bytes.len() / 2);
        match self {
            Codec::None => out.extend_from_slice(bytes),
            Codec::Lzw => {
                Lzw.write_to(&mut out, bytes)?;
            }
            Codec::Deflate => {
                Deflate::with_level(DeflateLevel::Fast).write_to(&mut out, bytes)?;
            }
            Codec::PackBits => {
                Packbits.write_to(&mut out, bytes)?;
            }
        }
        Ok(out)
    }
}

/// How to store a slide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    pub chunking: Chunking,
    pub codec: Codec,
    pub bigtiff: bool,
    /// `Planar` and `Pages` need a 3-channel image.
    pub layout: ChannelLayout,
}

impl Default for WriteOptions {
    /// Tiled 256 x 256, Deflate, BigTIFF, chunky: how real slides are usually stored.
    fn default() -> Self {
        WriteOptions {
            chunking: Chunking::Tiles {
                width: 256,
                height: 256,
            },
            codec: Codec::Deflate,
            bigtiff: true,
            layout: ChannelLayout::Chunky,
        }
    }
}

/// Writes an HWC image with 1 (grey), 3 (RGB) or 4 (RGBA) channels as a TIFF,
/// atomically (temporary file, then rename).
pub fn write_tiff(
    path: impl AsRef<Path>,
    image: ArrayView3<u8>,
    opts: &WriteOptions,
) -> Result<()> {
    let path = path.as_ref();
    let channels = image.shape()[2];
    if !matches!(channels, 1 | 3 | 4) {
        return Err(TilingError::Invalid(format!(
            "write_tiff: {channels} channels; expected 1, 3 or 4"
        )));
    }
    if opts.layout != ChannelLayout::Chunky && channels != 3 {
        return Err(TilingError::Invalid(format!(
            "write_tiff: {:?} layout needs 3 channels, got {channels}",
            opts.layout
        )));
    }
    if let Chunking::Tiles { width: 0, .. }
    | Chunking::Tiles { height: 0, .. }
    | Chunking::Strips { rows: 0 } = opts.chunking
    {
        return Err(TilingError::Invalid("write_tiff: zero chunk size".into()));
    }
    let tmp = ftu_outfile::AtomicFile::create(path).map_err(|e| TilingError::io(path, e))?;
    let mut writer = BufWriter::new(
        tmp.file()
            .try_clone()
            .map_err(|e| TilingError::io(path, e))?,
    );
    let result = if opts.bigtiff {
        write_generic::<_, TiffKindBig>(&mut writer, image, opts)
    } else {
        write_generic::<_, TiffKindStandard>(&mut writer, image, opts)
    };
    result.map_err(|source| TilingError::Tiff {
        path: path.to_owned(),
        page: 0,
        source,
    })?;
    writer.flush().map_err(|e| TilingError::io(path, e))?;
    drop(writer);
    tmp.commit().map_err(|e| TilingError::io(path, e))
}

/// The pages to write: each a list of planes, each plane a list of channels
/// interleaved in its chunks.
fn pages(channels: usize, layout: ChannelLayout) -> Vec<Vec<Vec<usize>>> {
    let all: Vec<usize> = (0..channels).collect();
    match layout {
        ChannelLayout::Chunky => vec![vec![all]],
        ChannelLayout::Planar => vec![all.iter().map(|&c| vec![c]).collect()],
        ChannelLayout::Pages => all.iter().map(|&c| vec![vec![c]]).collect(),
    }
}

fn write_generic<W: Write + Seek, K: TiffKind>(
    writer: W,
    image: ArrayView3<u8>,
    opts: &WriteOptions,
) -> tiff::TiffResult<()> {
    let (h, w, channels) = image.dim();
    let mut encoder = TiffEncoder::<W, K>::new_generic(writer)?;
    for planes in pages(channels, opts.layout) {
        let samples = planes[0].len();
        let mut dir = encoder.image_directory()?;
        let mut offsets = Vec::new();
        let mut counts = Vec::new();
        for plane in &planes {
            for (x0, y0, cw, ch) in chunk_rects(w, h, opts.chunking) {
                // Tiles are always full size (zero padding); strips hold only real rows.
                let mut raw = vec![0u8; cw * ch * samples];
                for r in 0..ch.min(h - y0) {
                    for c in 0..cw.min(w - x0) {
                        for (s, &ch_idx) in plane.iter().enumerate() {
                            raw[(r * cw + c) * samples + s] = image[[y0 + r, x0 + c, ch_idx]];
                        }
                    }
                }
                let data = opts.codec.compress(&raw)?;
                let offset = dir.write_data(&data[..])?;
                offsets.push(K::convert_offset(offset)?);
                counts.push(K::convert_offset(data.len() as u64)?);
            }
        }
        dir.write_tag(Tag::ImageWidth, w as u32)?;
        dir.write_tag(Tag::ImageLength, h as u32)?;
        let bits = vec![8u16; samples];
        dir.write_tag(Tag::BitsPerSample, &bits[..])?;
        dir.write_tag(Tag::Compression, opts.codec.tag())?;
        let photometric: u16 = if samples >= 3 || planes.len() == 3 {
            2
        } else {
            1
        };
        dir.write_tag(Tag::PhotometricInterpretation, photometric)?;
        dir.write_tag(Tag::SamplesPerPixel, (samples * planes.len()) as u16)?;
        if planes.len() > 1 {
            dir.write_tag(Tag::PlanarConfiguration, 2u16)?;
        }
        if samples == 4 {
            // Unassociated alpha.
            dir.write_tag(Tag::ExtraSamples, 2u16)?;
        }
        match opts.chunking {
            Chunking::Tiles { width, height } => {
                dir.write_tag(Tag::TileWidth, width)?;
                dir.write_tag(Tag::TileLength, height)?;
                dir.write_tag(Tag::TileOffsets, K::convert_slice(&offsets))?;
                dir.write_tag(Tag::TileByteCounts, K::convert_slice(&counts))?;
            }
            Chunking::Strips { rows } => {
                dir.write_tag(Tag::RowsPerStrip, rows)?;
                dir.write_tag(Tag::StripOffsets, K::convert_slice(&offsets))?;
                dir.write_tag(Tag::StripByteCounts, K::convert_slice(&counts))?;
            }
        }
        dir.finish()?;
    }
    Ok(())
}

/// Chunk rectangles (x, y, stored width, stored height) in file order.
fn chunk_rects(w: usize, h: usize, chunking: Chunking) -> Vec<(usize, usize, usize, usize)> {
    match chunking {
        Chunking::Tiles { width, height } => {
            let (tw, th) = (width as usize, height as usize);
            let mut rects = Vec::new();
            for ty in 0..h.div_ceil(th) {
                for tx in 0..w.div_ceil(tw) {
                    rects.push((tx * tw, ty * th, tw, th));
                }
            }
            rects
        }
        Chunking::Strips { rows } => {
            let rows = rows as usize;
            (0..h.div_ceil(rows))
                .map(|s| (0, s * rows, w, rows.min(h - s * rows)))
                .collect()
        }
    }
}
