//! The process's memory allocator, and handing freed memory back to the system.
//!
//! jemalloc rather than the system's allocator. glibc gives each thread an arena that
//! grows one page per `mprotect` call, and every new page is then faulted in on its own:
//! for `plan` of 100,000 manifests that was 13-18 % of the process's CPU (both loading
//! threads allocate all the way up to the peak). jemalloc takes memory from the system in
//! large extents. On MSVC, where jemalloc does not build, the system allocator stays.

#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Hands the memory freed so far back to the system. `serve` calls it between cycles: a
/// cycle of 10,000 clients allocates on every core (loading, comparing), and without this
/// the resident size between cycles stays near the cycle's peak (BENCHMARKS.md, serve).
pub fn release_freed() {
    #[cfg(not(target_env = "msvc"))]
    {
        // `arena.<MALLCTL_ARENAS_ALL>.purge`: every arena returns its unused pages now
        // instead of when they decay (jemalloc's `mallctl` manual; 4096 is
        // MALLCTL_ARENAS_ALL in jemalloc 5).
        const PURGE_EVERY_ARENA: &[u8] = b"arena.4096.purge\0";
        use std::ptr::null_mut;
        // SAFETY: the name is NUL-terminated; a purge reads and writes no value (all four
        // value pointers null, length 0), touches no allocation in use, and may be called
        // from any thread at any time.
        unsafe {
            let name = PURGE_EVERY_ARENA.as_ptr().cast();
            tikv_jemalloc_sys::mallctl(name, null_mut(), null_mut(), null_mut(), 0);
        }
    }
}
