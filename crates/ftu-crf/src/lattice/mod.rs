//! The permutohedral lattice (Adams, Baek & Davis 2010): Gaussian filtering in
//! `d` feature dimensions in time linear in the number of pixels.
//!
//! Filtering is splat (pixels to lattice vertices, barycentric weights), blur
//! (a `[1/2 1 1/2]` kernel along each of the `d + 1` lattice axes) and slice
//! (vertices back to pixels), as DenseCRF v2 does it.
//!
//! Parallel and deterministic: pixels are cut into fixed chunks of
//! [`CHUNK_PIXELS`] (independent of the thread count). Each chunk has its own
//! small vertex table, so splatting is a cache-friendly sequential scatter
//! into chunk-local sums; the chunk sums are then added per global vertex in
//! chunk order. Every floating-point sum therefore has one fixed order.

mod key_table;
mod simplex;

use rayon::prelude::*;

use crate::error::CrfError;
use key_table::KeyTable;
pub(crate) use simplex::MAX_D;
use simplex::{KEY_LIMIT, Simplex, embed, neighbour_offsets, scale_factors};

/// Pixels per chunk (a fixed constant, so results do not depend on threads).
pub(crate) const CHUNK_PIXELS: usize = 1 << 16;
/// Global vertices per parallel work item in the reduce and blur passes.
const VERTEX_BLOCK: usize = 4096;

/// One pixel's link to one vertex of its simplex: the vertex's index in its
/// chunk's local table, and the barycentric weight.
#[derive(Clone, Copy, Default)]
struct Link {
    local: u32,
    weight: f32,
}

/// A lattice built for one set of per-pixel features.
pub(crate) struct Lattice {
    d: usize,
    pixels: usize,
    /// `pixels * (d + 1)` links, pixel-major.
    links: Vec<Link>,
    /// Chunk `c` owns local vertices `chunk_base[c]..chunk_base[c + 1]` of the
    /// flat local-vertex space.
    chunk_base: Vec<usize>,
    /// Global vertex of each flat local vertex.
    local_to_global: Vec<u32>,
    /// CSR from global vertex to its flat local vertices, in chunk order.
    reduce_start: Vec<u32>,
    reduce_entries: Vec<u32>,
    /// Number of global vertices; index `vertices` is an always-zero slot
    /// standing for "no neighbour".
    vertices: usize,
    /// `(d + 1) * vertices` neighbour pairs, axis-major.
    neighbours: Vec<[u32; 2]>,
    /// DenseCRF's slice scaling `1 / (1 + 2^-d)`.
    alpha: f32,
}

/// Reusable buffers for [`Lattice::filter`].
#[derive(Default)]
pub(crate) struct Scratch {
    local: Vec<f32>,
    global_a: Vec<f32>,
    global_b: Vec<f32>,
}

/// Splits `buf` into consecutive mutable pieces at the given boundaries
/// (scaled by `scale` values per entry).
fn split_by<'a>(mut buf: &'a mut [f32], bounds: &[usize], scale: usize) -> Vec<&'a mut [f32]> {
    let mut pieces = Vec::with_capacity(bounds.len().saturating_sub(1));
    for w in bounds.windows(2) {
        let (head, tail) = buf.split_at_mut((w[1] - w[0]) * scale);
        pieces.push(head);
        buf = tail;
    }
    pieces
}

