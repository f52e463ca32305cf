//! wren-build end to end, outside a build script: generated files, options,
//! errors, and the protox and protoc paths.
//!
//! Tests that need their own environment (`OUT_DIR`, `PATH`, `PROTOC`) run
//! in a child process: this binary runs itself with one `#[ignore]`d test
//! selected and the environment set.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const EXPECTED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/helloworld/_expected_helloworld.v1.rs"
);

fn fixtures() -> PathBuf {
    PathBuf::from(FIXTURES)
}

fn hello_proto() -> PathBuf {
    fixtures().join("helloworld/helloworld.proto")
}

/// The builder every test starts from: no `cargo:` lines, into `out`.
fn builder(out: &Path) -> wren_build::Builder {
    wren_build::configure()
        .out_dir(out)
        .emit_rerun_if_changed(false)
}

fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The golden fixture's builder: every service setting shows in the output.
fn golden_builder(out: &Path) -> wren_build::Builder {
    builder(out)
        .server_attribute("helloworld.v1.Greeter", "#[derive(Default)]")
        .server_mod_attribute(".helloworld", "#[cfg(feature = \"server\")]")
        .client_attribute("Greeter", "#[doc(alias = \"Hello\")]")
        .client_mod_attribute(".", "#[cfg(feature = \"client\")]")
}

#[test]
fn golden_helloworld() {
    let out = tempfile::tempdir().unwrap();
    golden_builder(out.path())
        .compile_protos(&[hello_proto()], &[fixtures().join("helloworld")])
        .unwrap();
    let generated = read(out.path().join("helloworld.v1.rs"));
    if std::env::var_os("WREN_BUILD_BLESS").is_some() {
        std::fs::write(EXPECTED, &generated).unwrap();
        return;
    }
    assert!(
        generated == read(EXPECTED),
        "generated code differs from {EXPECTED}; check the change and rerun with \
         WREN_BUILD_BLESS=1 to update it:\n{generated}"
    );
}

#[test]
fn generated_files_have_no_inner_attributes_for_include() {
    // `include!` rejects a file that opens with `#![...]` (ttrpc-rust's
    // generated mod.rs did, rust-protobuf#673).
    let out = tempfile::tempdir().unwrap();
    builder(out.path())
        .include_file("mod.rs")
        .compile_protos(&[hello_proto()], &[fixtures().join("helloworld")])
        .unwrap();
    for name in ["helloworld.v1.rs", "mod.rs"] {
        let text = read(out.path().join(name));
        let file = syn::parse_file(&text).unwrap();
        assert!(file.shebang.is_none(), "{name}");
        assert!(file.attrs.is_empty(), "{name} opens with inner attributes");
    }
}

#[test]
fn server_and_client_can_be_left_out() {
    let protos = [hello_proto()];
    let includes = [fixtures().join("helloworld")];

    let out = tempfile::tempdir().unwrap();
    builder(out.path())
        .build_client(false)
        .compile_protos(&protos, &includes)
        .unwrap();
    let text = read(out.path().join("helloworld.v1.rs"));
    assert!(text.contains("pub mod greeter_server"));
    assert!(!text.contains("pub mod greeter_client"));

    let out = tempfile::tempdir().unwrap();
    builder(out.path())
        .build_server(false)
        .compile_protos(&protos, &includes)
        .unwrap();
    let text = read(out.path().join("helloworld.v1.rs"));
    assert!(!text.contains("pub mod greeter_server"));
    assert!(text.contains("pub mod greeter_client"));
}

