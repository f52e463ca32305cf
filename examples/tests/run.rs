//! Runs each example to completion. The examples assert what they do; the
//! tests check that they succeeded and printed their key results.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

/// Bound on one example's run: only there to turn a hang into a failure.
const HANG: Duration = Duration::from_secs(120);

/// `cargo run` of an example, with the crate's `features`.
fn cargo_run(name: &str, features: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args([
        "run",
        "--quiet",
        "--package",
        "wren-examples",
        "--example",
        name,
    ]);
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    output_within(&mut cmd, name)
}

/// Runs `cmd` to its end, killing it (and failing) after [`HANG`].
fn output_within(cmd: &mut Command, what: &str) -> Output {
    use std::process::Stdio;
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    wait_within(child, what)
}

/// Waits for `child` and collects its output, killing it (and failing)
/// after [`HANG`].
fn wait_within(child: std::process::Child, what: &str) -> Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(HANG) {
        Ok(output) => output.unwrap_or_else(|e| panic!("waiting for {what}: {e}")),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("{what} still running after {HANG:?}; killed it");
        }
    }
}

/// Runs an example that must succeed; returns what it printed.
fn run_example(name: &str) -> String {
    let output = cargo_run(name, &[]);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "example {name} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!stdout.is_empty(), "example {name} printed nothing");
    stdout
}

/// Asserts that `stdout` has a line containing each of `lines`.
fn assert_printed(stdout: &str, lines: &[&str]) {
    for want in lines {
        assert!(
            stdout.lines().any(|line| line.contains(want)),
            "no line with {want:?} in:\n{stdout}"
        );
    }
}

#[test]
fn quickstart() {
    let out = run_example("quickstart");
    assert_printed(
        &out,
        &[
            "client: hello, wren",
            "client: INVALID_ARGUMENT (name must not be empty)",
        ],
    );
}

#[test]
fn middleware() {
    let out = run_example("middleware");
    assert_printed(&out, &["PERMISSION_DENIED", "DEADLINE_EXCEEDED"]);
}

#[test]
fn streaming() {
    let out = run_example("streaming");
    assert_printed(
        &out,
        &[
            "Square(12) = 144",
            "CountTo(5) = [1, 2, 3, 4, 5]",
            "CountTo(-1) = INVALID_ARGUMENT",
            "Sum(3, 4, 5) = 12",
            "sent 12, running total 42",
            "the server's stream ended",
        ],
    );
}

#[test]
fn interceptors() {
    let out = run_example("interceptors");
    assert_printed(
        &out,
        &[
            "with the token:    hello, wren (uid",
            "without the token: UNAUTHENTICATED (no token)",
            "refused locally:   FAILED_PRECONDITION",
            "wrong user:        PERMISSION_DENIED",
            "tower, token:      hello, tower",
            "tower, no token:   UNAUTHENTICATED",
        ],
    );
}

#[test]
fn deadlines() {
    let out = run_example("deadlines");
    assert_printed(
        &out,
        &[
            "deadline 200 ms on a 60 s job: DEADLINE_EXCEEDED",
            "server: dropped slow",
            "server: finished abandoned",
            "then DEADLINE_EXCEEDED",
            "server: stopped ticker",
            "server: forgotten sent tick 5",
            "server: stopped forgotten",
        ],
    );
}

#[test]
fn reconnect() {
    let out = run_example("reconnect");
    assert_printed(
        &out,
        &[
            "no server yet: UNAVAILABLE",
            "hello, patient, from server #1",
            "hello, again, from server #2",
            "the call in flight: UNAVAILABLE",
            "hello, finally, from server #3",
        ],
    );
}

#[test]
fn preconnected() {
    let out = run_example("preconnected");
    assert_printed(
        &out,
        &[
            "socketpair:   hello, pair",
            "child socket: hello, child",
            "child exited: exit status: 0",
        ],
    );
}

#[test]
fn socket_activation() {
    let out = run_example("socket_activation");
    assert_printed(
        &out,
        &[
            "serving on inherited descriptor 3 (name \"ttrpc\")",
            "client: hello, systemd",
            "server: SIGTERM, shutting down",
            "the server exited: exit status: 0",
        ],
    );
}

/// The example's server, started by systemd's own `systemd-socket-activate`
/// (Debian's `systemd` package): it binds the socket, waits for the first
/// connection, then executes the server with the socket as descriptor 3.
#[test]
fn socket_activation_by_systemd_socket_activate() {
    let Some(tool) = find_program("systemd-socket-activate") else {
        let why = "systemd-socket-activate not found: install systemd";
        assert!(!in_ci(), "CI=true, so not skipping: {why}");
        skip(&format!(
            "socket_activation_by_systemd_socket_activate: {why}"
        ));
        return;
    };
    let build = output_within(
        Command::new(env!("CARGO")).args([
            "build",
            "--quiet",
            "--package",
            "wren-examples",
            "--example",
            "socket_activation",
        ]),
        "cargo build",
    );
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let example = examples_dir().join("socket_activation");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("greeter.sock");
    let server = Command::new(tool)
        .arg("--listen")
        .arg(&path)
        .arg("--fdname=ttrpc")
        .arg(&example)
        .env_remove("LISTEN_FDS")
        .env_remove("LISTEN_PID")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = server.id();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let reply = runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(30), async {
            while !path.exists() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let channel = wren_rpc::Channel::connect_unix(&path).await?;
            let mut client = wren_examples::hello::greeter_client::GreeterClient::new(channel);
            let reply = client
                .say_hello(wren_examples::hello::HelloRequest {
                    name: "systemd-socket-activate".into(),
                })
                .await?;
            Ok::<_, Box<dyn std::error::Error>>(reply.into_inner().message)
        })
        .await
    });
    let stopped = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let out = output_of(server);
    let reply = reply
        .expect("the call finished in time")
        .unwrap_or_else(|e| panic!("the call failed: {e}\n{out}"));
    assert!(stopped.success());
    assert_eq!(
        reply,
        format!("hello, systemd-socket-activate (from socket-activated pid {pid})")
    );
    assert!(
        out.contains("serving on inherited descriptor 3 (name \"ttrpc\")"),
        "{out}"
    );
    assert!(out.contains("server: stopped"), "{out}");
}

#[test]
fn vsock() {
    let output = cargo_run("vsock", &["vsock"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Status 2: this machine has no vsock loopback. That is a property of
    // the machine's kernel, not a missing peer, so it skips even in CI.
    if output.status.code() == Some(2) {
        skip(&format!("the vsock example: {}", stderr.trim()));
        return;
    }
    assert!(
        output.status.success(),
        "example vsock failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert_printed(&stdout, &["client: hello, vsock (from cid"]);
}

/// Waits for the server (bounded by [`HANG`]), which must succeed, and
/// returns its stdout and stderr.
fn output_of(server: std::process::Child) -> String {
    let out = wait_within(server, "the socket-activated server");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "the server failed ({}):\n{text}",
        out.status
    );
    text
}

/// Where cargo put this package's examples: next to the test's `deps`.
fn examples_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps/<test>")
        .join("examples")
}

fn find_program(name: &str) -> Option<PathBuf> {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .chain(["/usr/bin", "/bin"])
        .map(|dir| PathBuf::from(dir).join(name))
        .find(|p| p.is_file())
}

/// Says why a test skips, straight to stderr, past the test harness's
/// capture, so that it shows in the output of `cargo test`.
fn skip(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipping {why}");
}

/// Whether `CI=true`: there, a missing peer fails the test instead of
/// skipping it.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}
