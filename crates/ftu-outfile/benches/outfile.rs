//! Cost of an atomic write (create, write 64 KiB, chmod, rename) against a
//! plain `std::fs::write` of the same bytes.

use criterion::{Criterion, criterion_group, criterion_main};
use std::io::Write;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tile.png");
    let bytes = vec![7u8; 64 * 1024];
    c.bench_function("atomic write 64 KiB", |b| {
        b.iter(|| {
            let out = ftu_outfile::AtomicFile::create(&path).unwrap();
            out.file().write_all(&bytes).unwrap();
            out.commit().unwrap();
        })
    });
    c.bench_function("plain fs::write 64 KiB", |b| {
        b.iter(|| std::fs::write(&path, &bytes).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
