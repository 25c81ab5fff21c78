//! The C allocator setting iisql's binaries start with ([`keep_freed_buffers`]).
//!
//! glibc's `malloc` serves a block above its threshold (128 KiB at start, adapting up to
//! 32 MiB) with `mmap` and unmaps it on `free`, and gives the free memory at the top of a heap
//! beyond 128 KiB back to the kernel. A scan allocates and frees buffers of that size for
//! every batch (column builders, Parquet pages, row groups), so the kernel would zero and fault
//! the same memory in again and again. With the thresholds fixed at [`MMAP_THRESHOLD_BYTES`] and
//! [`TRIM_THRESHOLD_BYTES`], freed buffers are reused.
//!
//! Each thread that allocates gets a heap (an arena) of its own, up to eight per core, and
//! every arena keeps its own free memory, so the memory a process holds would grow with the
//! number of threads that ever allocated (the runtime's workers and its blocking threads), not
//! with the work. [`keep_freed_buffers`] allows one arena per core (at least two).
//!
//! A process-wide choice, so the library leaves it to binaries: `iisql` and `iisql-executor`
//! call [`keep_freed_buffers`] first thing in `main`. The measurements behind these settings
//! are in `docs/tuning.md`.

/// glibc's `M_MMAP_THRESHOLD` as iisql sets it: blocks below it come from the heap.
pub const MMAP_THRESHOLD_BYTES: usize = 64 << 20;

/// glibc's `M_TRIM_THRESHOLD` as iisql sets it: up to this much free memory stays at the top of
/// a heap for reuse.
pub const TRIM_THRESHOLD_BYTES: usize = 16 << 20;

/// Sets glibc's mmap and trim thresholds to [`MMAP_THRESHOLD_BYTES`] and
/// [`TRIM_THRESHOLD_BYTES`], unless the environment already tunes them (`GLIBC_TUNABLES`
/// naming `glibc.malloc`, or `MALLOC_MMAP_THRESHOLD_` / `MALLOC_TRIM_THRESHOLD_`), and limits
/// the arenas to one per core (at least two) unless `MALLOC_ARENA_MAX` or `GLIBC_TUNABLES`
/// does. Returns whether the thresholds were set: never on other C libraries and systems,
/// whose allocators do not return every large block to the kernel. Call it before starting
/// threads (glibc fixes its arena limit once a process has more than eight).
pub fn keep_freed_buffers() -> bool {
    let tunables = std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("glibc.malloc"));
    if !tunables && std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        limit_arenas(cores.max(2));
    }
    let tuned = tunables
        || std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_some()
        || std::env::var_os("MALLOC_TRIM_THRESHOLD_").is_some();
    !tuned && set_thresholds(MMAP_THRESHOLD_BYTES, TRIM_THRESHOLD_BYTES)
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set_thresholds(mmap: usize, trim: usize) -> bool {
    let (Ok(mmap), Ok(trim)) = (libc::c_int::try_from(mmap), libc::c_int::try_from(trim)) else {
        return false;
    };
    // SAFETY: mallopt only changes allocator parameters; glibc takes its own lock.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, mmap) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, trim) == 1
    }
}

/// Sets glibc's `M_ARENA_MAX`: threads beyond `arenas` share the existing heaps.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_arenas(arenas: usize) -> bool {
    let Ok(arenas) = libc::c_int::try_from(arenas) else {
        return false;
    };
    // SAFETY: mallopt only changes allocator parameters; glibc takes its own lock.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, arenas) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_thresholds(_mmap: usize, _trim: usize) -> bool {
    false
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_arenas(_arenas: usize) -> bool {
    false
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    /// Bytes glibc serves with `mmap` right now.
    fn mapped_bytes() -> usize {
        // SAFETY: mallinfo2 only reads allocator counters.
        unsafe { libc::mallinfo2() }.hblkhd
    }

    #[test]
    fn blocks_below_the_threshold_come_from_the_heap() {
        // Above the most glibc's own threshold adapts to (32 MiB), below ours: mapped unless
        // the thresholds were set. (Other tests freeing mapped blocks meanwhile only lower
        // the count.)
        let size = 48 << 20;
        assert!(set_thresholds(MMAP_THRESHOLD_BYTES, TRIM_THRESHOLD_BYTES));
        let before = mapped_bytes();
        let mut block = vec![0u8; size];
        block[size - 1] = 1;
        let during = mapped_bytes();
        drop(std::hint::black_box(block));
        assert!(
            during < before + size,
            "a 48 MiB block was mapped ({before} -> {during} bytes), not taken from the heap"
        );
    }

    /// The heaps glibc has made so far (`malloc_info` writes one `<heap nr=..>` per arena).
    fn arenas() -> usize {
        let mut text: *mut libc::c_char = std::ptr::null_mut();
        let mut len: libc::size_t = 0;
        // SAFETY: open_memstream allocates the buffer it writes, which is freed below once
        // the stream is closed; malloc_info only writes to the stream.
        unsafe {
            let stream = libc::open_memstream(&mut text, &mut len);
            assert!(!stream.is_null());
            assert_eq!(libc::malloc_info(0, stream), 0);
            libc::fclose(stream);
            let bytes = std::slice::from_raw_parts(text.cast::<u8>(), len);
            let heaps = String::from_utf8_lossy(bytes).matches("<heap nr=").count();
            libc::free(text.cast());
            heaps
        }
    }

    /// Run in a process of its own (glibc fixes its arena limit once a process has more than
    /// eight arenas, which the other tests' threads may already have made).
    const ARENA_CHILD: &str = "IISQL_TEST_ARENA_LIMIT";

    #[test]
    fn threads_share_the_limited_arenas() {
        if std::env::var_os(ARENA_CHILD).is_none() {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "malloc::tests::threads_share_the_limited_arenas",
                    "--test-threads=1",
                    "--nocapture",
                ])
                .env(ARENA_CHILD, "1")
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && text.contains("1 passed"),
                "{text}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            return;
        }
        // The main thread's heap and this test thread's: the limit is two.
        assert!(limit_arenas(2));
        let before = arenas();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let barrier = std::sync::Arc::clone(&barrier);
                std::thread::spawn(move || {
                    let block = std::hint::black_box(vec![1u8; 1 << 16]);
                    barrier.wait();
                    block.len()
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), 1 << 16);
        }
        let after = arenas();
        assert!(
            after <= before.max(2),
            "six threads made {before} -> {after} arenas"
        );
    }
}
