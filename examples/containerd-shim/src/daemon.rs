//! A real containerd daemon on temporary paths, and a wren client that
//! publishes task events to its ttrpc events service, as a shim does.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use tokio::io::AsyncBufReadExt;
use wren_rpc::prost::Name;
use wren_rpc::prost_types::{Any, Timestamp};
use wren_rpc::{Channel, Request};

use crate::api::containerd::events::TaskExit;
use crate::api::containerd::services::events::ttrpc::v1::events_client::EventsClient;
use crate::api::containerd::services::events::ttrpc::v1::{Envelope, ForwardRequest};
use crate::{Error, NAMESPACE_KEY};

/// The daemon binary, from Debian's `containerd` package.
pub const CONTAINERD_BINARY: &str = "containerd";

/// containerd's command-line client, from the same package.
pub const CTR_BINARY: &str = "ctr";

/// Plugins a daemon that runs no containers does without: CRI (which
/// wants CNI) and the snapshotters that need a particular filesystem.
const DISABLED_PLUGINS: &[&str] = &[
    "io.containerd.grpc.v1.cri",
    "io.containerd.snapshotter.v1.aufs",
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.snapshotter.v1.zfs",
];

/// A containerd daemon whose config, root, state and sockets live in a
/// temporary directory. Dropping it — also while a test panics — kills the
/// daemon, waits for it and removes the directory.
#[derive(Debug)]
pub struct Daemon {
    child: Option<Child>,
    dir: Option<tempfile::TempDir>,
    grpc: PathBuf,
    ttrpc: PathBuf,
    log: PathBuf,
}

impl Daemon {
    /// Writes a config and starts `containerd --config` with it, then waits
    /// up to `limit` until `ctr version` gets an answer from it.
    ///
    /// # Errors
    ///
    /// If the daemon cannot be started or does not answer in time (the
    /// daemon is stopped again and the error holds the end of its log).
    pub fn start(limit: Duration) -> Result<Daemon, Error> {
        let dir = tempfile::Builder::new()
            .prefix("wren-containerd-")
            .tempdir()?;
        let path = dir.path();
        let grpc = path.join("containerd.sock");
        let ttrpc = path.join("containerd.sock.ttrpc");
        let log = path.join("containerd.log");
        let config = path.join("config.toml");
        let quoted: Vec<String> = DISABLED_PLUGINS.iter().map(|p| format!("{p:?}")).collect();
        std::fs::write(
            &config,
            format!(
                "version = 2\nroot = {:?}\nstate = {:?}\ndisabled_plugins = [{}]\n\n\
                 [grpc]\n  address = {:?}\n\n[ttrpc]\n  address = {:?}\n\n\
                 [plugins.\"io.containerd.internal.v1.opt\"]\n  path = {:?}\n",
                path.join("root"),
                path.join("state"),
                quoted.join(", "),
                grpc,
                ttrpc,
                path.join("opt"),
            ),
        )?;
        let child = Command::new(CONTAINERD_BINARY)
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log)?)
            .stderr(std::fs::File::options().append(true).open(&log)?)
            .env("PATH", crate::shim_path_env())
            .spawn()
            .map_err(|e| format!("start {CONTAINERD_BINARY}: {e}"))?;
        let mut daemon = Daemon {
            child: Some(child),
            dir: Some(dir),
            grpc,
            ttrpc,
            log,
        };
        daemon.wait_ready(limit)?;
        Ok(daemon)
    }

    fn wait_ready(&mut self, limit: Duration) -> Result<(), Error> {
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    return Err(format!(
                        "containerd exited at start ({status})\n{}",
                        self.log_tail()
                    )
                    .into());
                }
            }
            let version = Command::new(CTR_BINARY)
                .arg("--address")
                .arg(&self.grpc)
                .arg("version")
                .stdin(Stdio::null())
                .output();
            if matches!(&version, Ok(out) if out.status.success()) && self.ttrpc.exists() {
                return Ok(());
            }
            if started.elapsed() > limit {
                return Err(format!(
                    "containerd did not answer within {limit:?}\n{}",
                    self.log_tail()
                )
                .into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The daemon's gRPC socket (what `ctr --address` takes).
    pub fn grpc_socket(&self) -> &Path {
        &self.grpc
    }

    /// The daemon's ttrpc socket, where shims publish their events.
    pub fn ttrpc_socket(&self) -> &Path {
        &self.ttrpc
    }

    /// The last lines of the daemon's log, for error messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let start = lines.len().saturating_sub(20);
        format!("containerd log:\n{}", lines[start..].join("\n"))
    }

    /// Stops the daemon and removes its directory; what dropping it does.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(dir) = self.dir.take() {
            if let Err(e) = dir.close() {
                let _ = writeln!(std::io::stderr(), "removing containerd's directory: {e}");
            }
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// Publishes `event` under `topic` in `namespace` to containerd's ttrpc
/// events service at `ttrpc_socket`, as a shim does: a `Forward` call with
/// the namespace in the `containerd-namespace-ttrpc` metadata, the event
/// packed in an `Any` whose type URL is the bare message name, as
/// containerd's Go `typeurl` writes and expects it.
///
/// # Errors
///
/// If the connection or the call fails.
pub async fn publish<E: Name>(
    ttrpc_socket: &Path,
    namespace: &str,
    topic: &str,
    event: &E,
    timeout: Duration,
) -> Result<(), Error> {
    let channel = Channel::connect_unix(ttrpc_socket).await?;
    let mut client = EventsClient::new(channel);
    let since_epoch = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH)?;
    let forward = ForwardRequest {
        envelope: Some(Envelope {
            timestamp: Some(Timestamp {
                seconds: i64::try_from(since_epoch.as_secs())?,
                nanos: i32::try_from(since_epoch.subsec_nanos())?,
            }),
            namespace: namespace.to_owned(),
            topic: topic.to_owned(),
            event: Some(Any {
                type_url: E::full_name(),
                value: event.encode_to_vec(),
            }),
        }),
    };
    let mut request = Request::new(forward);
    request.metadata_mut().insert(NAMESPACE_KEY, namespace);
    request.set_timeout(timeout);
    client.forward(request).await?;
    Ok(())
}