impl Lattice {
    /// Builds the lattice for a `width`-wide window of `pixels` pixels whose
    /// features are `feature(row, col)` (already divided by the kernel
    /// widths). `origin` (row, col) of the window is only used in errors.
    pub(crate) fn build<const D: usize, F>(
        width: usize,
        pixels: usize,
        origin: (usize, usize),
        feature: F,
    ) -> Result<Self, CrfError>
    where
        F: Fn(usize, usize) -> [f32; D] + Sync,
    {
        debug_assert!((1..=MAX_D).contains(&D));
        let scale = scale_factors::<D>();
        let d1 = D + 1;
        let n_links = pixels.checked_mul(d1).ok_or(CrfError::TooLarge {
            what: "lattice links",
            count: usize::MAX,
        })?;
        let mut links = vec![Link::default(); n_links];

        // 1. Per chunk, in parallel: embed each pixel and number its vertices
        //    in a chunk-local table.
        let local_keys: Vec<Result<Vec<u128>, (usize, usize, i64)>> = links
            .par_chunks_mut(CHUNK_PIXELS * d1)
            .enumerate()
            .map(|(c, chunk_links)| {
                let start = c * CHUNK_PIXELS;
                let count = chunk_links.len() / d1;
                let mut table = KeyTable::with_expected(count / 4 + 64);
                let (mut row, mut col) = (start / width, start % width);
                // Neighbouring pixels usually share a simplex: reuse its
                // vertex numbers instead of hashing the same keys again.
                let mut last: Option<Simplex> = None;
                let mut last_local = [0u32; MAX_D + 1];
                for pixel_links in chunk_links.chunks_exact_mut(d1) {
                    let simplex =
                        embed::<D>(&feature(row, col), &scale).map_err(|c| (row, col, c))?;
                    if !last.is_some_and(|l| l.same_vertices(&simplex)) {
                        let keys = simplex.keys::<D>().map_err(|c| (row, col, c))?;
                        for r in 0..d1 {
                            last_local[r] = table.insert(keys[r]);
                        }
                        last = Some(simplex);
                    }
                    for (r, link) in pixel_links.iter_mut().enumerate() {
                        *link = Link {
                            local: last_local[r],
                            weight: simplex.weights[r],
                        };
                    }
                    col += 1;
                    if col == width {
                        col = 0;
                        row += 1;
                    }
                }
                Ok(table.into_keys())
            })
            .collect();
        let mut chunks = Vec::with_capacity(local_keys.len());
        for keys in local_keys {
            match keys {
                Ok(keys) => chunks.push(keys),
                Err((row, col, coordinate)) => {
                    return Err(CrfError::FeatureRange {
                        row: origin.0 + row,
                        col: origin.1 + col,
                        coordinate,
                        limit: KEY_LIMIT,
                    });
                }
            }
        }

        // 2. Merge chunk tables into the global one, in chunk order.
        let total_local: usize = chunks.iter().map(Vec::len).sum();
        if total_local >= u32::MAX as usize {
            return Err(CrfError::TooLarge {
                what: "lattice vertices",
                count: total_local,
            });
        }
        let mut chunk_base = Vec::with_capacity(chunks.len() + 1);
        chunk_base.push(0);
        let mut global = KeyTable::with_expected(chunks.first().map_or(16, Vec::len) * 2);
        let mut local_to_global = Vec::with_capacity(total_local);
        for keys in &chunks {
            for &key in keys {
                local_to_global.push(global.insert(key));
            }
            chunk_base.push(local_to_global.len());
        }
        drop(chunks);
        let vertices = global.len();

        // 3. CSR: for each global vertex, its local copies in chunk order.
        let mut reduce_start = vec![0u32; vertices + 1];
        for &g in &local_to_global {
            reduce_start[g as usize + 1] += 1;
        }
        for g in 0..vertices {
            reduce_start[g + 1] += reduce_start[g];
        }
        let mut fill = reduce_start.clone();
        let mut reduce_entries = vec![0u32; total_local];
        for (e, &g) in local_to_global.iter().enumerate() {
            reduce_entries[fill[g as usize] as usize] = e as u32;
            fill[g as usize] += 1;
        }

        // 4. Blur neighbours along each axis; missing ones point at the zero
        //    slot. The two neighbours are `key ± o` (`o2 = -o1`), so looking
        //    up `n1` for every vertex also gives every `n2` link: if
        //    `n1(g) = h` then `n2(h) = g`.
        let keys = global.keys();
        let mut neighbours = vec![[0u32; 2]; d1 * vertices];
        let absent = vertices as u32;
        if vertices > 0 {
            neighbours
                .par_chunks_mut(vertices)
                .enumerate()
                .for_each(|(j, axis)| {
                    let (o1, o2) = neighbour_offsets::<D>(j);
                    debug_assert_eq!(o1.wrapping_add(o2), 0);
                    axis.par_chunks_mut(VERTEX_BLOCK)
                        .enumerate()
                        .for_each(|(b, block)| {
                            for (i, pair) in block.iter_mut().enumerate() {
                                let key = keys[b * VERTEX_BLOCK + i];
                                *pair =
                                    [global.find(key.wrapping_add(o1)).unwrap_or(absent), absent];
                            }
                        });
                    for g in 0..vertices {
                        let h = axis[g][0];
                        if h != absent {
                            axis[h as usize][1] = g as u32;
                        }
                    }
                });
        }

        Ok(Self {
            d: D,
            pixels,
            links,
            chunk_base,
            local_to_global,
            reduce_start,
            reduce_entries,
            vertices,
            neighbours,
            alpha: 1.0 / (1.0 + 2f32.powi(-(D as i32))),
        })
    }

