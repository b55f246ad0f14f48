// libnghttp2 (Debian `libnghttp2-dev`) for the HTTP2 module, its only importer: HTTP/2 framing,
// HPACK and the stream state machine. Wharf owns the I/O: bytes are fed in and drained out with
// nghttp2_session_mem_recv / nghttp2_session_mem_send on the connection's own loop.
#ifndef WHARF_CNGHTTP2_SHIM_H
#define WHARF_CNGHTTP2_SHIM_H

#include <nghttp2/nghttp2.h>

#endif
