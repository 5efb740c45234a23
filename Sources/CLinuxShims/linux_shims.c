#define _GNU_SOURCE
#include "linux_shims.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

int tarn_start_writeback(int fd, int64_t offset, int64_t length) {
#ifdef __linux__
    return sync_file_range(fd, (off_t)offset, (off_t)length, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd; (void)offset; (void)length;
    errno = ENOSYS;
    return -1;
#endif
}

int64_t tarn_copy_file_range(int fd_in, int64_t *offset_in, int fd_out, int64_t *offset_out, int64_t length) {
#ifdef __linux__
    loff_t in = (loff_t)*offset_in, out = (loff_t)*offset_out;
    ssize_t n = copy_file_range(fd_in, &in, fd_out, &out, (size_t)length, 0);
    if (n > 0) { *offset_in = in; *offset_out = out; }
    return n;
#else
    (void)fd_in; (void)offset_in; (void)fd_out; (void)offset_out; (void)length;
    errno = ENOSYS;
    return -1;
#endif
}

void tarn_tune_allocator(int mmap_threshold, int trim_threshold) {
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, mmap_threshold);
    mallopt(M_TRIM_THRESHOLD, trim_threshold);
#else
    (void)mmap_threshold; (void)trim_threshold;
#endif
}

int tarn_punch_hole(int fd, int64_t offset, int64_t length) {
#ifdef __linux__
    return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)length);
#else
    (void)fd; (void)offset; (void)length;
    errno = ENOSYS;
    return -1;
#endif
}

int64_t tarn_seek_data(int fd, int64_t offset) {
#ifdef SEEK_DATA
    return (int64_t)lseek(fd, (off_t)offset, SEEK_DATA);
#else
    (void)fd; (void)offset;
    errno = ENOSYS;
    return -1;
#endif
}

int tarn_set_direct_io(int fd, int on) {
#if defined(__linux__) && defined(O_DIRECT)
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, on ? (flags | O_DIRECT) : (flags & ~O_DIRECT));
#else
    (void)fd; (void)on;
    errno = ENOSYS;
    return -1;
#endif
}

int64_t tarn_splice(int fd_in, int fd_out, int64_t length, int more) {
#ifdef __linux__
    unsigned flags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | (more ? SPLICE_F_MORE : 0);
    return splice(fd_in, NULL, fd_out, NULL, (size_t)length, flags);
#else
    (void)fd_in; (void)fd_out; (void)length; (void)more;
    errno = ENOSYS;
    return -1;
#endif
}

int tarn_set_pipe_size(int fd, int size) {
#ifdef __linux__
    return fcntl(fd, F_SETPIPE_SZ, size);
#else
    (void)fd; (void)size;
    errno = ENOSYS;
    return -1;
#endif
}

int tarn_socket_pending(int fd) {
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 ? n : 0;
}
