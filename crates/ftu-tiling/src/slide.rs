//! Windowed reading of whole-slide TIFFs: only the chunks (tiles or strips)
//! that overlap a window are decoded, so a slide never has to fit in memory.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ndarray::Array3;
use rayon::prelude::*;
use tiff::ColorType;
use tiff::decoder::{ChunkType, Decoder, DecodingResult, Limits};
use tiff::tags::{CompressionMethod, Tag};

use crate::error::{Result, TilingError};

/// Value of pixels of a window that lie outside the slide: white, like the
/// glass around the tissue, so padding reads as background to the tissue filter.
pub const FILL: u8 = 255;

/// Largest decoded chunk (tile or strip) accepted, in bytes. A file declaring a
/// bigger chunk (e.g. one strip holding a whole 50k x 50k slide) is refused
/// before anything is allocated: the decompression-bomb guard.
pub const MAX_CHUNK_BYTES: u64 = 256 << 20;

/// Largest window `read_region` or `thumbnail` will allocate, in bytes.
pub const MAX_REGION_BYTES: u64 = 4 << 30;

/// Largest side, in pixels, a slide may declare (real slides are below 100k).
pub const MAX_SIDE: u32 = 1 << 20;

/// How the pixel data of level 0 is cut into chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Square-ish tiles of the given size.
    Tiled { tile_width: u32, tile_height: u32 },
    /// Full-width strips of `rows_per_strip` rows.
    Striped { rows_per_strip: u32 },
}

/// Where the colour channels of level 0 live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelLayout {
    /// Interleaved samples (RGBRGB...) or a single grey sample, one page.
    Chunky,
    /// One page whose channels are stored as separate planes (PlanarConfiguration = 2).
    Planar,
    /// Three single-channel pages of the same size (tifffile's 1x1x3xHxW).
    Pages,
}

/// What `slide info` prints: the geometry and storage of level 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlideInfo {
    pub width: u32,
    pub height: u32,
    /// Samples per pixel stored in the file (3 for the Pages layout).
    pub channels: u16,
    pub storage: Storage,
    /// Compression name as the TIFF tag gives it (e.g. `Deflate`, `LZW`, `ModernJPEG`).
    pub compression: String,
    pub layout: ChannelLayout,
    /// Photometric interpretation of level 0 (e.g. `RGB`, `YCbCr`, `BlackIsZero`).
    pub photometric: String,
    /// Number of pages (image directories) in the file.
    pub pages: usize,
    pub bigtiff: bool,
    /// Sizes of further pages (pyramid levels, thumbnails), in file order.
    pub other_pages: Vec<(u32, u32)>,
}

/// How the samples of one decoded chunk map to RGB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scatter {
    /// Sample 0 is grey: copy to R, G and B.
    Gray,
    /// Samples 0..3 are R, G, B (an alpha after them is dropped).
    Rgb,
    /// Samples 0..3 are Y, Cb, Cr (JPEG-compressed slides): convert.
    YCbCr,
    /// Sample 0 is the given output channel (planar or paged layouts).
    Channel(usize),
}

/// Chunk geometry of one page.
#[derive(Debug, Clone, Copy)]
struct Grid {
    width: u32,
    height: u32,
    chunk_w: u32,
    chunk_h: u32,
    across: u32,
    down: u32,
}

/// One source of output channels: a page, the first chunk index of its plane,
/// and how to scatter its decoded samples.
#[derive(Debug, Clone, Copy)]
struct Component {
    page: usize,
    /// Index into `Reader::decoders`.
    slot: usize,
    chunk_base: u32,
    samples: usize,
    scatter: Scatter,
    grid: Grid,
}

type TiffDecoder = Decoder<BufReader<File>>;

/// One worker's open decoders (one per page used) and scratch buffer.
struct Reader {
    decoders: Vec<TiffDecoder>,
    /// Decoded full-width chunks, reused from chunk to chunk.
    scratch: Vec<u8>,
    /// Decoded right-edge tiles (tiff allocates these itself).
    padded: DecodingResult,
}

