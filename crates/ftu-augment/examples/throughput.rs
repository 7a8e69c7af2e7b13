//! Tiles per second of the default pipeline on one thread, by wall clock and
//! by this thread's on-CPU time (Linux `/proc/thread-self/schedstat`), so a
//! figure taken on a busy machine can be compared with
//! `scripts/augment_reference.py`, which reports the same two clocks.
//!
//! ```text
//! cargo run --release --example throughput -p ftu-augment -- [ITERS]
//! ```

use std::time::Instant;

use ftu_augment::Pipeline;

/// The synthetic tile of `benches/pipeline.rs` and the reference script.
#[path = "../benches/synthetic/mod.rs"]
mod synthetic;
use synthetic::tile;

/// Nanoseconds this thread has spent on a CPU, if the kernel reports it.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn main() {
    let iters: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let pipeline = Pipeline::recipe();
    for n in [256usize, 512] {
        let (image, mask) = tile(n);
        let iters = if n == 256 { iters } else { (iters / 4).max(1) };
        for s in 0..50 {
            let (mut i, mut m) = (image.clone(), mask.clone());
            pipeline.apply_seeded(&mut i, &mut m, 1, s).unwrap();
        }
        let (wall0, cpu0) = (Instant::now(), cpu_ns());
        for s in 0..iters {
            let (mut i, mut m) = (image.clone(), mask.clone());
            pipeline.apply_seeded(&mut i, &mut m, 0, s).unwrap();
            std::hint::black_box((i, m));
        }
        let wall = wall0.elapsed().as_secs_f64() / iters as f64;
        let cpu = cpu_ns()
            .zip(cpu0)
            .map(|(b, a)| (b - a) as f64 * 1e-9 / iters as f64);
        print!(
            "{n}x{n}: wall {:.3} ms/tile ({:.0} tiles/s)",
            wall * 1e3,
            1.0 / wall
        );
        match cpu {
            Some(c) => println!(", on-CPU {:.3} ms/tile ({:.0} tiles/s)", c * 1e3, 1.0 / c),
            None => println!(", on-CPU time unavailable"),
        }
    }
}
