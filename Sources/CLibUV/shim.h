// The libuv headers, plus what Swift cannot call directly.
#ifndef WHARF_CLIBUV_SHIM_H
#define WHARF_CLIBUV_SHIM_H
#include <uv.h>
#include <pthread.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>

#if UV_VERSION_HEX < 0x012c00
#error "Wharf needs libuv 1.44 or newer"
#endif

/// uv_loop_configure is variadic; Swift cannot call variadic C functions.
static inline int wharf_uv_loop_block_sigprof(uv_loop_t *loop) {
    return uv_loop_configure(loop, UV_LOOP_BLOCK_SIGNAL, SIGPROF);
}

/// pthread_setname_np is declared only under _GNU_SOURCE, which Swift's Glibc module is built
/// without; glibc exports it regardless.
int pthread_setname_np(pthread_t thread, const char *name);
static inline int wharf_set_thread_name(const char *name) {
    return pthread_setname_np(pthread_self(), name);
}

/// preadv2 with RWF_NOWAIT (Linux 4.14+): reads only what the page cache already holds and fails
/// with EAGAIN instead of waiting for the disk, so a loop thread may call it. Declared only under
/// _GNU_SOURCE; glibc exports it regardless.
#include <sys/uio.h>
ssize_t preadv2(int fd, const struct iovec *iov, int iovcnt, off_t offset, int flags);
#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif
static inline ssize_t wharf_pread_nowait(int fd, void *buffer, size_t count, off_t offset) {
    struct iovec iov = { buffer, count };
    return preadv2(fd, &iov, 1, offset, RWF_NOWAIT);
}
#endif