/// An open whole-slide TIFF. Cheap to share between threads: each concurrent
/// `read_region` takes its own decoder from an internal pool.
pub struct Slide {
    path: PathBuf,
    info: SlideInfo,
    components: Vec<Component>,
    /// Page opened by each decoder slot.
    slot_pages: Vec<usize>,
    pool: Mutex<Vec<Reader>>,
}

impl std::fmt::Debug for Slide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slide")
            .field("path", &self.path)
            .field("info", &self.info)
            .finish()
    }
}

/// What `describe_page` learns from one image directory.
#[derive(Debug, Clone)]
struct PageDesc {
    width: u32,
    height: u32,
    samples: u16,
    planar: bool,
    tiled: bool,
    chunk_w: u32,
    chunk_h: u32,
    compression: CompressionMethod,
    photometric: u16,
    color: std::result::Result<ColorType, String>,
    offsets: usize,
    reduced: bool,
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.decoding_buffer_size = MAX_CHUNK_BYTES as usize;
    limits.intermediate_buffer_size = MAX_CHUNK_BYTES as usize;
    // Tile offset arrays of big slides with small tiles exceed the 1 MiB default.
    limits.ifd_value_size = 64 << 20;
    limits
}

fn open_decoder(path: &Path, page: usize) -> Result<TiffDecoder> {
    let file = File::open(path).map_err(|e| TilingError::io(path, e))?;
    let tiff_err = |source| TilingError::Tiff {
        path: path.to_owned(),
        page,
        source,
    };
    let mut decoder = Decoder::new(BufReader::with_capacity(1 << 16, file))
        .map_err(tiff_err)?
        .with_limits(limits());
    if page > 0 {
        decoder.seek_to_image(page).map_err(tiff_err)?;
    }
    Ok(decoder)
}

fn describe_page(path: &Path, page: usize, dec: &mut TiffDecoder) -> Result<PageDesc> {
    let tiff_err = |source| TilingError::Tiff {
        path: path.to_owned(),
        page,
        source,
    };
    let (width, height) = dec.dimensions().map_err(tiff_err)?;
    let samples = dec
        .find_tag_unsigned::<u16>(Tag::SamplesPerPixel)
        .map_err(tiff_err)?
        .unwrap_or(1);
    let planar = dec
        .find_tag_unsigned::<u16>(Tag::PlanarConfiguration)
        .map_err(tiff_err)?
        == Some(2);
    let compression = dec
        .find_tag_unsigned::<u16>(Tag::Compression)
        .map_err(tiff_err)?
        .map(CompressionMethod::from_u16_exhaustive)
        .unwrap_or(CompressionMethod::None);
    let photometric = dec
        .find_tag_unsigned::<u16>(Tag::PhotometricInterpretation)
        .map_err(tiff_err)?
        .unwrap_or(1);
    let reduced = dec
        .find_tag_unsigned::<u32>(Tag::NewSubfileType)
        .map_err(tiff_err)?
        .is_some_and(|v| v & 1 == 1);
    let tiled = dec.get_chunk_type() == ChunkType::Tile;
    let (chunk_w, chunk_h) = dec.chunk_dimensions();
    let offsets_tag = if tiled {
        Tag::TileOffsets
    } else {
        Tag::StripOffsets
    };
    let offsets = dec
        .find_tag_unsigned_vec::<u64>(offsets_tag)
        .map_err(tiff_err)?
        .map_or(0, |v| v.len());
    let color = dec.colortype().map_err(|e| e.to_string());
    Ok(PageDesc {
        width,
        height,
        samples,
        planar,
        tiled,
        chunk_w,
        chunk_h,
        compression,
        photometric,
        color,
        offsets,
        reduced,
    })
}

fn photometric_name(p: u16) -> String {
    match p {
        0 => "WhiteIsZero".into(),
        1 => "BlackIsZero".into(),
        2 => "RGB".into(),
        3 => "Palette".into(),
        5 => "CMYK".into(),
        6 => "YCbCr".into(),
        other => format!("photometric {other}"),
    }
}

