//! Rasterising a 1024x1024 window holding a few glomerulus-sized polygons.

use criterion::{Criterion, criterion_group, criterion_main};
use ftu_polygon::{Polygon, rasterize};
use std::hint::black_box;

fn blob(cx: f64, cy: f64, r: f64) -> Polygon {
    let exterior = (0..120)
        .map(|i| {
            let a = i as f64 * std::f64::consts::TAU / 120.0;
            let rr = r * (1.0 + 0.1 * (5.0 * a).sin());
            [cx + rr * a.cos(), cy + rr * a.sin()]
        })
        .collect();
    Polygon {
        exterior,
        holes: vec![],
    }
}

fn bench(c: &mut Criterion) {
    let polys: Vec<Polygon> = (0..6)
        .map(|i| {
            blob(
                150.0 + 140.0 * i as f64,
                200.0 + 100.0 * (i % 3) as f64,
                180.0,
            )
        })
        .collect();
    c.bench_function("rasterize 1024x1024, 6 polygons x 120 vertices", |b| {
        b.iter(|| rasterize(black_box(&polys), 0, 0, 1024, 1024))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