#[test]
fn wren_and_prost_paths() {
    let out = tempfile::tempdir().unwrap();
    builder(out.path())
        .wren_path("::my_rpc::wren_rpc")
        .compile_protos(&[hello_proto()], &[fixtures().join("helloworld")])
        .unwrap();
    let text = read(out.path().join("helloworld.v1.rs"));
    assert!(text.contains("::my_rpc::wren_rpc::codegen::Request<super::HelloRequest>"));
    assert!(text.contains("#[prost(prost_path = \"::my_rpc::wren_rpc::prost\")]"));
    assert!(
        !text
            .replace("::my_rpc::wren_rpc::", "")
            .contains("::wren_rpc::")
    );

    let out = tempfile::tempdir().unwrap();
    builder(out.path())
        .prost_path("::prost")
        .compile_protos(&[hello_proto()], &[fixtures().join("helloworld")])
        .unwrap();
    let text = read(out.path().join("helloworld.v1.rs"));
    assert!(text.contains("#[prost(prost_path = \"::prost\")]"));
    assert!(text.contains("::wren_rpc::codegen::Request"));
}

#[test]
fn comments_can_be_disabled() {
    let out = tempfile::tempdir().unwrap();
    builder(out.path())
        .disable_comments([".helloworld.v1.Greeter.SayHello"])
        .compile_protos(&[hello_proto()], &[fixtures().join("helloworld")])
        .unwrap();
    let text = read(out.path().join("helloworld.v1.rs"));
    assert!(!text.contains("Sends a greeting."));
    // The method keeps a generated doc line; the service keeps its comment.
    assert!(text.contains("/// Handles `helloworld.v1.Greeter/SayHello`."));
    assert!(text.contains("/// The greeting service."));
}

#[test]
fn compile_fds_from_protox() {
    let fds =
        wren_build::protox::compile([hello_proto()], [fixtures().join("helloworld")]).unwrap();
    let out = tempfile::tempdir().unwrap();
    golden_builder(out.path()).compile_fds(fds).unwrap();
    assert_eq!(read(out.path().join("helloworld.v1.rs")), read(EXPECTED));
}

#[test]
fn compile_with_a_prost_config_of_ones_own() {
    let mut config = prost_build::Config::new();
    config.type_attribute(".helloworld.v1.HelloRequest", "#[derive(Eq, PartialOrd)]");
    let out = tempfile::tempdir().unwrap();
    builder(out.path())
        .compile_with_config(config, &[hello_proto()], &[fixtures().join("helloworld")])
        .unwrap();
    let text = read(out.path().join("helloworld.v1.rs"));
    assert!(text.contains("#[derive(Eq, PartialOrd)]"));
    assert!(text.contains("pub mod greeter_server"));
}

#[test]
fn service_generator_in_a_prost_build_of_ones_own() {
    let out = tempfile::tempdir().unwrap();
    let fds =
        wren_build::protox::compile([hello_proto()], [fixtures().join("helloworld")]).unwrap();
    let mut config = prost_build::Config::new();
    config
        .out_dir(out.path())
        .service_generator(wren_build::configure().service_generator().unwrap())
        .compile_fds(fds)
        .unwrap();
    let text = read(out.path().join("helloworld.v1.rs"));
    assert!(text.contains("pub trait Greeter"));
    assert!(text.contains("pub struct GreeterClient"));
}

#[test]
fn file_descriptor_set_is_written_on_request() {
    let out = tempfile::tempdir().unwrap();
    let fds_path = out.path().join("fds.bin");
    builder(out.path())
        .file_descriptor_set_path(&fds_path)
        .compile_protos(&[hello_proto()], &[fixtures().join("helloworld")])
        .unwrap();
    let bytes = std::fs::read(&fds_path).unwrap();
    let fds = <prost_types::FileDescriptorSet as prost::Message>::decode(bytes.as_slice()).unwrap();
    let names: Vec<&str> = fds.file.iter().map(|f| f.name()).collect();
    assert!(names.contains(&"helloworld.proto"), "{names:?}");
    assert!(names.contains(&"google/protobuf/empty.proto"), "{names:?}");
}

