#!/usr/bin/env bash
# Leak and memory-error check for UVLoop, without make:
#   scripts/leakcheck-uvloop.sh            # AddressSanitizer + LeakSanitizer (default)
#   scripts/leakcheck-uvloop.sh valgrind   # valgrind memcheck on a plain -g build
# Compiles UVLoop's sources with scripts/leakcheck/UVLoopLeakCheck.swift (a driver that runs every
# handle and request type through success, error and cancellation paths on real sockets, files
# and processes) into one binary, runs it, and fails on any leak, memory error, unclean loop
# close or live handle box. (Valgrind cannot run the swift-testing binary itself here: it crashes
# inside Dispatch, and chokes on Swift 6.3's DWARF 5; the driver avoids both.)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-asan}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
sources=(Sources/UVLoop/*.swift scripts/leakcheck/UVLoopLeakCheck.swift)
flags=(-swift-version 6 -parse-as-library -module-name UVLoopLeakCheck -I Sources/CLibUV
       -enable-upcoming-feature ExistentialAny -enable-upcoming-feature MemberImportVisibility
       $(pkg-config --libs libuv))
case "$mode" in
  asan)
    # ld.gold's "Cannot export local symbol __asan_…" warnings are harmless (see NOTES).
    swiftc "${flags[@]}" -Onone -g -sanitize=address "${sources[@]}" -o "$out/leakcheck" 2> >(grep -v "Cannot export local symbol" >&2)
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 "$out/leakcheck"
    ;;
  valgrind)
    swiftc "${flags[@]}" -Onone -g -Xcc -gdwarf-4 -debug-info-format=dwarf -dwarf-version=4 "${sources[@]}" -o "$out/leakcheck"
    valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
      --error-exitcode=99 "$out/leakcheck"
    ;;
  *) echo "usage: $0 [asan|valgrind]" >&2; exit 2 ;;
esac