/// What `ctr events` printed for one event: `TIMESTAMP NAMESPACE TOPIC JSON`.
#[derive(Clone, Debug)]
pub struct SeenEvent {
    /// The namespace column.
    pub namespace: String,
    /// The topic column.
    pub topic: String,
    /// The event, as `ctr` printed it (containerd's JSON of the message).
    pub event: serde_json::Value,
}

/// Publishes a `/tasks/exit` event for `container_id` until `ctr events`,
/// subscribed to the daemon, prints it (publishing again covers the time
/// `ctr` takes to subscribe), within `limit`.
///
/// # Errors
///
/// If `ctr` cannot be started, a publish fails, or the event does not come
/// out within `limit`.
pub async fn publish_and_watch(
    daemon: &Daemon,
    namespace: &str,
    exit: &TaskExit,
    limit: Duration,
) -> Result<SeenEvent, Error> {
    let mut ctr = tokio::process::Command::new(CTR_BINARY)
        .arg("--address")
        .arg(daemon.grpc_socket())
        .arg("events")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("start {CTR_BINARY} events: {e}"))?;
    let mut lines = tokio::io::BufReader::new(ctr.stdout.take().ok_or("ctr stdout")?).lines();
    let watch = async {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    publish(daemon.ttrpc_socket(), namespace, "/tasks/exit", exit, limit).await?;
                }
                line = lines.next_line() => {
                    let Some(line) = line? else {
                        return Err::<SeenEvent, Error>("ctr events ended".into());
                    };
                    if let Some(seen) = parse_ctr_event(&line) {
                        if seen.event["container_id"] == exit.container_id.as_str() {
                            return Ok(seen);
                        }
                    }
                }
            }
        }
    };
    let seen = tokio::time::timeout(limit, watch)
        .await
        .map_err(|_| format!("the event did not come out of containerd within {limit:?}"))?;
    let _ = ctr.kill().await;
    seen
}

/// Splits a line of `ctr events`: a timestamp of two words (date and
/// time, then a zone), the namespace, the topic and the event's JSON.
fn parse_ctr_event(line: &str) -> Option<SeenEvent> {
    let json_at = line.find('{')?;
    let event = serde_json::from_str(&line[json_at..]).ok()?;
    let words: Vec<&str> = line[..json_at].split_whitespace().collect();
    let [.., namespace, topic] = words.as_slice() else {
        return None;
    };
    Some(SeenEvent {
        namespace: (*namespace).to_owned(),
        topic: (*topic).to_owned(),
        event,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctr_event_lines() {
        let line = r#"2026-11-29 19:07:50.1 +0000 UTC wren-test /tasks/exit {"container_id":"c1","pid":42}"#;
        let seen = parse_ctr_event(line).unwrap();
        assert_eq!(seen.namespace, "wren-test");
        assert_eq!(seen.topic, "/tasks/exit");
        assert_eq!(seen.event["pid"], 42);
        assert!(parse_ctr_event("no json here").is_none());
    }
}