/// The byte string assigned to `FILE_DESCRIPTOR_SET` in a generated file.
fn descriptor_constant(text: &str) -> Option<Vec<u8>> {
    let file = syn::parse_file(text).unwrap();
    file.items.iter().find_map(|item| match item {
        syn::Item::Const(c) if c.ident == "FILE_DESCRIPTOR_SET" => match &*c.expr {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::ByteStr(bytes),
                ..
            }) => Some(bytes.value()),
            _ => panic!("FILE_DESCRIPTOR_SET is not a byte string"),
        },
        _ => None,
    })
}

#[test]
fn file_descriptor_set_constant_on_request() {
    let out = tempfile::tempdir().unwrap();
    builder(out.path())
        .compile_protos(&[hello_proto()], &[fixtures().join("helloworld")])
        .unwrap();
    let text = read(out.path().join("helloworld.v1.rs"));
    assert_eq!(descriptor_constant(&text), None, "off by default");

    for fds in [false, true] {
        let out = tempfile::tempdir().unwrap();
        let builder = builder(out.path()).emit_file_descriptor_set(true);
        if fds {
            let set = wren_build::protox::compile([hello_proto()], [fixtures().join("helloworld")])
                .unwrap();
            builder.compile_fds(set).unwrap();
        } else {
            builder
                .compile_protos(&[hello_proto()], &[fixtures().join("helloworld")])
                .unwrap();
        }
        let text = read(out.path().join("helloworld.v1.rs"));
        let bytes = descriptor_constant(&text).expect("FILE_DESCRIPTOR_SET generated");
        let set =
            <prost_types::FileDescriptorSet as prost::Message>::decode(bytes.as_slice()).unwrap();
        let names: Vec<&str> = set.file.iter().map(|f| f.name()).collect();
        // Imports first, then the package's own file.
        assert_eq!(names, ["google/protobuf/empty.proto", "helloworld.proto"]);
        let hello = &set.file[1];
        assert_eq!(hello.service[0].name(), "Greeter");
        assert_eq!(hello.service[0].method.len(), 3);
        assert!(hello.source_code_info.is_none(), "no source info: smaller");
    }
}

#[test]
fn file_descriptor_set_constant_only_in_packages_with_services() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("types.proto"),
        "syntax = \"proto3\";\npackage types.v1;\nmessage Thing { string name = 1; }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("svc.proto"),
        "syntax = \"proto3\";\npackage svc.v1;\nimport \"types.proto\";\n\
         service Things { rpc Get(types.v1.Thing) returns (types.v1.Thing); }\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    builder(out.path())
        .emit_file_descriptor_set(true)
        .compile_protos(&[dir.path().join("svc.proto")], &[dir.path()])
        .unwrap();
    assert_eq!(
        descriptor_constant(&read(out.path().join("types.v1.rs"))),
        None
    );
    let bytes = descriptor_constant(&read(out.path().join("svc.v1.rs"))).unwrap();
    let set = <prost_types::FileDescriptorSet as prost::Message>::decode(bytes.as_slice()).unwrap();
    let names: Vec<&str> = set.file.iter().map(|f| f.name()).collect();
    assert_eq!(names, ["types.proto", "svc.proto"]);
}

// ===== errors =====

#[test]
fn two_methods_with_one_rust_name_are_an_error() {
    let out = tempfile::tempdir().unwrap();
    let err = builder(out.path())
        .compile_protos(
            &[fixtures().join("errors/same_rust_name.proto")],
            &[fixtures().join("errors")],
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let message = err.to_string();
    assert!(
        message.contains("GetThing") && message.contains("get_thing"),
        "{message}"
    );
    // A build that drives prost-build itself fails to compile instead.
    let text = read(out.path().join("errors.rs"));
    assert!(text.contains("compile_error!"), "{text}");
}

#[test]
fn a_syntax_error_names_the_file_and_line() {
    let out = tempfile::tempdir().unwrap();
    let err = builder(out.path())
        .compile_protos(
            &[fixtures().join("errors/syntax.proto")],
            &[fixtures().join("errors")],
        )
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("syntax.proto:7"), "{message}");
}