fn compression_name(c: CompressionMethod) -> String {
    format!("{c:?}")
}

fn is_bigtiff(path: &Path) -> Result<bool> {
    let mut header = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .map_err(|e| TilingError::io(path, e))?;
    Ok(matches!(header, [b'I', b'I', 43, 0] | [b'M', b'M', 0, 43]))
}

impl Slide {
    /// Opens a TIFF or BigTIFF slide and checks that level 0 can be read as
    /// 8-bit RGB (grey is expanded, alpha dropped), without decoding pixels.
    pub fn open(path: impl AsRef<Path>) -> Result<Slide> {
        let path = path.as_ref().to_owned();
        let bigtiff = is_bigtiff(&path)?;
        let mut dec = open_decoder(&path, 0)?;
        let mut pages = vec![describe_page(&path, 0, &mut dec)?];
        // Page descriptions are cheap (tags only); stop at a sane count so a
        // looping or absurd IFD chain cannot keep us busy.
        while dec.more_images() && pages.len() < 4096 {
            let page = pages.len();
            dec.next_image().map_err(|source| TilingError::Tiff {
                path: path.clone(),
                page,
                source,
            })?;
            pages.push(describe_page(&path, page, &mut dec)?);
        }
        drop(dec);

        let first = &pages[0];
        let unsupported = |what: String| TilingError::Unsupported {
            path: path.clone(),
            what,
        };
        let color = first
            .color
            .clone()
            .map_err(|e| unsupported(format!("page 0: {e}")))?;
        if color.bit_depth() != 8 {
            return Err(unsupported(format!(
                "page 0: {} bits per sample ({color:?}); only 8-bit slides are read",
                color.bit_depth()
            )));
        }
        let is_gray_page = |p: &PageDesc| {
            p.samples == 1 && matches!(p.color, Ok(ColorType::Gray(8))) && !p.reduced
        };
        let paged = pages.len() >= 3
            && is_gray_page(&pages[0])
            && pages[1..3]
                .iter()
                .all(|p| is_gray_page(p) && p.width == first.width && p.height == first.height);

        let mut components = Vec::new();
        let layout;
        if paged {
            layout = ChannelLayout::Pages;
            for (c, page) in pages[..3].iter().enumerate() {
                let grid = check_grid(&path, c, page, 1)?;
                components.push(Component {
                    page: c,
                    slot: c,
                    chunk_base: 0,
                    samples: 1,
                    scatter: Scatter::Channel(c),
                    grid,
                });
            }
        } else {
            let (samples, scatter) = match color {
                ColorType::Gray(_) => (1, Scatter::Gray),
                ColorType::GrayA(_) => (2, Scatter::Gray),
                ColorType::RGB(_) => (3, Scatter::Rgb),
                ColorType::RGBA(_) => (4, Scatter::Rgb),
                ColorType::YCbCr(_) => (3, Scatter::YCbCr),
                ColorType::Multiband { num_samples, .. } if first.photometric <= 1 => {
                    (usize::from(num_samples), Scatter::Gray)
                }
                other => return Err(unsupported(format!("page 0: colour type {other:?}"))),
            };
            if first.planar && samples > 1 {
                layout = ChannelLayout::Planar;
                if scatter == Scatter::YCbCr {
                    return Err(unsupported("planar YCbCr".into()));
                }
                let planes = usize::from(first.samples);
                let grid = check_grid(&path, 0, first, planes)?;
                let per_plane = grid.across * grid.down;
                let used = if scatter == Scatter::Gray { 1 } else { 3 };
                for c in 0..used {
                    components.push(Component {
                        page: 0,
                        slot: 0,
                        chunk_base: per_plane * c as u32,
                        samples: 1,
                        scatter: if used == 1 {
                            Scatter::Gray
                        } else {
                            Scatter::Channel(c)
                        },
                        grid,
                    });
                }
            } else {
                layout = ChannelLayout::Chunky;
                let grid = check_grid(&path, 0, first, 1)?;
                let chunk_bytes =
                    u64::from(grid.chunk_w) * u64::from(grid.chunk_h) * samples as u64;
                if chunk_bytes > MAX_CHUNK_BYTES {
                    return Err(TilingError::TooLarge {
                        path: path.clone(),
                        what: "one decoded chunk".into(),
                        bytes: chunk_bytes,
                        limit: MAX_CHUNK_BYTES,
                    });
                }
                components.push(Component {
                    page: 0,
                    slot: 0,
                    chunk_base: 0,
                    samples,
                    scatter,
                    grid,
                });
            }
        }

        let level0_pages = if paged { 3 } else { 1 };
        let info = SlideInfo {
            width: first.width,
            height: first.height,
            channels: if paged { 3 } else { first.samples },
            storage: if first.tiled {
                Storage::Tiled {
                    tile_width: first.chunk_w,
                    tile_height: first.chunk_h,
                }
            } else {
                Storage::Striped {
                    rows_per_strip: first.chunk_h,
                }
            },
            compression: compression_name(first.compression),
            layout,
            photometric: photometric_name(first.photometric),
            pages: pages.len(),
            bigtiff,
            other_pages: pages[level0_pages..]
                .iter()
                .map(|p| (p.width, p.height))
                .collect(),
        };
        let mut slot_pages: Vec<usize> = components.iter().map(|c| c.page).collect();
        slot_pages.dedup();
        Ok(Slide {
            path,
            info,
            components,
            slot_pages,
            pool: Mutex::new(Vec::new()),
        })
    }