    /// Number of lattice vertices.
    #[cfg(test)]
    pub(crate) fn vertices(&self) -> usize {
        self.vertices
    }

    /// Filters `input` (`pixels * channels`, pixel-major) into `output`:
    /// `output[p] = post[p] * alpha * sum_q K(p, q) * pre[q] * input[q]`,
    /// with `K` the lattice approximation of the Gaussian kernel. `pre` and
    /// `post` default to 1.
    pub(crate) fn filter(
        &self,
        input: &[f32],
        channels: usize,
        pre: Option<&[f32]>,
        post: Option<&[f32]>,
        output: &mut [f32],
        scratch: &mut Scratch,
    ) {
        assert_eq!(input.len(), self.pixels * channels);
        assert_eq!(output.len(), self.pixels * channels);
        // Monomorphise the hot loops on the lattice dimension and, for the
        // two-label path, on a single channel.
        macro_rules! dispatch {
            ($($d:literal),*) => {
                match (self.d, channels) {
                    $(($d, 1) => self.filter_with::<{ $d + 1 }, 1>(input, 1, pre, post, output, scratch),)*
                    $(($d, _) => self.filter_with::<{ $d + 1 }, 0>(input, channels, pre, post, output, scratch),)*
                    _ => unreachable!("lattice dimension {} is checked at build", self.d),
                }
            };
        }
        dispatch!(1, 2, 3, 4, 5);
    }

