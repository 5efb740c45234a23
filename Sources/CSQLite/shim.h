#include <sqlite3.h>

/// Turns off SQLite's memory statistics before the library initialises (sqlite3_config is
/// variadic, so Swift cannot call it). With them on, every allocation SQLite makes takes one
/// process-wide mutex, which the event loops' concurrent reads contend for. SQLITE_MISUSE
/// when the library was already initialised: nothing changes then.
static inline int tarn_sqlite_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

#include <stdint.h>

/// Reads the header of a WAL index (the `-shm` file, mapped at `shm`): two 48-byte copies,
/// both rewritten by every transaction that commits (https://www.sqlite.org/walformat.html,
/// "The WAL-Index Header"; a writer updates the second copy, then the first). Copies the first
/// into `out` and returns 1 when the two agree, 0 while a writer is between them.
static inline int tarn_wal_index_header(const void *shm, uint64_t out[6]) {
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    const volatile uint64_t *words = (const volatile uint64_t *)shm;
    int same = 1;
    for (int i = 0; i < 6; i++) {
        out[i] = words[i];
        if (words[i + 6] != out[i]) same = 0;
    }
    return same;
}
