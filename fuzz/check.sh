#!/usr/bin/env bash
# Replays the committed seeds (fuzz/seeds/<target>/) through every fuzz target once: a cheap
# regression check that needs no nightly (cargo-fuzz with `-s none` builds on stable).
# Installs cargo-fuzz from crates.io when it is missing. Exits non-zero on any failing seed.
set -euo pipefail

cd "$(dirname "$0")/.."
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

targets=(wrapper_stream apdu ciphered)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

passed=0
failed=0
for target in "${targets[@]}"; do
    # An empty scratch corpus first, so that libFuzzer never writes into the committed seeds.
    mkdir -p "$scratch/$target"
    if cargo fuzz run -s none "$target" "$scratch/$target" "fuzz/seeds/$target" -- -runs=0; then
        passed=$((passed + 1))
    else
        echo "fuzz seed replay failed: $target" >&2
        failed=$((failed + 1))
    fi
done
echo "fuzz-seeds: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