    /// The filter for `D1 = d + 1` and `FIXED` channels (0: `channels`).
    fn filter_with<const D1: usize, const FIXED: usize>(
        &self,
        input: &[f32],
        channels: usize,
        pre: Option<&[f32]>,
        post: Option<&[f32]>,
        output: &mut [f32],
        scratch: &mut Scratch,
    ) {
        // Inside each closure, `chans::<FIXED>(channels)` folds to a constant
        // when FIXED > 0 (a captured variable would not).
        #[inline(always)]
        fn chans<const FIXED: usize>(dynamic: usize) -> usize {
            if FIXED > 0 { FIXED } else { dynamic }
        }
        let ch = channels;
        let flat = *self.chunk_base.last().unwrap_or(&0);
        scratch.local.resize(flat * ch, 0.0);
        scratch.global_a.resize((self.vertices + 1) * ch, 0.0);
        scratch.global_b.resize((self.vertices + 1) * ch, 0.0);
        let links: &[[Link; D1]] = self.links.as_chunks::<D1>().0;

        // Splat into chunk-local sums.
        let pieces = split_by(&mut scratch.local, &self.chunk_base, ch);
        pieces.into_par_iter().enumerate().for_each(|(c, local)| {
            let ch = chans::<FIXED>(channels);
            local.fill(0.0);
            let first = c * CHUNK_PIXELS;
            let last = (first + CHUNK_PIXELS).min(self.pixels);
            for p in first..last {
                let s = pre.map_or(1.0, |pre| pre[p]);
                let src = &input[p * ch..][..ch];
                for link in &links[p] {
                    let dst = &mut local[link.local as usize * ch..][..ch];
                    for k in 0..ch {
                        // DenseCRF scales the input first, then weights it.
                        dst[k] += link.weight * (src[k] * s);
                    }
                }
            }
        });

        // Add the chunk sums per global vertex, in chunk order.
        let (values, zero_slot) = scratch.global_a.split_at_mut(self.vertices * ch);
        zero_slot.fill(0.0);
        scratch.global_b[self.vertices * ch..].fill(0.0);
        let local = &scratch.local;
        values
            .par_chunks_mut(VERTEX_BLOCK * ch)
            .enumerate()
            .for_each(|(b, block)| {
                let ch = chans::<FIXED>(channels);
                for (i, dst) in block.chunks_exact_mut(ch).enumerate() {
                    let g = b * VERTEX_BLOCK + i;
                    let range = self.reduce_start[g] as usize..self.reduce_start[g + 1] as usize;
                    dst.fill(0.0);
                    for &e in &self.reduce_entries[range] {
                        let src = &local[e as usize * ch..][..ch];
                        for k in 0..ch {
                            dst[k] += src[k];
                        }
                    }
                }
            });

        // Blur along each lattice axis in turn.
        let (mut cur, mut next) = (&mut scratch.global_a, &mut scratch.global_b);
        for j in 0..D1 {
            let axis = &self.neighbours[j * self.vertices..(j + 1) * self.vertices];
            let old: &[f32] = cur;
            next[..self.vertices * ch]
                .par_chunks_mut(VERTEX_BLOCK * ch)
                .enumerate()
                .for_each(|(b, block)| {
                    let ch = chans::<FIXED>(channels);
                    let pairs = &axis[b * VERTEX_BLOCK..];
                    for (i, dst) in block.chunks_exact_mut(ch).enumerate() {
                        let g = b * VERTEX_BLOCK + i;
                        let [n1, n2] = pairs[i];
                        let o = &old[g * ch..][..ch];
                        let a = &old[n1 as usize * ch..][..ch];
                        let z = &old[n2 as usize * ch..][..ch];
                        for k in 0..ch {
                            dst[k] = o[k] + 0.5 * (a[k] + z[k]);
                        }
                    }
                });
            std::mem::swap(&mut cur, &mut next);
        }
        let blurred: &[f32] = cur;

        // Copy the blurred vertex values back to each chunk's local copies.
        scratch
            .local
            .par_chunks_mut(VERTEX_BLOCK * ch)
            .enumerate()
            .for_each(|(b, block)| {
                let ch = chans::<FIXED>(channels);
                let globals = &self.local_to_global[b * VERTEX_BLOCK..];
                for (i, dst) in block.chunks_exact_mut(ch).enumerate() {
                    let g = globals[i] as usize;
                    dst.copy_from_slice(&blurred[g * ch..][..ch]);
                }
            });

        // Slice: interpolate back to the pixels.
        let alpha = self.alpha;
        let local = &scratch.local;
        output
            .par_chunks_mut(CHUNK_PIXELS * ch)
            .enumerate()
            .for_each(|(c, out)| {
                let ch = chans::<FIXED>(channels);
                let chunk_local = &local[self.chunk_base[c] * ch..self.chunk_base[c + 1] * ch];
                let first = c * CHUNK_PIXELS;
                for (i, dst) in out.chunks_exact_mut(ch).enumerate() {
                    let p = first + i;
                    let scale = post.map_or(1.0, |post| post[p]);
                    if ch == 1 {
                        let mut acc = 0.0f32;
                        for link in &links[p] {
                            acc += link.weight * chunk_local[link.local as usize] * alpha;
                        }
                        dst[0] = acc * scale;
                        continue;
                    }
                    dst.fill(0.0);
                    for link in &links[p] {
                        let src = &chunk_local[link.local as usize * ch..][..ch];
                        // DenseCRF rounds differently up to two channels and
                        // above (its scalar and SSE paths); so do we.
                        if ch <= 2 {
                            for k in 0..ch {
                                dst[k] += link.weight * src[k] * alpha;
                            }
                        } else {
                            let w = link.weight * alpha;
                            for k in 0..ch {
                                dst[k] += w * src[k];
                            }
                        }
                    }
                    if post.is_some() {
                        for v in dst.iter_mut() {
                            *v *= scale;
                        }
                    }
                }
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute-force Gaussian filter `sum_q exp(-|f_p - f_q|^2 / 2) v_q` on 2-D positions.
    fn brute_force(w: usize, h: usize, s: f32, v: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0; w * h];
        for py in 0..h {
            for px in 0..w {
                let mut acc = 0.0f64;
                for qy in 0..h {
                    for qx in 0..w {
                        let dx = (px as f32 - qx as f32) / s;
                        let dy = (py as f32 - qy as f32) / s;
                        acc += (-(dx * dx + dy * dy) as f64 / 2.0).exp() * v[qy * w + qx] as f64;
                    }
                }
                out[py * w + px] = acc as f32;
            }
        }
        out
    }

    fn grid_lattice(w: usize, h: usize, s: f32) -> Lattice {
        Lattice::build::<2, _>(w, w * h, (0, 0), |y, x| [x as f32 / s, y as f32 / s]).unwrap()
    }

    #[test]
    fn normalised_lattice_filter_matches_brute_force_gaussian() {
        let (w, h, s) = (24, 18, 3.0);
        let lattice = grid_lattice(w, h, s);
        let v: Vec<f32> = (0..w * h)
            .map(|p| if (p % w) < 10 { 1.0 } else { 0.2 } + ((p / w) as f32 * 0.05))
            .collect();
        let ones = vec![1.0; w * h];
        let (mut kv, mut k1) = (vec![0.0; w * h], vec![0.0; w * h]);
        let mut scratch = Scratch::default();
        lattice.filter(&v, 1, None, None, &mut kv, &mut scratch);
        lattice.filter(&ones, 1, None, None, &mut k1, &mut scratch);
        let (bv, b1) = (brute_force(w, h, s, &v), brute_force(w, h, s, &ones));
        // The lattice is an approximation with a different overall scale:
        // compare the normalised (weighted-average) responses.
        let mut worst = 0.0f32;
        for p in 0..w * h {
            let lattice_avg = kv[p] / k1[p];
            let exact_avg = bv[p] / b1[p];
            worst = worst.max((lattice_avg - exact_avg).abs());
        }
        assert!(worst < 0.06, "worst normalised difference {worst}");
        // And the filter really smooths: a step edge becomes a ramp.
        let row = 9 * w;
        let (left, right) = (v[row], v[row + w - 1]);
        let edge = kv[row + 9] / k1[row + 9];
        assert!(
            edge < left - 0.05 && edge > right + 0.05,
            "{right} < {edge} < {left}"
        );
    }

    #[test]
    fn multi_channel_filter_equals_per_channel_filters() {
        let (w, h) = (40, 30);
        let lattice = grid_lattice(w, h, 2.5);
        let a: Vec<f32> = (0..w * h).map(|p| (p as f32 * 0.13).sin()).collect();
        let b: Vec<f32> = (0..w * h).map(|p| (p % 7) as f32).collect();
        let both: Vec<f32> = a.iter().zip(&b).flat_map(|(&x, &y)| [x, y]).collect();
        let mut scratch = Scratch::default();
        let (mut fa, mut fb, mut fboth) =
            (vec![0.0; w * h], vec![0.0; w * h], vec![0.0; 2 * w * h]);
        lattice.filter(&a, 1, None, None, &mut fa, &mut scratch);
        lattice.filter(&b, 1, None, None, &mut fb, &mut scratch);
        lattice.filter(&both, 2, None, None, &mut fboth, &mut scratch);
        for p in 0..w * h {
            assert_eq!(fboth[2 * p], fa[p]);
            assert_eq!(fboth[2 * p + 1], fb[p]);
        }
    }

    #[test]
    fn chunks_cover_large_inputs_consistently() {
        // More than one chunk: a constant signal stays smooth across chunk seams.
        let (w, h) = (512, 300);
        let lattice = grid_lattice(w, h, 3.0);
        assert!(lattice.chunk_base.len() > 2);
        let ones = vec![1.0; w * h];
        let mut out = vec![0.0; w * h];
        lattice.filter(&ones, 1, None, None, &mut out, &mut Scratch::default());
        let interior: Vec<f32> = (50..250)
            .flat_map(|y| (50..450).map(move |x| (y, x)))
            .map(|(y, x)| out[y * w + x])
            .collect();
        let (lo, hi) = interior
            .iter()
            .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        assert!(hi / lo < 1.05, "interior response varies: {lo}..{hi}");
        assert!(lattice.vertices() > 0);
    }
}
