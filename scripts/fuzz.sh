#!/usr/bin/env bash
# Fuzz the HTTP request parser with libFuzzer for a bounded time.
# Usage: scripts/fuzz.sh [SECONDS]   (default 60). Corpus and crashes go under .build-fuzz/.
set -euo pipefail
seconds="${1:-60}"
cd "$(dirname "$0")/.."
out=.build-fuzz
mkdir -p "$out/corpus"

# One module: HTTPCore's sources plus the fuzz target, so internals are reachable.
swiftc -O -g -sanitize=fuzzer,address -parse-as-library -module-name ParserFuzz \
    Sources/HTTPCore/*.swift Fuzz/ParserFuzz.swift -o "$out/parser-fuzz" 2> >(grep -v "Cannot export local symbol" >&2)

# Seed an empty corpus with the test fixtures.
if [ -z "$(ls -A "$out/corpus")" ]; then
    swiftc -O -parse-as-library -module-name SeedWriter Sources/HTTPCore/*.swift \
        Tests/HTTPCoreTests/Fixtures/RequestFixtures.swift Fuzz/SeedWriter.swift -o "$out/seed-writer"
    "$out/seed-writer" "$out/corpus"
fi

exec "$out/parser-fuzz" -max_total_time="$seconds" -max_len=4096 -timeout=10 -print_final_stats=1 \
    -dict=Fuzz/http.dict -artifact_prefix="$out/" "$out/corpus"
