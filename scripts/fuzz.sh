#!/usr/bin/env bash
# Fuzz with libFuzzer + AddressSanitizer for a bounded time per target.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (default 60 s; default targets: all of them)
#   parser      the HTTP/1.1 request parser (Fuzz/ParserFuzz.swift)
#   headers     Range + multipart framing, preconditions, Accept-Encoding, ETags, dates (Fuzz/HeadersFuzz.swift)
#   admin-json  the admin API's JSON body checks: edge routes and job submission (Fuzz/AdminJSONFuzz.swift)
# Each target is one module (its sources plus the harness, so internals are reachable); corpus and
# crashes go under .build-fuzz/<target>/. Exits non-zero on the first target that finds a crash.
set -euo pipefail
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(parser headers admin-json)
cd "$(dirname "$0")/.."

sources() {
    case "$1" in
        parser) echo Sources/HTTPCore/*.swift Tests/HTTPCoreTests/Fixtures/RequestFixtures.swift ;;
        headers) echo Sources/HTTPCore/*.swift Tests/HTTPCoreTests/Fixtures/HeaderInvariants.swift ;;
        admin-json) echo Sources/Edge/AdminJSON.swift Sources/Edge/AdminRoutes.swift Sources/Edge/AdminBodies.swift \
                         Tests/EdgeTests/AdminBodyInvariants.swift Sources/Scheduler/Queue/JobSubmissionBody.swift \
                         Tests/SchedulerTests/JobSubmissionBodyInvariants.swift ;;
        *) echo "unknown fuzz target: $1 (parser, headers, admin-json)" >&2; exit 2 ;;
    esac
}
harness() { case "$1" in parser) echo ParserFuzz ;; headers) echo HeadersFuzz ;; admin-json) echo AdminJSONFuzz ;; esac; }
seeds() { case "$1" in parser) echo ParserSeeds ;; headers) echo HeadersSeeds ;; admin-json) echo AdminJSONSeeds ;; esac; }
dict() { case "$1" in parser) echo Fuzz/http.dict ;; headers) echo Fuzz/headers.dict ;; admin-json) echo Fuzz/admin-json.dict ;; esac; }

for target in "${targets[@]}"; do
    src=$(sources "$target")
    name=$(harness "$target")
    out=.build-fuzz/$target
    mkdir -p "$out/corpus"
    echo "== fuzz $target for ${seconds}s" >&2
    # shellcheck disable=SC2086
    swiftc -O -g -sanitize=fuzzer,address -parse-as-library -module-name "$name" \
        $src "Fuzz/$name.swift" -o "$out/fuzz" 2> >(grep -v "Cannot export local symbol" >&2)
    if [ -z "$(ls -A "$out/corpus")" ]; then
        # shellcheck disable=SC2086
        swiftc -O -parse-as-library -module-name SeedWriter $src "Fuzz/$(seeds "$target").swift" Fuzz/SeedWriter.swift \
            -o "$out/seed-writer"
        "$out/seed-writer" "$out/corpus"
    fi
    "$out/fuzz" -max_total_time="$seconds" -max_len=4096 -timeout=10 -print_final_stats=1 \
        -dict="$(dict "$target")" -artifact_prefix="$out/" "$out/corpus"
done
