//! The peers: what each one is, and building their programs.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::Result;
use crate::process::{check, output};

/// One implementation, as a server program and a client program.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Peer {
    /// Blocking std unix sockets, ttrpc's header and an opaque payload, a
    /// thread per connection: the floor.
    Raw,
    /// wren, its server in the default configuration.
    Wren,
    /// wren, its server running handlers inline (`--inline`).
    WrenInline,
    /// The crates.io `ttrpc` crate 0.10, async server and client.
    TtrpcRust,
    /// tonic 0.14 (gRPC over HTTP/2), over a unix socket.
    Tonic,
    /// Debian's Go ttrpc 1.1.1 (unary only).
    Go,
}

impl Peer {
    /// Every peer, in the tables' column order.
    pub const ALL: [Peer; 6] = [
        Peer::Raw,
        Peer::TtrpcRust,
        Peer::Tonic,
        Peer::Go,
        Peer::Wren,
        Peer::WrenInline,
    ];

    /// The name in tables and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Peer::Raw => "raw",
            Peer::Wren => "wren",
            Peer::WrenInline => "wren-inline",
            Peer::TtrpcRust => "ttrpc-rust",
            Peer::Tonic => "tonic",
            Peer::Go => "go",
        }
    }

    /// The column heading.
    pub fn label(self) -> &'static str {
        match self {
            Peer::Raw => "raw floor",
            Peer::Wren => "wren",
            Peer::WrenInline => "wren (inline)",
            Peer::TtrpcRust => "ttrpc-rust",
            Peer::Tonic => "tonic",
            Peer::Go => "Go ttrpc",
        }
    }

    /// The prefix of its programs' names (`<stem>-server`, `<stem>-client`).
    fn stem(self) -> &'static str {
        match self {
            Peer::Raw => "raw",
            Peer::Wren | Peer::WrenInline => "wren",
            Peer::TtrpcRust => "ttrpc-rust",
            Peer::Tonic => "tonic",
            Peer::Go => "go",
        }
    }

    /// The Cargo package that holds its programs (none for Go).
    fn package(self) -> Option<&'static str> {
        match self {
            Peer::Raw => Some("bench-peer-raw"),
            Peer::Wren | Peer::WrenInline => Some("bench-peer-wren"),
            Peer::TtrpcRust => Some("bench-peer-ttrpc-rust"),
            Peer::Tonic => Some("bench-peer-tonic"),
            Peer::Go => None,
        }
    }

    /// Arguments the server takes besides `--socket`.
    pub fn server_args(self) -> Vec<String> {
        match self {
            Peer::WrenInline => vec!["--inline".into()],
            _ => Vec::new(),
        }
    }

    /// Whether it has server streams.
    pub fn streams(self) -> bool {
        self != Peer::Go
    }

    /// Whether it runs under valgrind (Go's runtime does not, reliably).
    pub fn valgrind(self) -> bool {
        self != Peer::Go
    }
}

/// Where the built programs are.
#[derive(Clone, Debug)]
pub struct Bins {
    release: PathBuf,
}

impl Bins {
    /// The server program of `peer`.
    pub fn server(&self, peer: Peer) -> PathBuf {
        self.path(peer, "server")
    }

    /// The client program of `peer`.
    pub fn client(&self, peer: Peer) -> PathBuf {
        self.path(peer, "client")
    }

    fn path(&self, peer: Peer, side: &str) -> PathBuf {
        let name = format!("{}-{side}", peer.stem());
        match peer {
            Peer::Go => self.release.join("go").join(name),
            _ => self.release.join(name),
        }
    }
}

/// The bench workspace's directory (`bench/`).
pub fn bench_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the harness lives in bench/harness")
        .to_path_buf()
}

/// The repository's root.
pub fn repo_root() -> PathBuf {
    bench_dir()
        .parent()
        .expect("bench/ is in the repository")
        .to_path_buf()
}

/// Where the harness writes its results, callgrind files and charts.
pub fn out_dir() -> PathBuf {
    bench_dir().join("target").join("bench")
}

/// Builds the programs of `peers` (unless `build` is false) and says where
/// they are. Each Rust peer is built on its own, so that Cargo unifies no
/// features between peers: its binaries link what a user's would.
pub fn build(peers: &[Peer], build: bool) -> Result<Bins> {
    let bench = bench_dir();
    let bins = Bins {
        release: bench.join("target").join("release"),
    };
    if !build {
        return Ok(bins);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut packages: Vec<&str> = peers.iter().filter_map(|p| p.package()).collect();
    packages.dedup();
    for package in packages {
        eprintln!("wren-bench: building {package}");
        check(
            Command::new(&cargo)
                .args(["build", "--quiet", "--release", "--locked", "-p", package])
                .current_dir(&bench),
            &format!("building {package}"),
        )?;
    }
    if peers.contains(&Peer::Go) {
        eprintln!("wren-bench: building the Go peer");
        check(
            Command::new("bash")
                .arg(bench.join("go").join("build.sh"))
                .arg(bins.release.join("go")),
            "building the Go peer (bench/go/build.sh)",
        )?;
    }
    Ok(bins)
}

/// The version of `name` in the bench workspace's Cargo.lock.
fn locked_version(name: &str) -> Option<String> {
    let lock = std::fs::read_to_string(bench_dir().join("Cargo.lock")).ok()?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == format!("name = \"{name}\"") {
            return lines
                .next()?
                .strip_prefix("version = \"")
                .map(|v| v.trim_end_matches('"').to_owned());
        }
    }
    None
}

/// Each peer's implementation and version, for the record.
pub fn versions() -> Vec<(String, String)> {
    let unknown = || "unknown".to_owned();
    let go_ttrpc = output(Command::new("dpkg-query").args([
        "-W",
        "-f=${Version}",
        "golang-github-containerd-ttrpc-dev",
    ]));
    vec![
        (
            "ttrpc-rust (crate ttrpc)".into(),
            locked_version("ttrpc").unwrap_or_else(unknown),
        ),
        (
            "tonic".into(),
            locked_version("tonic").unwrap_or_else(unknown),
        ),
        (
            "hyper".into(),
            locked_version("hyper").unwrap_or_else(unknown),
        ),
        (
            "tokio".into(),
            locked_version("tokio").unwrap_or_else(unknown),
        ),
        (
            "prost".into(),
            locked_version("prost").unwrap_or_else(unknown),
        ),
        ("Go ttrpc (Debian)".into(), go_ttrpc.unwrap_or_else(unknown)),
        (
            "Go".into(),
            output(Command::new("go").arg("version")).unwrap_or_else(unknown),
        ),
        (
            "rustc".into(),
            output(Command::new("rustc").arg("--version")).unwrap_or_else(unknown),
        ),
    ]
}
