//! The process allocator: mimalloc, told to keep the memory it frees.
//!
//! On this project's reference VM the host takes back freed pages within
//! seconds and touching them again costs ~3.7 s/GiB. A training step frees
//! and reallocates ~1–2 GiB of activations, so mimalloc's default (return
//! freed pages after 1 s) pays that on every step; with purging off the
//! pages stay mapped and are reused. Peak RSS is unchanged in kind: the
//! process keeps its high-water mark instead of shrinking between steps.
//! `MIMALLOC_PURGE_DELAY` in the environment still wins (set it to `1000` to
//! measure mimalloc's default).

use std::os::raw::{c_int, c_long};

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in the `mi_option_e` enum of the mimalloc v3
/// sources that libmimalloc-sys 0.1.49 vendors (`include/mimalloc.h`);
/// the sys crate does not export the v3 name.
const MI_OPTION_PURGE_DELAY: c_int = 15;

unsafe extern "C" {
    fn mi_option_set(option: c_int, value: c_long);
    fn mi_option_get(option: c_int) -> c_long;
}

/// Turn purging off unless the user chose a delay; call first in `main`.
pub fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: a plain option store in mimalloc; the id is checked by the test.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
    }
}

/// mimalloc's current purge delay in milliseconds (-1: never purge).
pub fn purge_delay() -> i64 {
    // SAFETY: reads an option value.
    unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) as i64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_id_is_the_purge_delay() {
        // mimalloc's default purge delay is 1000 ms (`src/options.c`); no
        // neighbouring option has that default, so a wrong id fails here.
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(purge_delay(), 1000);
            keep_freed_memory();
            assert_eq!(purge_delay(), -1);
        }
    }
}