#[test]
fn a_missing_file_is_not_found() {
    let out = tempfile::tempdir().unwrap();
    let err = builder(out.path())
        .compile_protos(&["nope.proto"], &[fixtures()])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

#[test]
fn an_attribute_that_does_not_parse_is_an_error() {
    let out = tempfile::tempdir().unwrap();
    let err = builder(out.path())
        .server_attribute(".", "#[derive(Default")
        .compile_protos(&[hello_proto()], &[fixtures().join("helloworld")])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("#[derive(Default"), "{err}");
    assert!(
        wren_build::configure()
            .client_attribute(".", "derive(Debug)")
            .service_generator()
            .is_err()
    );
}

// ===== protox and protoc =====

/// Runs the `#[ignore]`d test `name` of this binary in a child process with
/// `env` set, and returns its output.
fn run_child(name: &str, env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        name,
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("WREN_BUILD_CHILD", "1");
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.output().unwrap()
}

fn in_child() -> bool {
    std::env::var_os("WREN_BUILD_CHILD").is_some()
}

#[test]
fn no_protoc_is_needed_by_default() {
    let out = tempfile::tempdir().unwrap();
    let output = run_child(
        "child_compile_protos_one_liner",
        &[
            ("OUT_DIR", out.path()),
            ("PATH", Path::new("")),
            ("PROTOC", Path::new("/nonexistent/protoc")),
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = read(out.path().join("helloworld.v1.rs"));
    assert!(text.contains("pub mod greeter_server"));
    // Cargo is told to rerun for the file read, not for protox's built-in
    // google/protobuf/empty.proto.
    let rerun: Vec<&str> = stdout
        .lines()
        .filter_map(|l| {
            l.split_once("cargo:rerun-if-changed=")
                .map(|(_, path)| path)
        })
        .collect();
    assert_eq!(rerun.len(), 1, "{stdout}");
    assert!(rerun[0].ends_with("helloworld.proto"), "{stdout}");
}

#[test]
#[ignore = "run by no_protoc_is_needed_by_default"]
fn child_compile_protos_one_liner() {
    if in_child() {
        wren_build::compile_protos(hello_proto()).unwrap();
    }
}

#[test]
fn use_protoc_runs_protoc() {
    let out = tempfile::tempdir().unwrap();
    let output = run_child(
        "child_use_protoc_without_protoc",
        &[
            ("OUT_DIR", out.path()),
            ("PROTOC", Path::new("/nonexistent/protoc")),
        ],
    );
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
#[ignore = "run by use_protoc_runs_protoc"]
fn child_use_protoc_without_protoc() {
    if in_child() {
        let err = wren_build::configure()
            .use_protoc(true)
            .emit_rerun_if_changed(false)
            .compile_protos(&[hello_proto()], &[fixtures().join("helloworld")])
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    }
}

/// Whether `protoc` can run. Without it the protoc tests fail in CI (where
/// `scripts/test.sh` installs it) and are skipped elsewhere.
fn have_protoc() -> bool {
    let protoc = std::env::var_os("PROTOC").unwrap_or_else(|| "protoc".into());
    let found = Command::new(protoc)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "protoc is missing in CI; scripts/test.sh installs protobuf-compiler"
        );
        eprintln!("skipped: no protoc");
    }
    found
}

#[test]
fn protoc_and_protox_generate_the_same_code() {
    if !have_protoc() {
        return;
    }
    let by_protox = tempfile::tempdir().unwrap();
    golden_builder(by_protox.path())
        .compile_protos(&[hello_proto()], &[fixtures().join("helloworld")])
        .unwrap();
    let by_protoc = tempfile::tempdir().unwrap();
    golden_builder(by_protoc.path())
        .use_protoc(true)
        .compile_protos(&[hello_proto()], &[fixtures().join("helloworld")])
        .unwrap();
    assert_eq!(
        read(by_protoc.path().join("helloworld.v1.rs")),
        read(by_protox.path().join("helloworld.v1.rs"))
    );
}
