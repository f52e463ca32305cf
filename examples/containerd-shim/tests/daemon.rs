//! A real containerd 1.6 daemon (Debian's `containerd`) as a peer: a wren
//! client publishes a task event to the daemon's ttrpc events service, as
//! a shim does, and the event comes out of the daemon's own event stream,
//! as `ctr events` prints it.
//!
//! The daemon runs on temporary config, root, state and socket paths, and
//! is stopped and its directory removed however the test ends. Without
//! root or the Debian packages the test skips, saying why, except where
//! `CI=true`: there it fails.

use std::io::Write;

use containerd_shim_example::{find_program, in_ci};

fn can_run() -> bool {
    let mut missing = Vec::new();
    for program in ["containerd", "ctr"] {
        if find_program(program).is_none() {
            missing.push(format!("{program} not found: install containerd"));
        }
    }
    if cfg!(containerd_protos_missing) {
        missing.push(
            "containerd's protos were not found at build time: install golang-github-containerd-containerd-dev and golang-github-gogo-protobuf-dev".to_owned(),
        );
    }
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        });
    if uid.as_deref() != Some("0") {
        missing.push("not root: containerd needs root".to_owned());
    }
    if missing.is_empty() {
        return true;
    }
    let why = missing.join("; ");
    assert!(!in_ci(), "CI=true, so not skipping: {why}");
    let _ = writeln!(
        std::io::stderr(),
        "skipping the containerd daemon test: {why}"
    );
    false
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_published_by_wren_comes_out_of_containerd() {
    if !can_run() {
        return;
    }
    #[cfg(not(containerd_protos_missing))]
    {
        use std::time::Duration;

        use containerd_shim_example::api::containerd::events::TaskExit;
        use containerd_shim_example::daemon::{Daemon, publish_and_watch};

        let limit = Duration::from_secs(30);
        let daemon = Daemon::start(limit).unwrap_or_else(|e| panic!("{e}"));
        let grpc = daemon.grpc_socket().to_path_buf();
        let dir = grpc.parent().unwrap().to_path_buf();
        let id = format!("wren-event-{}", std::process::id());
        let exit = TaskExit {
            container_id: id.clone(),
            id: id.clone(),
            pid: 4242,
            exit_status: 7,
            ..TaskExit::default()
        };
        let seen = match publish_and_watch(&daemon, "wren-test", &exit, limit).await {
            Ok(seen) => seen,
            Err(e) => panic!("{e}\n{}", daemon.log_tail()),
        };
        assert_eq!(seen.namespace, "wren-test");
        assert_eq!(seen.topic, "/tasks/exit");
        assert_eq!(seen.event["container_id"], id.as_str());
        assert_eq!(seen.event["id"], id.as_str());
        assert_eq!(seen.event["pid"], 4242);
        assert_eq!(seen.event["exit_status"], 7);

        // Stopping removes the daemon's sockets and directories.
        daemon.stop();
        assert!(!grpc.exists(), "{} left behind", grpc.display());
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}