    /// Geometry and storage of level 0.
    pub fn info(&self) -> &SlideInfo {
        &self.info
    }

    /// Width of level 0 in pixels.
    pub fn width(&self) -> u32 {
        self.info.width
    }

    /// Height of level 0 in pixels.
    pub fn height(&self) -> u32 {
        self.info.height
    }

    /// The file this slide was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn take_reader(&self) -> Result<Reader> {
        let pooled = self.pool.lock().map(|mut p| p.pop()).unwrap_or(None);
        if let Some(reader) = pooled {
            return Ok(reader);
        }
        let decoders = self
            .slot_pages
            .iter()
            .map(|&page| open_decoder(&self.path, page))
            .collect::<Result<Vec<_>>>()?;
        Ok(Reader {
            decoders,
            scratch: Vec::new(),
            padded: DecodingResult::U8(Vec::new()),
        })
    }

    fn give_reader(&self, reader: Reader) {
        if let Ok(mut pool) = self.pool.lock() {
            pool.push(reader);
        }
    }

    /// Reads the window with top-left corner (`x`, `y`) and size `w` x `h`
    /// at full resolution as HWC RGB. Parts of the window outside the slide
    /// are [`FILL`]. Only chunks that overlap the window are decoded.
    pub fn read_region(&self, x: i64, y: i64, w: usize, h: usize) -> Result<Array3<u8>> {
        let bytes = (w as u64).saturating_mul(h as u64).saturating_mul(3);
        if bytes > MAX_REGION_BYTES {
            return Err(TilingError::TooLarge {
                path: self.path.clone(),
                what: format!("a {w} x {h} window"),
                bytes,
                limit: MAX_REGION_BYTES,
            });
        }
        let mut out = Array3::from_elem((h, w, 3), FILL);
        self.read_region_into(x, y, &mut out)?;
        Ok(out)
    }

    /// Like [`read_region`](Self::read_region) into a caller's HWC array
    /// (reused across calls); the window's size is the array's.
    pub fn read_region_into(&self, x: i64, y: i64, out: &mut Array3<u8>) -> Result<()> {
        let (h, w, c) = out.dim();
        if c != 3 {
            return Err(TilingError::Invalid(format!(
                "read_region_into: {c} channels, expected 3"
            )));
        }
        out.fill(FILL);
        let (width, height) = (i64::from(self.info.width), i64::from(self.info.height));
        let x0 = x.max(0);
        let y0 = y.max(0);
        let x1 = x.saturating_add(w as i64).min(width);
        let y1 = y.saturating_add(h as i64).min(height);
        if x0 >= x1 || y0 >= y1 {
            return Ok(());
        }
        let Some(dst) = out.as_slice_mut() else {
            return Err(TilingError::Invalid(
                "read_region_into: the array must be contiguous".into(),
            ));
        };
        let mut reader = self.take_reader()?;
        let window = Window {
            x,
            y,
            w,
            clip: [x0 as u32, y0 as u32, x1 as u32, y1 as u32],
        };
        for comp in &self.components {
            self.read_component(&mut reader, comp, &window, dst)?;
        }
        self.give_reader(reader);
        Ok(())
    }

    fn read_component(
        &self,
        reader: &mut Reader,
        comp: &Component,
        window: &Window,
        dst: &mut [u8],
    ) -> Result<()> {
        let g = comp.grid;
        let [x0, y0, x1, y1] = window.clip;
        for cy in y0 / g.chunk_h..=(y1 - 1) / g.chunk_h {
            for cx in x0 / g.chunk_w..=(x1 - 1) / g.chunk_w {
                let chunk = comp.chunk_base + cy * g.across + cx;
                let (cx0, cy0) = (cx * g.chunk_w, cy * g.chunk_h);
                let dw = g.chunk_w.min(g.width - cx0) as usize;
                let dh = g.chunk_h.min(g.height - cy0) as usize;
                let stride = g.chunk_w as usize * comp.samples;
                let chunk_err = |source| TilingError::Chunk {
                    path: self.path.clone(),
                    page: comp.page,
                    chunk,
                    x: u64::from(cx0),
                    y: u64::from(cy0),
                    source,
                };
                let decoder = &mut reader.decoders[comp.slot];
                let buf: &[u8] = if dw == g.chunk_w as usize {
                    // Full-width chunk: decode into the worker's reused buffer
                    // (fresh allocations cost page faults on every chunk). Sized
                    // for a full chunk: tiff 0.11 clips the bottom padding of a
                    // tile only in the first plane and decodes later planes'
                    // bottom tiles at full height.
                    let full = stride * g.chunk_h as usize;
                    if reader.scratch.len() < full {
                        reader.scratch.resize(full, 0);
                    }
                    decoder
                        .read_chunk_bytes(chunk, &mut reader.scratch[..full])
                        .map_err(chunk_err)?;
                    &reader.scratch[..full]
                } else {
                    // Right-edge tile: decode with the row stride of a full tile,
                    // so tiff 0.11 reads it in one piece (its row-by-row path for
                    // padded tiles fails on valid LZW data).
                    decoder
                        .read_chunk_to_buffer(&mut reader.padded, chunk, stride)
                        .map_err(chunk_err)?;
                    match &reader.padded {
                        DecodingResult::U8(b) => b,
                        _ => {
                            return Err(TilingError::Unsupported {
                                path: self.path.clone(),
                                what: format!("chunk {chunk} decodes to non-8-bit samples"),
                            });
                        }
                    }
                };
                if buf.len() < stride * (dh - 1) + dw * comp.samples {
                    return Err(TilingError::Malformed {
                        path: self.path.clone(),
                        what: format!(
                            "chunk {chunk} decoded to {} bytes, too few for {dw} x {dh}",
                            buf.len()
                        ),
                    });
                }
                let ox0 = x0.max(cx0);
                let ox1 = x1.min(cx0 + dw as u32);
                let oy0 = y0.max(cy0);
                let oy1 = y1.min(cy0 + dh as u32);
                let n = (ox1 - ox0) as usize;
                for row in oy0..oy1 {
                    let src_start =
                        (row - cy0) as usize * stride + (ox0 - cx0) as usize * comp.samples;
                    let src = &buf[src_start..src_start + n * comp.samples];
                    let out_row = (i64::from(row) - window.y) as usize;
                    let out_col = (i64::from(ox0) - window.x) as usize;
                    let d0 = (out_row * window.w + out_col) * 3;
                    scatter(comp.scatter, comp.samples, src, &mut dst[d0..d0 + n * 3]);
                }
            }
        }
        Ok(())
    }

    /// A downscaled copy of the whole slide: each output pixel is the mean of
    /// a `factor` x `factor` block (blocks at the right and bottom edges average
    /// the pixels that exist). Built band by band, in parallel, so at most a
    /// few bands of full-resolution rows are in memory at once.
    pub fn thumbnail(&self, factor: u32) -> Result<Array3<u8>> {
        if factor == 0 {
            return Err(TilingError::Invalid("thumbnail factor must be > 0".into()));
        }
        let (width, height) = (self.info.width as usize, self.info.height as usize);
        let f = factor as usize;
        let (tw, th) = (width.div_ceil(f), height.div_ceil(f));
        // Bands a whole number of blocks high and at least about one chunk
        // high, so that each chunk is decoded about once.
        let chunk_h = self.components[0].grid.chunk_h as usize;
        let blocks_per_band = chunk_h
            .div_ceil(f)
            .clamp(1, (64 << 20) / (width * 3 * f).max(1) + 1);
        let band_rows = blocks_per_band * f;
        let bands: Vec<usize> = (0..height.div_ceil(band_rows)).collect();
        let rows: Vec<Array3<u8>> = bands
            .par_iter()
            .map_init(
                || Array3::zeros((band_rows, width, 3)),
                |band, &b| {
                    let y = b * band_rows;
                    let rows_here = band_rows.min(height - y);
                    if rows_here < band_rows {
                        *band = Array3::zeros((rows_here, width, 3));
                    }
                    self.read_region_into(0, y as i64, band)?;
                    Ok(block_mean(band, f, tw))
                },
            )
            .collect::<Result<_>>()?;
        let mut thumb = Array3::zeros((th, tw, 3));
        let mut r0 = 0;
        for band in rows {
            let n = band.shape()[0];
            thumb
                .slice_mut(ndarray::s![r0..r0 + n, .., ..])
                .assign(&band);
            r0 += n;
        }
        Ok(thumb)
    }
}

