//! CPU seconds (user + system, all threads) and wall seconds per end-to-end
//! binary CRF on the benchmark scene: a contention-proof companion to
//! `cargo bench -p ftu-crf` when other jobs share the cores (Linux only: it
//! reads `/proc/self/stat`).
//!
//! `RAYON_NUM_THREADS=1 cargo run --release -p ftu-crf --example cpu_time -- 1024 3`

use ftu_crf::{BinaryCrfParams, refine_foreground};

// As in the bench and the xtask binary.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Process CPU time in seconds: fields 14 and 15 (utime, stime) of
/// `/proc/self/stat`, in clock ticks of 1/100 s.
fn cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat is readable");
    let after_name = stat.rsplit(')').next().expect("stat has a ')'");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| fields[i].parse::<f64>().expect("numeric stat field");
    (ticks(11) + ticks(12)) / 100.0
}

/// The scene of `benches/crf.rs` and `scripts/crf_reference.py`.
#[path = "../benches/scene/mod.rs"]
mod scene;
use scene::scene;

fn main() {
    let arg = |i: usize, default: usize| {
        std::env::args()
            .nth(i)
            .map_or(default, |a| a.parse().expect("arguments: SIZE REPEATS"))
    };
    let (size, reps) = (arg(1, 1024), arg(2, 3).max(1));
    let (image, prob) = scene(size);
    refine_foreground(image.view(), prob.view(), &BinaryCrfParams::default()).unwrap();
    let (c0, t0) = (cpu(), std::time::Instant::now());
    for _ in 0..reps {
        std::hint::black_box(
            refine_foreground(image.view(), prob.view(), &BinaryCrfParams::default()).unwrap(),
        );
    }
    println!(
        "ftu-crf {size}: cpu {:.3} s/run, wall {:.3} s/run",
        (cpu() - c0) / reps as f64,
        t0.elapsed().as_secs_f64() / reps as f64
    );
}
