//! `wren` against Debian's real `containerd-shim-runc-v2`, with containerd
//! 1.6's own protos (Debian's golang-github-containerd-containerd-dev):
//! the shim example (`examples/containerd-shim`) starts the shim and
//! creates a task as containerd does, and while the task exists, `wren`
//! calls `Connect` and `State` on it, reads a status the shim sends, runs
//! `list`, `describe` and `health`, and decodes bytes the shim wrote.
//!
//! Needs root and the Debian packages the example lists; without them the
//! test skips, saying why, except where `CI=true`: there it fails.

mod support;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use containerd_shim_example::{Config, DEBIAN_PACKAGES, WhileCreated, check_requirements, in_ci};

fn can_run() -> bool {
    let requirements = check_requirements();
    if requirements.met() {
        return true;
    }
    let why = format!(
        "{requirements} (apt-get install {})",
        DEBIAN_PACKAGES.join(" ")
    );
    assert!(!in_ci(), "CI=true, so not skipping: {why}");
    let _ = writeln!(std::io::stderr(), "skipping the shim test: {why}");
    false
}

mod live {
    use std::path::PathBuf;

    use containerd_shim_example::{Error, LiveShim};

    use crate::support::{Run, Tap, wren};

    const GOCODE: &str = "/usr/share/gocode/src";
    const SHIM_PROTO: &str = "github.com/containerd/containerd/runtime/v2/task/shim.proto";

    fn ensure(ok: bool, what: impl FnOnce() -> String) -> Result<(), Error> {
        if ok { Ok(()) } else { Err(what().into()) }
    }

    fn json(run: &Run) -> Result<serde_json::Value, Error> {
        ensure(run.code == 0, || format!("wren failed: {run:#?}"))?;
        serde_json::from_str(&run.stdout).map_err(|e| format!("{e}: {run:#?}").into())
    }

    /// `wren ARGS` with containerd's protos and the task's namespace.
    async fn call(live: &LiveShim, endpoint: &str, method: &str, data: &str) -> Run {
        let gogo = format!("{GOCODE}/github.com/gogo/protobuf");
        let namespace = format!("containerd-namespace-ttrpc={}", live.namespace);
        wren(
            &[
                "call",
                endpoint,
                method,
                "-I",
                GOCODE,
                "-I",
                &gogo,
                "--proto",
                SHIM_PROTO,
                "-H",
                &namespace,
                "-d",
                data,
                "--timeout",
                "10s",
            ],
            None,
        )
        .await
    }

    /// Everything the test checks while the task is created. Returns an
    /// error rather than panicking, so that the example still cleans up.
    pub(crate) async fn check(live: LiveShim) -> Result<(), Error> {
        let shim = live.address.clone();
        let task = serde_json::json!({ "id": live.id }).to_string();

        // Connect: the shim's pid and the task's.
        let connect = json(&call(&live, &shim, "containerd.task.v2.Task/Connect", &task).await)?;
        ensure(connect["shimPid"].as_u64().is_some_and(|p| p > 0), || {
            format!("Connect: {connect}")
        })?;
        ensure(connect["taskPid"] == live.pid, || {
            format!("Connect: {connect}")
        })?;

        // State of the created task, in proto3 JSON.
        let state = json(&call(&live, &shim, "containerd.task.v2.Task/State", &task).await)?;
        ensure(state["id"] == live.id.as_str(), || {
            format!("State: {state}")
        })?;
        ensure(state["pid"] == live.pid, || format!("State: {state}"))?;
        ensure(state["status"] == "CREATED", || format!("State: {state}"))?;
        ensure(
            state["bundle"] == live.bundle.display().to_string().as_str(),
            || format!("State: {state}"),
        )?;

        // A status the shim sends: NOT_FOUND for a task it does not have.
        let missing = call(
            &live,
            &shim,
            "containerd.task.v2.Task/State",
            r#"{"id": "no-such-task"}"#,
        )
        .await;
        ensure(missing.code == 15, || {
            format!("State of a missing task: {missing:#?}")
        })?;
        ensure(missing.stderr.contains("NOT_FOUND (code 5)"), || {
            format!("State of a missing task: {missing:#?}")
        })?;

        // The shim serves neither health nor reflection; wren says so.
        let health = wren(&["health", &shim], None).await;
        ensure(
            health.code == 22
                && health
                    .stderr
                    .contains("does not serve grpc.health.v1.Health"),
            || format!("health: {health:#?}"),
        )?;
        let list = wren(&["list", &shim], None).await;
        ensure(
            list.code == 22 && list.stderr.contains("does not serve gRPC reflection"),
            || format!("list: {list:#?}"),
        )?;

        // list and describe from containerd's protos.
        let gogo = format!("{GOCODE}/github.com/gogo/protobuf");
        let protos = ["-I", GOCODE, "-I", &gogo, "--proto", SHIM_PROTO];
        let list = wren(
            &[&["list", &shim, "containerd.task.v2.Task"][..], &protos].concat(),
            None,
        )
        .await;
        ensure(
            list.code == 0
                && list.stdout.contains(
                    "containerd.task.v2.Task.State(containerd.task.v2.StateRequest) returns (containerd.task.v2.StateResponse);\n",
                ),
            || format!("list: {list:#?}"),
        )?;
        let describe = wren(
            &[
                &["describe", "containerd.task.v2.StateRequest"][..],
                &protos,
            ]
            .concat(),
            None,
        )
        .await;
        ensure(
            describe.code == 0
                && describe.stdout.contains(
                    "message StateRequest {\n  string id = 1;\n  string exec_id = 2;\n}\n",
                ),
            || format!("describe: {describe:#?}"),
        )?;

        // decode: what the shim wrote for State, captured on the wire.
        let socket = PathBuf::from(shim.trim_start_matches("unix://"));
        let dir = tempfile::tempdir()?;
        let tap = Tap::start(&socket, dir.path().join("tap.sock"));
        let through = format!("unix://{}", tap.path.display());
        json(&call(&live, &through, "containerd.task.v2.Task/State", &task).await)?;
        let capture = dir.path().join("shim.bin");
        std::fs::write(&capture, tap.sent_by_server())?;
        let decoded = wren(
            &[
                &[
                    "decode",
                    &capture.display().to_string(),
                    "--method",
                    "containerd.task.v2.Task/State",
                ][..],
                &protos,
            ]
            .concat(),
            None,
        )
        .await;
        ensure(
            decoded.code == 0
                && decoded.stdout.contains("stream 1, Response (type 0x02)")
                && decoded.stdout.contains("  status:   OK\n")
                && decoded
                    .stdout
                    .contains("payload:  containerd.task.v2.StateResponse {")
                && decoded.stdout.contains(r#""status":"CREATED""#),
            || format!("decode: {decoded:#?}"),
        )?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wren_calls_the_real_shim() {
    if !can_run() {
        return;
    }
    let config = Config {
        namespace: "wren-cli-test".to_owned(),
        step_timeout: Duration::from_secs(60),
        while_created: Some(WhileCreated(Arc::new(|live| Box::pin(live::check(live))))),
        ..Config::default()
    };
    if let Err(e) = containerd_shim_example::run_and_verify(&config).await {
        panic!("{e}");
    }
}
