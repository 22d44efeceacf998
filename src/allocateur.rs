//! The allocator of parafe's binaries (`parafe`, `parafe-bench`), which each say
//! `parafe::allocateur!();`: mimalloc, a heap per thread. With glibc's malloc, a tenth of the
//! pack export's processor time went to allocating, and its threads woke each other over the
//! arenas' locks. It also stands in for `malloc` itself (`override`): SQLite's allocations went
//! through glibc's too, a fifth of the database thread's time when a PLIE's bilans are
//! scheduled. The scenarios keep their own (it counts what the fuzzed parsers allocate).

pub use mimalloc::MiMalloc;

/// `mi_option_arena_eager_commit` in `mimalloc.h`.
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// Memory committed as it is used, not whole arenas at once (mimalloc's default on Linux): the
/// pack export's peak resident memory is then about 210 MB instead of 300. mimalloc sets itself
/// up before `main`, so this runs as a constructor of the executable, ahead of mimalloc's own
/// (linked after the binary's code): `MIMALLOC_VERBOSE=1` shows `arena_eager_commit: 0`.
pub extern "C" fn regler() {
    // SAFETY: sets an option of the allocator, before any thread exists.
    unsafe { libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0) }
}

/// Makes mimalloc, set up by [`regler`], the allocator of the binary that says it.
#[macro_export]
macro_rules! allocateur {
    () => {
        #[global_allocator]
        static ALLOCATEUR: $crate::allocateur::MiMalloc = $crate::allocateur::MiMalloc;

        #[cfg(target_os = "linux")]
        #[used]
        #[link_section = ".init_array"]
        static REGLER: extern "C" fn() = $crate::allocateur::regler;
    };
}
