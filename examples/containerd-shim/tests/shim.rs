//! End to end against Debian's real `containerd-shim-runc-v2`: the same
//! code as `cargo run -p containerd-shim-example` (`src/lib.rs`).
//!
//! Needs root and the Debian packages in
//! `containerd_shim_example::DEBIAN_PACKAGES`. Without them the tests skip,
//! saying why, except where `CI=true`: there they fail.

use std::io::Write;
use std::path::Path;

#[cfg(not(containerd_protos_missing))]
use containerd_shim_example::api::containerd::events::TaskExit;
#[cfg(not(containerd_protos_missing))]
use containerd_shim_example::{Config, Event};
use containerd_shim_example::{DEBIAN_PACKAGES, check_requirements, in_ci, is_static_elf};
#[cfg(not(containerd_protos_missing))]
use wren_rpc::containerd;

/// Whether the test can run; panics where it cannot and `CI=true`.
fn can_run(test: &str) -> bool {
    let requirements = check_requirements();
    if requirements.met() {
        return true;
    }
    let mut why = format!("{test}: {requirements}");
    if !requirements.missing.is_empty() {
        why += &format!(" (apt-get install {})", DEBIAN_PACKAGES.join(" "));
    }
    assert!(!in_ci(), "CI=true, so not skipping: {why}");
    // Straight to stderr, past the test harness's capture, so that a skip
    // shows in the output of `cargo test`.
    let _ = writeln!(std::io::stderr(), "skipping {why}");
    false
}

#[cfg(not(containerd_protos_missing))]
fn config() -> Config {
    Config {
        namespace: "wren-test".to_owned(),
        step_timeout: std::time::Duration::from_secs(20),
        ..Config::default()
    }
}

/// Connect, Create, Start, Wait, Delete, Shutdown through the generated
/// `containerd.task.v2.Task` client; the shim's task events through the
/// generated `containerd.services.events.ttrpc.v1.Events` server.
#[tokio::test(flavor = "multi_thread")]
async fn runs_a_container_and_receives_its_events() {
    if !can_run("runs_a_container_and_receives_its_events") {
        return;
    }
    #[cfg(not(containerd_protos_missing))]
    {
        let config = config();
        let outcome = containerd_shim_example::run(&config)
            .await
            .unwrap_or_else(|e| panic!("run failed: {e}"));
        if let Err(e) = outcome.verify(&config) {
            panic!("unexpected results:\n{e}\n{outcome:#?}");
        }

        // The same again, spelled out.
        assert!(
            outcome
                .shim_address
                .starts_with("unix:///run/containerd/s/")
        );
        assert_ne!(outcome.connect.shim_pid, 0);
        assert_eq!(outcome.wait.exit_status, 0);
        assert!(outcome.wait.exited_at.is_some());
        assert!(
            outcome.output.contains("hello-from-wren"),
            "{:?}",
            outcome.output
        );
        assert_eq!(outcome.delete.pid, outcome.create_pid);

        let topics: Vec<&str> = outcome.events.iter().map(|e| e.topic.as_str()).collect();
        assert_eq!(
            topics[..4],
            [
                "/tasks/create",
                "/tasks/start",
                "/tasks/exit",
                "/tasks/delete"
            ],
            "{topics:?}"
        );
        let Some(Event::Create(create)) = outcome.event("/tasks/create").map(|e| &e.event) else {
            panic!("no TaskCreate: {:?}", outcome.events);
        };
        assert_eq!(create.container_id, config.id);
        assert_eq!(Path::new(&create.bundle), outcome.bundle);
        assert_eq!(create.pid, outcome.create_pid);
        let io = create.io.as_ref().expect("TaskCreate.io");
        assert_eq!(io.stdout, outcome.stdout_uri);
        assert!(!io.terminal);
        let Some(Event::Exit(exit)) = outcome.event("/tasks/exit").map(|e| &e.event) else {
            panic!("no TaskExit: {:?}", outcome.events);
        };
        assert_eq!((exit.pid, exit.exit_status), (outcome.start_pid, 0));
        assert_eq!(exit.exited_at, outcome.wait.exited_at);
        for event in &outcome.events {
            assert_eq!(event.namespace, "wren-test");
            assert_eq!(event.metadata_namespace.as_deref(), Some("wren-test"));
            assert!(event.timestamp.is_some());
        }
        // The shim's own bytes: bare type URLs, which prost's `to_msg`
        // refuses and `wren_rpc::containerd::unpack` takes.
        let Some(exit_any) = outcome.event("/tasks/exit").map(|e| &e.any) else {
            panic!("no TaskExit: {:?}", outcome.events);
        };
        assert_eq!(exit_any.type_url, "containerd.events.TaskExit");
        assert!(exit_any.to_msg::<TaskExit>().is_err());
        assert_eq!(containerd::unpack::<TaskExit>(exit_any).unwrap(), *exit);
        for event in &outcome.events {
            assert!(
                !event.any.type_url.contains('/'),
                "{}: type URL {:?}",
                event.topic,
                event.any.type_url
            );
            // Packing the decoded event again gives the shim's type URL.
            let repacked = match &event.event {
                Event::Create(e) => containerd::pack(e),
                Event::Start(e) => containerd::pack(e),
                Event::Exit(e) => containerd::pack(e),
                Event::Delete(e) => containerd::pack(e),
                Event::Other(url) => panic!("{}: unexpected type {url}", event.topic),
            };
            assert_eq!(repacked.type_url, event.any.type_url);
        }
        assert!(containerd_shim_example::leftover_shims(&config).is_empty());
    }
}