/// The requested window and its part inside the slide.
struct Window {
    x: i64,
    y: i64,
    w: usize,
    /// Inside part: x0, y0, x1, y1 (exclusive), in slide coordinates.
    clip: [u32; 4],
}

fn check_grid(path: &Path, page: usize, p: &PageDesc, planes: usize) -> Result<Grid> {
    let malformed = |what: String| TilingError::Malformed {
        path: path.to_owned(),
        what: format!("page {page}: {what}"),
    };
    if p.width > MAX_SIDE || p.height > MAX_SIDE {
        return Err(TilingError::TooLarge {
            path: path.to_owned(),
            what: format!("page {page}: declared size {} x {}", p.width, p.height),
            bytes: u64::from(p.width) * u64::from(p.height) * 3,
            limit: u64::from(MAX_SIDE) * u64::from(MAX_SIDE) * 3,
        });
    }
    if p.chunk_w == 0 || p.chunk_h == 0 {
        return Err(malformed(format!(
            "chunk size {} x {}",
            p.chunk_w, p.chunk_h
        )));
    }
    // Strips wider than the image or taller than needed are clamped to the
    // image, as libtiff does.
    let chunk_w = if p.tiled { p.chunk_w } else { p.width };
    let chunk_h = if p.tiled {
        p.chunk_h
    } else {
        p.chunk_h.min(p.height)
    };
    let bytes = u64::from(chunk_w) * u64::from(chunk_h) * u64::from(p.samples);
    if bytes > MAX_CHUNK_BYTES {
        return Err(TilingError::TooLarge {
            path: path.to_owned(),
            what: format!("page {page}: one decoded chunk of {chunk_w} x {chunk_h}"),
            bytes,
            limit: MAX_CHUNK_BYTES,
        });
    }
    let across = p.width.div_ceil(chunk_w);
    let down = p.height.div_ceil(chunk_h);
    let needed = across as usize * down as usize * planes;
    if p.offsets < needed {
        return Err(malformed(format!(
            "{needed} chunks needed for {} x {} but {} offsets stored",
            p.width, p.height, p.offsets
        )));
    }
    Ok(Grid {
        width: p.width,
        height: p.height,
        chunk_w,
        chunk_h,
        across,
        down,
    })
}

