#!/bin/sh
# Runs every fuzz target (or those named) for SECONDS each (default 600), one after the
# other, on the corpora kept in fuzz/corpus/. Needs the nightly toolchain and cargo-fuzz:
#   rustup toolchain install nightly && cargo install cargo-fuzz
#   fuzz/run.sh            # all targets, 10 minutes each
#   SECONDS_EACH=60 fuzz/run.sh patch cron
# A crash or hang leaves its input in fuzz/artifacts/<target>/ and stops the run.
set -eu
cd "$(dirname "$0")"
: "${CARGO_TARGET_DIR:=$HOME/.cache/wasmjob/fuzz-target}"
export CARGO_TARGET_DIR
each="${SECONDS_EACH:-600}"
targets="$*"
[ -n "$targets" ] || targets="$(cargo +nightly fuzz list)"
for t in $targets; do
    mkdir -p "corpus/$t"
    echo "== $t: $each s"
    # No sanitizer: the code under test is safe Rust, so panics, aborts, hangs and
    # runaway memory are what we look for, and plain instrumentation runs ~3x faster.
    cargo +nightly fuzz run -s none -O "$t" "corpus/$t" -- \
        -max_total_time="$each" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1
done
