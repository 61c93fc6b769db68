#!/usr/bin/env bash
# Builds the Debian package and prints its path last.
#
# The binary is the release profile's (the same build as the README's
# `cargo run --release -- demo`, so one build serves both), stripped by
# cargo-deb (`--strip`; the release profile keeps line tables for
# profiling). This script then makes, with that binary, what the package
# ships beside it: the config (the `amsync init` template with the
# database in /var/lib/amsync), the man pages and the bash/zsh/fish
# completions, all from the command line's own definition. The package's
# metadata is [package.metadata.deb] in crates/cli/Cargo.toml; the units
# and maintainer scripts are in packaging/.
#
# Needs cargo-deb (scripts/test.sh installs the pinned version).
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release --locked -p amsync --bin amsync
bin="$target/release/amsync"
assets="$target/release/packaging"
rm -rf "$assets"
mkdir -p "$assets/man" "$assets/completions"

# The packaged config: the template, its database in the state directory.
"$bin" init --out "$assets/amsync.toml" >/dev/null
packaged_url='url = "sqlite:///var/lib/amsync/amsync.db"'
sed -i "s|^url = \"sqlite://amsync.db\"\$|$packaged_url|" "$assets/amsync.toml"
if [ "$(grep -cx "$packaged_url" "$assets/amsync.toml")" != 1 ]; then
  echo "package.sh: the template's database line changed; update the packaged config's edit" >&2
  exit 1
fi

"$bin" manpages "$assets/man" >/dev/null
# Compressed as Debian Policy wants (cargo-deb leaves built products as they are).
gzip -9n "$assets"/man/*.1
"$bin" completions bash >"$assets/completions/amsync.bash"
"$bin" completions zsh >"$assets/completions/_amsync"
"$bin" completions fish >"$assets/completions/amsync.fish"

mkdir -p "$target/debian"
cargo deb -p amsync --no-build --strip --output "$target/debian/" >"$target/debian/cargo-deb.out"
deb=$(tail -n 1 "$target/debian/cargo-deb.out")
[ -f "$deb" ] || { echo "package.sh: cargo deb did not say where the package is: $deb" >&2; exit 1; }
echo "unstripped binary: $(stat -c %s "$bin") bytes; package: $(stat -c %s "$deb") bytes"
echo "$deb"