/// Converts `src` (n pixels of `samples` bytes) into `dst` (n RGB pixels).
fn scatter(kind: Scatter, samples: usize, src: &[u8], dst: &mut [u8]) {
    match kind {
        Scatter::Rgb if samples == 3 => dst.copy_from_slice(src),
        Scatter::Rgb => {
            for (d, s) in dst.chunks_exact_mut(3).zip(src.chunks_exact(samples)) {
                d.copy_from_slice(&s[..3]);
            }
        }
        Scatter::Gray => {
            for (d, s) in dst.chunks_exact_mut(3).zip(src.chunks_exact(samples)) {
                d.fill(s[0]);
            }
        }
        Scatter::Channel(c) => {
            for (d, &s) in dst.chunks_exact_mut(3).zip(src.iter()) {
                d[c] = s;
            }
        }
        Scatter::YCbCr => {
            for (d, s) in dst.chunks_exact_mut(3).zip(src.chunks_exact(3)) {
                d.copy_from_slice(&ycbcr_to_rgb(s[0], s[1], s[2]));
            }
        }
    }
}

/// Full-range (JFIF) YCbCr to RGB, as libjpeg converts.
fn ycbcr_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let y = f32::from(y);
    let cb = f32::from(cb) - 128.0;
    let cr = f32::from(cr) - 128.0;
    let clamp = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    [
        clamp(y + 1.402 * cr),
        clamp(y - 0.344_136 * cb - 0.714_136 * cr),
        clamp(y + 1.772 * cb),
    ]
}

