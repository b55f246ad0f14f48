// zstd, brotli (encoder + decoder) and zlib headers, plus wrappers for zlib's init macros,
// which Swift cannot import.
#ifndef WHARF_CCODECS_SHIM_H
#define WHARF_CCODECS_SHIM_H
#include <zstd.h>
#include <brotli/encode.h>
#include <brotli/decode.h>
#include <zlib.h>

static inline int wharf_deflateInit2(z_streamp strm, int level, int method, int windowBits, int memLevel, int strategy) {
    return deflateInit2(strm, level, method, windowBits, memLevel, strategy);
}
static inline int wharf_inflateInit2(z_streamp strm, int windowBits) {
    return inflateInit2(strm, windowBits);
}
#endif
