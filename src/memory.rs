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

/// Returns the arenas' unused pages to the system (what threads keep in their own caches
/// stays). `serve` calls it between cycles: a cycle of 10,000 clients allocates on every
/// core (loading, comparing), and without this the resident size between cycles stays
/// near the cycle's peak (BENCHMARKS.md, serve). False when jemalloc refused (nothing to
/// do then) or is not the allocator.
pub fn release_freed() -> bool {
    #[cfg(not(target_env = "msvc"))]
    {
        // `arena.<MALLCTL_ARENAS_ALL>.purge`: every arena returns its unused pages now
        // instead of when they decay (jemalloc's `mallctl` manual; 4096 is
        // MALLCTL_ARENAS_ALL in jemalloc 5).
        const PURGE_EVERY_ARENA: &[u8] = b"arena.4096.purge\0";
        use std::ptr::null_mut;
        // SAFETY: the name is NUL-terminated, and its index is MALLCTL_ARENAS_ALL of the
        // bundled jemalloc 5.3 (another index past the arenas, such as 4097, is undefined
        // behaviour in a release build of jemalloc: the test below checks this one is
        // accepted). A purge reads and writes no value (the three pointers null, the length
        // 0), touches no allocation in use, and may be called from any thread at any time.
        let status = unsafe {
            let name = PURGE_EVERY_ARENA.as_ptr().cast();
            tikv_jemalloc_sys::mallctl(name, null_mut(), null_mut(), null_mut(), 0)
        };
        status == 0
    }
    #[cfg(target_env = "msvc")]
    false
}

#[cfg(test)]
mod tests {
    #[cfg(not(target_env = "msvc"))]
    #[test]
    fn jemalloc_accepts_the_purge_of_every_arena() {
        let freed: Vec<Vec<u8>> = (0..64).map(|_| vec![1; 64 * 1024]).collect();
        drop(freed);
        assert!(super::release_freed());
    }
}