/// A container whose command does not exist: the shim's error comes back
/// through the generated client as a status, and cleanup still leaves no
/// shim behind.
#[tokio::test(flavor = "multi_thread")]
async fn a_failing_create_is_an_error_and_cleans_up() {
    if !can_run("a_failing_create_is_an_error_and_cleans_up") {
        return;
    }
    #[cfg(not(containerd_protos_missing))]
    {
        let config = Config {
            command: Some(vec!["/bin/does-not-exist".to_owned()]),
            ..config()
        };
        let error = containerd_shim_example::run(&config)
            .await
            .expect_err("a container without its command ran")
            .to_string();
        eprintln!("the run failed as it should: {error}");
        assert!(error.starts_with("Create: "), "{error}");
        assert!(error.contains("does-not-exist"), "{error}");
        assert!(containerd_shim_example::leftover_shims(&config).is_empty());
    }
}

/// A container that outlives its step: `Wait` times out, and cleanup kills
/// the container through the shim (`Kill`, `Delete`, `Shutdown`) and leaves
/// nothing running.
#[tokio::test(flavor = "multi_thread")]
async fn a_hung_container_is_killed_on_timeout() {
    if !can_run("a_hung_container_is_killed_on_timeout") {
        return;
    }
    #[cfg(not(containerd_protos_missing))]
    {
        let config = Config {
            command: Some(["/bin/busybox", "sleep", "600"].map(String::from).to_vec()),
            step_timeout: std::time::Duration::from_secs(2),
            ..config()
        };
        let started = std::time::Instant::now();
        let error = containerd_shim_example::run(&config)
            .await
            .expect_err("Wait returned for a container that sleeps")
            .to_string();
        eprintln!("the run failed as it should: {error}");
        // The call's ttrpc deadline, or failing that the step's timeout.
        assert!(error.starts_with("Wait: "), "{error}");
        assert!(
            error.contains("DEADLINE_EXCEEDED") || error.contains("nothing within"),
            "{error}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
        assert!(containerd_shim_example::leftover_shims(&config).is_empty());
        let state = Path::new("/run/containerd/runc")
            .join(&config.namespace)
            .join(&config.id);
        assert!(!state.exists(), "runc still has {}", state.display());
    }
}

#[test]
fn tells_static_from_dynamic_executables() {
    if Path::new("/bin/sh").exists() {
        // Debian's dash is dynamically linked.
        assert!(!is_static_elf(Path::new("/bin/sh")).unwrap());
    }
    if check_requirements().missing.is_empty() {
        assert!(is_static_elf(Path::new("/bin/busybox")).unwrap());
    }
    assert!(is_static_elf(Path::new("/proc/self/status")).is_err());
}

/// containerd's Go `typeurl` names an event by its bare full name, with no
/// `/`: prost's `Any::to_msg` rejects that, [`Event::decode`] (through
/// `wren_rpc::containerd::unpack`) accepts it, and the prefixed form too.
#[cfg(not(containerd_protos_missing))]
#[test]
fn decodes_events_by_bare_type_name() {
    use containerd_shim_example::api::containerd::events::TaskStart;
    use wren_rpc::prost::Name;
    use wren_rpc::prost_types::Any;

    let start = TaskStart {
        container_id: "c1".to_owned(),
        pid: 42,
    };
    assert_eq!(TaskStart::full_name(), "containerd.events.TaskStart");
    let any = containerd::pack(&start);
    assert_eq!(any.type_url, "containerd.events.TaskStart");
    assert!(any.to_msg::<TaskStart>().is_err());
    assert!(matches!(Event::decode(&any), Ok(Event::Start(e)) if e == start));
    let prefixed = Any {
        type_url: format!("type.googleapis.com/{}", TaskStart::full_name()),
        ..any.clone()
    };
    assert!(matches!(Event::decode(&prefixed), Ok(Event::Start(e)) if e == start));
    // Another type is `Other`; a value that does not decode is an error.
    let other = containerd::pack(&wren_rpc::prost_types::Duration::default());
    assert!(
        matches!(Event::decode(&other), Ok(Event::Other(url)) if url == "google.protobuf.Duration")
    );
    let broken = Any {
        type_url: TaskStart::full_name(),
        value: vec![0x0a, 0x05],
    };
    let err = Event::decode(&broken).unwrap_err();
    assert!(!err.is_other_type(), "{err}");
}