/// Mean of `f` x `f` blocks of an HWC band; `out_w` blocks across.
pub(crate) fn block_mean(band: &Array3<u8>, f: usize, out_w: usize) -> Array3<u8> {
    let (h, w) = (band.shape()[0], band.shape()[1]);
    let out_h = h.div_ceil(f);
    let src = band
        .as_slice()
        .expect("read_region returns contiguous arrays");
    let mut sums = vec![0u32; out_w * 3];
    let mut out = Array3::zeros((out_h, out_w, 3));
    for by in 0..out_h {
        sums.fill(0);
        let rows = f.min(h - by * f);
        for r in by * f..by * f + rows {
            let row = &src[r * w * 3..(r + 1) * w * 3];
            for (x, px) in row.chunks_exact(3).enumerate() {
                let s = &mut sums[(x / f) * 3..(x / f) * 3 + 3];
                s[0] += u32::from(px[0]);
                s[1] += u32::from(px[1]);
                s[2] += u32::from(px[2]);
            }
        }
        for bx in 0..out_w {
            let cols = f.min(w - bx * f);
            let n = (rows * cols) as u32;
            for c in 0..3 {
                out[[by, bx, c]] = ((sums[bx * 3 + c] + n / 2) / n) as u8;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ycbcr_grey_and_primaries() {
        assert_eq!(ycbcr_to_rgb(128, 128, 128), [128, 128, 128]);
        assert_eq!(ycbcr_to_rgb(76, 85, 255), [254, 0, 0]);
    }

    #[test]
    fn block_mean_averages_partial_edge_blocks() {
        let band = Array3::from_shape_fn((3, 5, 3), |(y, x, c)| (y * 10 + x + c) as u8);
        let m = block_mean(&band, 2, 3);
        assert_eq!(m.shape(), &[2, 3, 3]);
        // Top-left block: (0 + 1 + 10 + 11) / 4 = 5.5, rounded half up.
        assert_eq!(m[[0, 0, 0]], 6);
        // Bottom-right block has one pixel: y = 2, x = 4.
        assert_eq!(m[[1, 2, 0]], 24);
    }
}
