#include <sqlite3.h>

/// Turns off SQLite's memory statistics before the library initialises (sqlite3_config is
/// variadic, so Swift cannot call it). With them on, every allocation SQLite makes takes one
/// process-wide mutex, which the event loops' concurrent reads contend for. SQLITE_MISUSE
/// when the library was already initialised: nothing changes then.
static inline int tarn_sqlite_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
