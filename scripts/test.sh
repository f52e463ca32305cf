#!/usr/bin/env bash
# Runs every wren test, including interop against real peers.
#
#   bash scripts/test.sh
#
# On a fresh Debian machine, as root, it first installs the Debian packages
# the interop tests need (Go and Debian's Go ttrpc 1.1.1, protoc and the gogo
# ttrpc plugin). CI runs exactly this script (.ci/run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Debian packages the interop tests need.
packages=(
	golang-go
	protobuf-compiler
	gogottrpc
	golang-github-containerd-ttrpc-dev
	golang-github-gogo-protobuf-dev
	golang-google-grpc-dev
	golang-google-genproto-dev
	golang-github-golang-protobuf-1-3-dev
	golang-github-sirupsen-logrus-dev
	golang-golang-x-sys-dev
	containerd
	runc
	busybox-static
	golang-github-containerd-containerd-dev
	golang-opentelemetry-otel-dev
)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
		echo "== installing Debian packages: ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	else
		echo "== missing Debian packages (install them as root): ${missing[*]}" >&2
		echo "   interop tests will fail where CI=true and skip otherwise" >&2
	fi
fi

echo "== generated wire messages are up to date"
cargo run -q --locked -p xtask -- codegen --check
echo "== cargo test (workspace, all targets)"
cargo test --workspace --all-targets --locked
echo "== cargo test (wren-transport with the vsock feature)"
cargo test -p wren-transport --features vsock --locked
# The workspace run has vsock on (the wren command enables it): test the
# transport without it too.
echo "== cargo test (wren-transport without the vsock feature)"
cargo test -p wren-transport --locked
echo "== cargo test (wren-tracing with the opentelemetry feature, against the Go peer)"
cargo test -p wren-tracing --features opentelemetry --locked
echo "== cargo test (doc tests)"
cargo test --workspace --doc --locked
cargo test --locked --manifest-path interop/ttrpc-rust/Cargo.toml
