#include <sqlite3.h>

/// Turns off SQLite's memory statistics before the library initialises (sqlite3_config is
/// variadic, so Swift cannot call it). With them on, every allocation SQLite makes takes one
/// process-wide mutex, which the event loops' concurrent reads contend for. SQLITE_MISUSE
/// when the library was already initialised: nothing changes then.
static inline int tarn_sqlite_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

#include <stdint.h>

/// Reads the header of a WAL index (the `-shm` file, mapped at `shm`), laid out as
/// https://www.sqlite.org/walformat.html describes ("The WAL-Index Header"): two 48-byte
/// copies of a header that every committed transaction rewrites (a writer updates the second
/// copy, then the first), whose fifth 32-bit word (byte 16) is the WAL's last valid frame;
/// then the checkpoint information, whose first word (byte 96) is the number of WAL frames
/// already copied back into the database file. Copies the first header into `out` and those
/// two counts into `last` and `backfilled`; returns 1 when the two copies agree, 0 while a
/// writer is between them.
static inline int tarn_wal_index_header(const void *shm, uint64_t out[6], uint32_t *last, uint32_t *backfilled) {
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    const volatile uint64_t *words = (const volatile uint64_t *)shm;
    int same = 1;
    for (int i = 0; i < 6; i++) {
        out[i] = words[i];
        if (words[i + 6] != out[i]) same = 0;
    }
    *last = ((const volatile uint32_t *)shm)[4];
    *backfilled = ((const volatile uint32_t *)shm)[24];
    return same;
}
