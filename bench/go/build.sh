#!/usr/bin/env bash
# Builds the benchmark's Go peer, go-server and go-client, into <out-dir>,
# against Debian's Go ttrpc 1.1.1 (offline, GOPATH mode), with the same
# script as the interop peer (interop/go/build.sh).
#
#   bench/go/build.sh <out-dir>
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: bench/go/build.sh <out-dir>" >&2; exit 1; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$1"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

protos="$(mktemp -d "${TMPDIR:-/tmp}/wren-bench-go.XXXXXX")"
trap 'rm -rf "$protos"' EXIT
mkdir -p "$protos/bench/v1"
# Go ttrpc 1.1.1 has no streams, and its generator would give the streaming
# Flood a unary signature: the Go peer's copy of the proto leaves it out.
sed '/returns (stream /d' "$here/../proto/bench/v1/bench.proto" >"$protos/bench/v1/bench.proto"

for side in server client; do
	bash "$repo/interop/go/build.sh" "$out/go-$side" "$protos" bench/v1/bench.proto "$here/$side"
done
