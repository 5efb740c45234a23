// Linux system calls Glibc's Swift module does not export (they are declared only under
// _GNU_SOURCE). Elsewhere they fail with ENOSYS and callers take their portable path.
#ifndef TARN_LINUX_SHIMS_H
#define TARN_LINUX_SHIMS_H

#include <stdint.h>
#include <sys/types.h>

/// Starts writeback of a file range without waiting for it (sync_file_range with
/// SYNC_FILE_RANGE_WRITE): a later fsync then has little left to flush.
int tarn_start_writeback(int fd, int64_t offset, int64_t length);

/// copy_file_range(2): copies bytes between files inside the kernel (a reflink on file
/// systems that share extents). Advances both offsets; returns bytes copied or -1.
int64_t tarn_copy_file_range(int fd_in, int64_t *offset_in, int fd_out, int64_t *offset_out, int64_t length);

/// mallopt(M_MMAP_THRESHOLD) and mallopt(M_TRIM_THRESHOLD) (glibc; elsewhere nothing).
void tarn_tune_allocator(int mmap_threshold, int trim_threshold);

/// fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE): frees a file's blocks in a range,
/// which then reads as zeros and is skipped by SEEK_DATA. 0 or -1.
int tarn_punch_hole(int fd, int64_t offset, int64_t length);

/// lseek(SEEK_DATA): the first offset at or after `offset` that holds data; -1 (ENXIO) when
/// there is none up to the end of the file.
int64_t tarn_seek_data(int fd, int64_t offset);

/// Turns O_DIRECT on or off for an open file (fcntl F_SETFL): writes then go from the
/// caller's buffer to the device, bypassing the page cache. They must be aligned to the
/// device's logical block (4096 covers every common one) in address, offset and length.
/// 0, or -1 where the file system does not support it (EINVAL) or elsewhere (ENOSYS).
int tarn_set_direct_io(int fd, int on);

/// splice(2) between two descriptors, one of them a pipe, with no offsets: moves up to
/// `length` bytes inside the kernel (page references, not copies, from and to TCP sockets).
/// `more` sets SPLICE_F_MORE; SPLICE_F_MOVE and SPLICE_F_NONBLOCK are always set. Bytes
/// moved, 0 at the end of the input, or -1.
int64_t tarn_splice(int fd_in, int fd_out, int64_t length, int more);

/// fcntl(F_SETPIPE_SZ): the pipe's capacity, at least `size` when allowed; the new capacity or -1.
int tarn_set_pipe_size(int fd, int size);

/// ioctl(FIONREAD): how many bytes wait to be read on a socket; 0 when it cannot say.
int tarn_socket_pending(int fd);

#endif
