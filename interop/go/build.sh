#!/usr/bin/env bash
# Builds wren-go-peer against Debian's Go ttrpc 1.1.1, offline, in GOPATH mode.
#
#   interop/go/build.sh <output-binary-path>
#   interop/go/build.sh <output-binary-path> <proto-root> <proto-file> <go-source-dir>
#
# The Go code for proto/interop/echo.proto is generated at build time with
# protoc and protoc-gen-gogottrpc into a temporary GOPATH; nothing is written
# into the repository. See interop/go/README.md.
#
# The second form builds another Go program the same way: the main package in
# <go-source-dir>, against the code generated from <proto-file> (a path
# relative to <proto-root>, placed by its go_package). The benchmark's Go
# peer (bench/go) is built so.
set -euo pipefail

die() {
	echo "interop/go/build.sh: $*" >&2
	exit 1
}

[ $# -eq 1 ] || [ $# -eq 4 ] ||
	die "usage: interop/go/build.sh <output-binary-path> [<proto-root> <proto-file> <go-source-dir>]"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
proto_root="$repo/proto"
proto_file="interop/echo.proto"
source_dir="$here/peer"
if [ $# -eq 4 ]; then
	proto_root="$(cd "$2" && pwd)"
	proto_file="$3"
	source_dir="$(cd "$4" && pwd)"
fi
gocode=/usr/share/gocode

out="$1"
case "$out" in
/*) ;;
*) out="$PWD/$out" ;;
esac
mkdir -p "$(dirname "$out")"

# Tools, each with the Debian package that ships it.
missing=()
need_tool() { # tool package
	command -v "$1" >/dev/null 2>&1 || missing+=("$2 (for $1)")
}
need_tool go golang-go
need_tool protoc protobuf-compiler
need_tool protoc-gen-gogottrpc gogottrpc

# Go sources, each with the Debian package that ships it under /usr/share/gocode.
need_src() { # import-path package
	[ -d "$gocode/src/$1" ] || missing+=("$2 (for Go package $1)")
}
need_src github.com/containerd/ttrpc golang-github-containerd-ttrpc-dev
need_src github.com/gogo/protobuf/proto golang-github-gogo-protobuf-dev
need_src google.golang.org/grpc/status golang-google-grpc-dev
need_src google.golang.org/genproto/googleapis/rpc/status golang-google-genproto-dev
need_src github.com/golang/protobuf/ptypes/any golang-github-golang-protobuf-1-3-dev
need_src github.com/sirupsen/logrus golang-github-sirupsen-logrus-dev
need_src golang.org/x/sys/unix golang-golang-x-sys-dev
need_src go.opentelemetry.io/otel/propagation golang-opentelemetry-otel-dev

if [ ${#missing[@]} -gt 0 ]; then
	{
		echo "interop/go/build.sh: missing Debian packages:"
		for m in "${missing[@]}"; do echo "  $m"; done
		echo "install them with: apt-get install golang-go protobuf-compiler gogottrpc golang-github-containerd-ttrpc-dev golang-opentelemetry-otel-dev"
	} >&2
	exit 1
fi

[ -f "$proto_root/$proto_file" ] || die "missing $proto_root/$proto_file"

work="$(mktemp -d "${TMPDIR:-/tmp}/wren-go-peer.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Generate messages and the ttrpc service. The proto's go_package places the
# code: "wren/interop/v1;interop" at $work/src/wren/interop/v1.
mkdir -p "$work/src"
protoc -I "$proto_root" --gogottrpc_out=plugins=ttrpc:"$work/src" "$proto_root/$proto_file" ||
	die "protoc failed on $proto_file"
generated="$(basename "$proto_file" .proto).pb.go"
[ -n "$(find "$work/src" -name "$generated")" ] || die "protoc did not produce $generated"

mkdir -p "$work/src/wren-go-peer"
cp "$source_dir"/*.go "$work/src/wren-go-peer/"

export GO111MODULE=off
export GOPATH="$work:$gocode"
export GOPROXY=off
export GOFLAGS=
export CGO_ENABLED=0
# Reuse Go's build cache when there is one; otherwise keep it in the temp dir.
gocache="$(go env GOCACHE 2>/dev/null || true)"
if [ -z "$gocache" ] || [ "$gocache" = off ]; then
	export GOCACHE="$work/cache"
fi

(cd "$work/src/wren-go-peer" && go build -o "$out" .) || die "go build failed"
echo "built $out"
