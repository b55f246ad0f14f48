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
#endif
