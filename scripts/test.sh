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
	systemd
	golang-opentelemetry-otel-dev
)
bash scripts/ensure-debian-packages.sh "${packages[@]}" ||
	echo "   interop tests will fail where CI=true and skip otherwise" >&2

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
echo "== clippy, with incompatible_msrv against the declared rust-version"
cargo clippy --workspace --all-targets --locked -- -D warnings -D clippy::incompatible_msrv
echo "== cargo package (every published crate, each built alone from its tarball)"
# Cargo takes a registry crate of a given name and version to be immutable:
# it reuses an unpacked copy ($CARGO_HOME/registry/src/-<hash>/) and a
# compiled one (fingerprints) of the crates it packaged last time. Remove
# both for wren's own crates, so the tarballs of this run are what is built;
# the verify builds get their own target directory for that.
package_target=target/package-verify
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/wren-* \
	"$package_target"/debug/.fingerprint/wren-* "$package_target"/debug/deps/libwren_*
CARGO_TARGET_DIR="$package_target" cargo package --locked --allow-dirty --quiet \
	-p wren-codec -p wren-transport -p wren-server -p wren-client -p wren-build -p wren-rpc \
	-p wren-health -p wren-reflection -p wren-tracing -p wren-cli
