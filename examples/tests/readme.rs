//! The README's quickstart, used as a newcomer would use it: its files are
//! written into a fresh crate outside the workspace, with the wren crates
//! patched in from this checkout (crates.io dependencies come from the local
//! registry cache, offline), then built and run, twice.
//!
//! The same files must also be what `cargo run --example quickstart` runs
//! and what the rustdoc front page of `wren-rpc` shows.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// What the quickstart prints after its first line (which names the socket).
const EXPECTED: &str = "\
client: hello, wren
client: INVALID_ARGUMENT (name must not be empty)
";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("examples/ is one level below the root")
        .to_path_buf()
}

fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The README's quickstart files: each `<!-- quickstart: PATH -->` marker
/// and the fenced block after it, as (path, contents).
fn quickstart_files() -> Vec<(String, String)> {
    let readme = read(root().join("README.md"));
    let mut files = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let Some(path) = line
            .strip_prefix("<!-- quickstart: ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        else {
            continue;
        };
        let fence = lines.next().unwrap_or_default();
        assert!(
            fence.starts_with("```"),
            "README: the quickstart marker for {path} is not followed by a code block"
        );
        let mut body = String::new();
        for line in lines.by_ref().take_while(|l| *l != "```") {
            body.push_str(line);
            body.push('\n');
        }
        files.push((path.to_owned(), body));
    }
    let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "Cargo.toml",
            "proto/hello/v1/hello.proto",
            "build.rs",
            "src/main.rs"
        ],
        "README: the quickstart's files"
    );
    files
}

fn file<'a>(files: &'a [(String, String)], path: &str) -> &'a str {
    &files.iter().find(|(p, _)| p == path).expect("listed").1
}

/// The fenced code blocks of a `//!` doc comment, in order.
fn doc_blocks(source: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in source.lines() {
        let Some(doc) = line.strip_prefix("//!") else {
            continue;
        };
        let doc = doc.strip_prefix(' ').unwrap_or(doc);
        match current.as_mut() {
            None if doc.starts_with("```") => current = Some(String::new()),
            None => {}
            Some(block) if doc == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(doc);
                block.push('\n');
            }
        }
    }
    blocks
}

#[test]
fn the_quickstart_example_is_the_readme_quickstart() {
    let files = quickstart_files();
    assert_eq!(
        file(&files, "src/main.rs"),
        read(root().join("examples/quickstart.rs")),
        "README's src/main.rs and examples/quickstart.rs differ"
    );
    assert_eq!(
        file(&files, "proto/hello/v1/hello.proto"),
        read(root().join("examples/proto/hello/v1/hello.proto")),
        "README's proto and examples/proto/hello/v1/hello.proto differ"
    );
}

#[test]
fn the_rustdoc_front_page_shows_the_readme_quickstart() {
    let blocks = doc_blocks(&read(root().join("crates/wren-rpc/src/lib.rs")));
    let files = quickstart_files();
    // The front page leads with the quickstart, in the README's order.
    assert!(blocks.len() >= files.len(), "front page: {blocks:#?}");
    for ((path, contents), block) in files.iter().zip(&blocks) {
        assert_eq!(
            block, contents,
            "the wren-rpc front page's block for {path} differs from the README's"
        );
    }
}

/// Writes `files` into a new crate under a temporary directory, patches the
/// wren crates in from this checkout and builds it; returns its binary.
fn build_fresh_crate(dir: &Path, files: &[(String, String)]) -> PathBuf {
    for (path, contents) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("a file in a directory")).expect("mkdir");
        std::fs::write(path, contents).expect("write");
    }
    let root = root();
    let mut manifest = read(dir.join("Cargo.toml"));
    manifest.push_str(&format!(
        "\n[patch.crates-io]\nwren-rpc = {{ path = {:?} }}\nwren-build = {{ path = {:?} }}\n",
        root.join("crates/wren-rpc"),
        root.join("crates/wren-build"),
    ));
    std::fs::write(dir.join("Cargo.toml"), manifest).expect("write Cargo.toml");
    // Start from the workspace's lock file: the same versions, already in
    // the registry cache, and already built in the shared target directory.
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).expect("copy Cargo.lock");

    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let output = Command::new(env!("CARGO"))
        .args(["build", "--offline", "--quiet"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .output()
        .expect("run cargo");
    assert_success("cargo build of the fresh crate", &output);

    let manifest = read(dir.join("Cargo.toml"));
    let name = manifest
        .lines()
        .find_map(|l| l.strip_prefix("name = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("the package's name");
    target.join("debug").join(name)
}

fn assert_success(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs the quickstart binary and checks what it prints.
fn run_quickstart(binary: &Path) {
    let output = Command::new(binary).output().expect("run the quickstart");
    assert_success("the quickstart", &output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (first, rest) = stdout.split_once('\n').unwrap_or_default();
    assert!(
        first.starts_with("server: listening on unix:///"),
        "first line: {first:?}"
    );
    assert_eq!(rest, EXPECTED);
}

#[test]
fn the_readme_quickstart_builds_and_runs_in_a_fresh_crate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let binary = build_fresh_crate(dir.path(), &quickstart_files());
    // Twice: the first run's socket must not be in the second one's way.
    run_quickstart(&binary);
    run_quickstart(&binary);
}

/// A crate that renames the dependency (`rpc = { package = "wren-rpc" }`)
/// tells wren-build with `wren_path`, and the generated code compiles.
#[test]
fn a_renamed_wren_rpc_dependency_builds_with_wren_path() {
    let files: Vec<(String, String)> = quickstart_files()
        .into_iter()
        .map(|(path, contents)| {
            let contents = match path.as_str() {
                "Cargo.toml" => contents
                    .replace("name = \"greeter\"", "name = \"greeter-renamed\"")
                    .replace(
                        "wren-rpc = \"0.1\"",
                        "rpc = { package = \"wren-rpc\", version = \"0.1\" }",
                    ),
                "build.rs" => contents.replace(
                    "wren_build::compile_protos(\"proto/hello/v1/hello.proto\")",
                    "wren_build::configure()\n        .wren_path(\"::rpc\")\n        \
                     .compile_protos(&[\"proto/hello/v1/hello.proto\"], &[\"proto\"])",
                ),
                "src/main.rs" => contents.replace("wren_rpc::", "rpc::"),
                _ => contents,
            };
            (path, contents)
        })
        .collect();
    assert!(file(&files, "build.rs").contains("wren_path"));
    assert!(!file(&files, "src/main.rs").contains("wren_rpc"));
    let dir = tempfile::tempdir().expect("tempdir");
    let binary = build_fresh_crate(dir.path(), &files);
    run_quickstart(&binary);
}
