#!/usr/bin/env bash
# Builds every guest in this workspace for wasm32-wasip1 and copies each <name>.wasm next
# to its sources (guest-examples/<name>/<name>.wasm, gitignored), where the example
# manifests' relative `image:` paths expect it. Also builds `pi` for the host, same source
# and profile (guest-examples/pi/pi-native), which `wasmjob bench` runs to compare wasm
# with native code.
#
# Usage: guest-examples/build.sh [-v]     (from any directory; quiet unless -v or it fails)
# Env:   WASMJOB_GUEST_TARGET_DIR  cargo target directory (default guest-examples/target)
set -euo pipefail

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target=wasm32-wasip1

quiet=(--quiet)
case "${1:-}" in
  -v | --verbose) quiet=() ;;
  "") ;;
  *) echo "usage: $0 [-v]" >&2; exit 2 ;;
esac

# Run from the workspace so its rust-toolchain/.cargo config apply, whatever the caller's cwd.
cd "$dir"

if command -v rustup >/dev/null; then
  # Not grep -q: exiting early could SIGPIPE rustup and, under pipefail, fake a miss.
  if ! rustup target list --installed | grep -x "$target" >/dev/null; then
    # rustup chats on stderr even when it works; show it only on failure.
    if ! log="$(rustup target add "$target" 2>&1)"; then
      printf '%s\n' "$log" >&2
      exit 1
    fi
  fi
fi

# Overrides any ambient CARGO_TARGET_DIR: the copy step below must know where output lands.
export CARGO_TARGET_DIR="${WASMJOB_GUEST_TARGET_DIR:-$dir/target}"

# --target repeats .cargo/config.toml because cargo reads that file relative to the cwd.
cargo build "${quiet[@]}" --release --target "$target" --manifest-path "$dir/Cargo.toml"

# The native build goes to the host's own target triple, so it never overwrites a guest.
host="$(rustc -vV | sed -n 's/^host: //p')"
cargo build "${quiet[@]}" --release --target "$host" --manifest-path "$dir/Cargo.toml" -p pi

for manifest in "$dir"/*/Cargo.toml; do
  name="$(basename "$(dirname "$manifest")")"
  built="$CARGO_TARGET_DIR/$target/release/$name.wasm"
  if [[ ! -f "$built" ]]; then
    echo "build.sh: $built was not built; is $name a workspace member?" >&2
    exit 1
  fi
  # Copy then rename, so a reader never sees a half-written module.
  # The temporary name ends in .wasm so an interrupted run leaves nothing git would track.
  cp "$built" "$dir/$name/.$name.tmp.wasm"
  mv -f "$dir/$name/.$name.tmp.wasm" "$dir/$name/$name.wasm"
done

native="$CARGO_TARGET_DIR/$host/release/pi"
cp "$native" "$dir/pi/.pi-native.tmp"
mv -f "$dir/pi/.pi-native.tmp" "$dir/pi/pi-native"
