//! Compiles containerd 1.6's shim and events protos with wren-build, straight
//! from the Debian packages that install them (nothing is copied into the
//! repository):
//!
//! - `golang-github-containerd-containerd-dev`: the `.proto` files under
//!   `/usr/share/gocode/src/github.com/containerd/containerd`, which import
//!   each other as `github.com/containerd/containerd/...`, hence the include
//!   directory `/usr/share/gocode/src`;
//! - `golang-github-gogo-protobuf-dev`: `gogoproto/gogo.proto`, under
//!   `/usr/share/gocode/src/github.com/gogo/protobuf`.
//!
//! Where they are not installed the build does not fail: it sets the cfg
//! `containerd_protos_missing` and warns, and the example and its test report
//! what is missing at run time.
//!
//! `WREN_GOCODE` overrides `/usr/share/gocode/src`.

use std::path::PathBuf;

const CONTAINERD: &str = "github.com/containerd/containerd";
const GOGO: &str = "github.com/gogo/protobuf";

/// The files compiled, relative to `CONTAINERD`.
const PROTOS: &[&str] = &[
    // The shim's task service: containerd.task.v2.Task.
    "runtime/v2/task/shim.proto",
    // The service a shim publishes its events to:
    // containerd.services.events.ttrpc.v1.Events.
    "api/services/ttrpc/events/v1/events.proto",
    // The events themselves, packed into the envelope's Any.
    "api/events/task.proto",
    "api/events/container.proto",
    "api/events/content.proto",
    "api/events/image.proto",
    "api/events/namespace.proto",
    "api/events/snapshot.proto",
];

fn main() -> std::io::Result<()> {
    println!("cargo::rustc-check-cfg=cfg(containerd_protos_missing)");
    println!("cargo:rerun-if-env-changed=WREN_GOCODE");
    let gocode = std::env::var_os("WREN_GOCODE")
        .map_or_else(|| PathBuf::from("/usr/share/gocode/src"), PathBuf::from);
    let containerd = gocode.join(CONTAINERD);
    let gogo = gocode.join(GOGO);
    let protos: Vec<PathBuf> = PROTOS.iter().map(|p| containerd.join(p)).collect();

    // Rerun when a package gets installed or removed.
    println!(
        "cargo:rerun-if-changed={}",
        containerd.join("api").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        gogo.join("gogoproto").display()
    );

    let missing: Vec<PathBuf> = protos
        .iter()
        .cloned()
        .chain([gogo.join("gogoproto/gogo.proto")])
        .filter(|p| !p.is_file())
        .collect();
    if let Some(first) = missing.first() {
        let what = match missing.len() {
            1 => first.display().to_string(),
            n => format!("{} and {} more", first.display(), n - 1),
        };
        println!("cargo:rustc-cfg=containerd_protos_missing");
        println!("cargo:rustc-env=CONTAINERD_PROTOS_MISSING={what}");
        println!(
            "cargo:warning=containerd protos not found ({what}): install golang-github-containerd-containerd-dev and golang-github-gogo-protobuf-dev; the example and its test will report this at run time"
        );
        return Ok(());
    }

    // prost's `Name` on every message: the event server matches an
    // envelope's `Any` by the message's full proto name.
    let mut config = wren_build::prost_build::Config::new();
    config.enable_type_names();
    wren_build::configure()
        // The example uses the shim's client and the events server; both
        // sides of both services are generated anyway.
        //
        // One module tree for every package: prost refers across packages
        // by relative paths (`super::super::types::Mount`).
        .include_file("containerd.rs")
        .compile_with_config(config, &protos, &[gocode, gogo])
}
