//! The run: a bundle, the events server, the shim, the calls, the cleanup.

use std::fmt::Display;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use wren_rpc::prost_types::{Any, Timestamp};
use wren_rpc::server::ShutdownHandle;
use wren_rpc::{Channel, Request, Response, Server, Status, containerd};

use crate::api::containerd::events::{TaskCreate, TaskDelete, TaskExit, TaskStart};
use crate::api::containerd::services::events::ttrpc::v1::ForwardRequest;
use crate::api::containerd::services::events::ttrpc::v1::events_server::{Events, EventsServer};
use crate::api::containerd::task::v2::task_client::TaskClient;
use crate::api::containerd::task::v2::{
    ConnectRequest, ConnectResponse, CreateTaskRequest, DeleteRequest, DeleteResponse, KillRequest,
    ShutdownRequest, StartRequest, WaitRequest, WaitResponse,
};
use crate::{BUSYBOX, Config, Error, NAMESPACE_KEY, SHIM_BINARY};

/// The topics a task's life publishes, in order.
const TOPICS: [&str; 4] = [
    "/tasks/create",
    "/tasks/start",
    "/tasks/exit",
    "/tasks/delete",
];

/// Where the runc shim keeps runc's state, per namespace
/// (`process.RuncRoot` in containerd).
const RUNC_ROOT: &str = "/run/containerd/runc";

/// One event the shim forwarded to the wren events server.
#[derive(Clone, Debug)]
pub struct ReceivedEvent {
    /// The envelope's topic, such as `/tasks/create`.
    pub topic: String,
    /// The envelope's namespace.
    pub namespace: String,
    /// The `containerd-namespace-ttrpc` metadata of the `Forward` call.
    pub metadata_namespace: Option<String>,
    /// When the shim published it.
    pub timestamp: Option<Timestamp>,
    /// The envelope's `Any` as the shim sent it.
    pub any: Any,
    /// The envelope's `Any`, decoded.
    pub event: Event,
}

/// An envelope's event, decoded by its type URL.
#[derive(Clone, Debug)]
pub enum Event {
    /// `containerd.events.TaskCreate`.
    Create(TaskCreate),
    /// `containerd.events.TaskStart`.
    Start(TaskStart),
    /// `containerd.events.TaskExit`.
    Exit(TaskExit),
    /// `containerd.events.TaskDelete`.
    Delete(TaskDelete),
    /// Any other type, by its type URL.
    Other(String),
}

impl Event {
    /// Decodes an envelope's `Any`. containerd's Go `typeurl` writes the
    /// bare full name (`containerd.events.TaskCreate`), which prost's
    /// `Any::to_msg` refuses; [`containerd::unpack`] takes it (and a
    /// `type.googleapis.com/` style prefix too).
    pub fn decode(any: &Any) -> Result<Event, containerd::UnpackError> {
        Ok(if containerd::is::<TaskCreate>(any) {
            Event::Create(containerd::unpack(any)?)
        } else if containerd::is::<TaskStart>(any) {
            Event::Start(containerd::unpack(any)?)
        } else if containerd::is::<TaskExit>(any) {
            Event::Exit(containerd::unpack(any)?)
        } else if containerd::is::<TaskDelete>(any) {
            Event::Delete(containerd::unpack(any)?)
        } else {
            Event::Other(any.type_url.clone())
        })
    }
}

/// What a run saw.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The bundle directory (removed by now).
    pub bundle: PathBuf,
    /// The container's stdout (and stderr) as the `file://` URI given to
    /// `Create`.
    pub stdout_uri: String,
    /// What the shim's `start` printed: its ttrpc address.
    pub shim_address: String,
    /// `Connect`'s reply.
    pub connect: ConnectResponse,
    /// `Create`'s pid.
    pub create_pid: u32,
    /// `Start`'s pid.
    pub start_pid: u32,
    /// `Wait`'s reply.
    pub wait: WaitResponse,
    /// `Delete`'s reply.
    pub delete: DeleteResponse,
    /// What the container wrote.
    pub output: String,
    /// The events the shim forwarded, in arrival order.
    pub events: Vec<ReceivedEvent>,
}

impl Outcome {
    /// The first event of `topic`.
    pub fn event(&self, topic: &str) -> Option<&ReceivedEvent> {
        self.events.iter().find(|e| e.topic == topic)
    }

    /// Checks what a successful run shows: exit status 0, the message in
    /// the output, and the four task events with this container's id, pid,
    /// bundle and namespace.
    ///
    /// # Errors
    ///
    /// Every mismatch, one per line.
    pub fn verify(&self, config: &Config) -> Result<(), String> {
        let mut errors = Vec::new();
        let mut check = |ok: bool, what: String| {
            if !ok {
                errors.push(what);
            }
        };
        check(
            self.wait.exit_status == 0,
            format!("Wait: exit status {}, want 0", self.wait.exit_status),
        );
        check(
            self.delete.exit_status == 0,
            format!("Delete: exit status {}, want 0", self.delete.exit_status),
        );
        check(
            self.output.contains(&config.message),
            format!("output {:?} lacks {:?}", self.output, config.message),
        );
        check(
            self.create_pid != 0 && self.start_pid == self.create_pid,
            format!(
                "Create pid {} vs Start pid {}",
                self.create_pid, self.start_pid
            ),
        );
        for topic in TOPICS {
            let Some(ev) = self.event(topic) else {
                check(false, format!("no {topic} event"));
                continue;
            };
            check(
                ev.namespace == config.namespace,
                format!("{topic}: envelope namespace {:?}", ev.namespace),
            );
            check(
                ev.metadata_namespace.as_deref() == Some(config.namespace.as_str()),
                format!(
                    "{topic}: {NAMESPACE_KEY} metadata {:?}",
                    ev.metadata_namespace
                ),
            );
            let (id, pid, ok) = match &ev.event {
                Event::Create(e) => (
                    &e.container_id,
                    e.pid,
                    Path::new(&e.bundle) == self.bundle
                        && e.io.as_ref().is_some_and(|io| io.stdout == self.stdout_uri),
                ),
                Event::Start(e) => (&e.container_id, e.pid, true),
                Event::Exit(e) => (
                    &e.container_id,
                    e.pid,
                    e.exit_status == 0 && e.id == config.id,
                ),
                Event::Delete(e) => (&e.container_id, e.pid, e.exit_status == 0),
                Event::Other(url) => {
                    check(false, format!("{topic}: unexpected type {url}"));
                    continue;
                }
            };
            check(
                *id == config.id && pid == self.create_pid && ok,
                format!("{topic}: unexpected {:?}", ev.event),
            );
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("\n"))
        }
    }
}

/// Prints one step.
macro_rules! step {
    ($($arg:tt)*) => { println!("==> {}", format_args!($($arg)*)) };
}

/// The wren side of `containerd.services.events.ttrpc.v1.Events`: decodes
/// each envelope and passes it on.
struct Recorder {
    events: mpsc::UnboundedSender<ReceivedEvent>,
}

impl Events for Recorder {
    async fn forward(&self, request: Request<ForwardRequest>) -> Result<Response<()>, Status> {
        let metadata_namespace = containerd::namespace(&request).map(str::to_owned);
        let envelope = request
            .into_inner()
            .envelope
            .ok_or_else(|| Status::invalid_argument("ForwardRequest without an envelope"))?;
        let any = envelope
            .event
            .ok_or_else(|| Status::invalid_argument("envelope without an event"))?;
        let event = Event::decode(&any)?;
        println!(
            "    events server: Forward {} (namespace {:?}, type {}): {event:?}",
            envelope.topic, envelope.namespace, any.type_url
        );
        let _ = self.events.send(ReceivedEvent {
            topic: envelope.topic,
            namespace: envelope.namespace,
            metadata_namespace,
            timestamp: envelope.timestamp,
            any,
            event,
        });
        Ok(Response::new(()))
    }
}

/// What cleanup needs to know, filled in as the run goes.
#[derive(Default)]
struct State {
    shim_log: Arc<Mutex<Vec<String>>>,
    log_reader: Option<JoinHandle<()>>,
    events_server: Option<(ShutdownHandle, JoinHandle<std::io::Result<()>>)>,
    shim_socket: Option<PathBuf>,
    client: Option<TaskClient>,
    shim_pid: Option<u32>,
    created: bool,
    deleted: bool,
    shut_down: bool,
}

impl State {
    /// The shim's log so far, for error messages.
    fn log_tail(&self) -> String {
        let log = self.shim_log.lock().unwrap_or_else(|e| e.into_inner());
        let start = log.len().saturating_sub(20);
        if log.is_empty() {
            "(shim log empty)".to_owned()
        } else {
            format!("shim log:\n{}", log[start..].join("\n"))
        }
    }
}

/// Runs every step against the real shim, cleans up, and returns what it
/// saw. Prints each step.
///
/// # Errors
///
/// The first step that failed, with the shim's log; cleanup has run.
pub async fn run(config: &Config) -> Result<Outcome, Error> {
    let dir = tempfile::Builder::new().prefix("wren-shim-").tempdir()?;
    let mut state = State::default();
    let result = drive(config, dir.path(), &mut state).await;
    let result = result.map_err(|e| -> Error { format!("{e}\n{}", state.log_tail()).into() });
    cleanup(config, &mut state).await;
    step!("removing {}", dir.path().display());
    let removed = dir.close();
    let outcome = result?;
    removed?;
    Ok(outcome)
}

async fn drive(config: &Config, dir: &Path, state: &mut State) -> Result<Outcome, Error> {
    let limit = config.step_timeout;

    // The bundle: `runc spec`, then the container's command.
    let bundle = dir.join("bundle");
    step!(
        "bundle: runc spec in {}, busybox-static rootfs",
        bundle.display()
    );
    make_bundle(config, &bundle, limit).await?;

    // The shim's log is a fifo in the bundle that containerd reads; the
    // shim blocks opening it until someone does.
    let log = bundle.join("log");
    run_command(tokio::process::Command::new("mkfifo").arg(&log), limit).await?;
    let reader = tokio::net::unix::pipe::OpenOptions::new()
        // Read-write: no EOF while the shim has not opened it yet.
        .read_write(true)
        .open_receiver(&log)
        .map_err(|e| context(format!("open {}", log.display()), e))?;
    let shim_log = Arc::clone(&state.shim_log);
    state.log_reader = Some(tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(reader).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            println!("    shim log: {line}");
            shim_log
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(line);
        }
    }));

    // The events server, where containerd's ttrpc socket would be.
    let events_socket = dir.join("containerd.sock.ttrpc");
    let (tx, mut events) = mpsc::unbounded_channel();
    let router = Server::builder().add_service(EventsServer::new(Recorder { events: tx }));
    let shutdown = router.shutdown_handle();
    // Served from an inherited descriptor, the way a parent (containerd, or
    // systemd through LISTEN_FDS) hands a process its socket: here the
    // socket is bound by std and passed as an `OwnedFd`.
    let inherited: std::os::fd::OwnedFd =
        std::os::unix::net::UnixListener::bind(&events_socket)?.into();
    state.events_server = Some((shutdown, tokio::spawn(router.serve(inherited))));
    step!(
        "events server: wren serving {} on {}",
        crate::api::containerd::services::events::ttrpc::v1::events_server::SERVICE_NAME,
        events_socket.display()
    );

    // The shim, started as containerd starts it: `start` in the bundle,
    // which forks the real shim and prints its address.
    let containerd_address = dir.join("containerd.sock");
    step!(
        "shim: {SHIM_BINARY} -namespace {} -id {} -address {} start (TTRPC_ADDRESS={})",
        config.namespace,
        config.id,
        containerd_address.display(),
        events_socket.display()
    );
    let mut start = tokio::process::Command::new(SHIM_BINARY);
    start
        .args([
            "-namespace",
            &config.namespace,
            "-id",
            &config.id,
            "-address",
        ])
        .arg(&containerd_address)
        .arg("start")
        .current_dir(&bundle)
        .env("TTRPC_ADDRESS", &events_socket)
        .env("PATH", crate::shim_path_env());
    let address = run_command(&mut start, limit).await?;
    let address = address.trim().to_owned();
    let socket = address
        .strip_prefix("unix://")
        .ok_or_else(|| format!("shim start printed {address:?}, not a unix:// address"))?;
    state.shim_socket = Some(PathBuf::from(socket));
    step!("shim: listening on {address}");

    let channel = within("connect to the shim", limit, Channel::connect_unix(socket)).await?;
    let mut client = TaskClient::new(channel);
    state.client = Some(client.clone());

    let connect = within(
        "Connect",
        limit,
        client.connect(request(
            config,
            ConnectRequest {
                id: config.id.clone(),
            },
        )),
    )
    .await?
    .into_inner();
    state.shim_pid = Some(connect.shim_pid);
    step!(
        "Connect -> shim pid {}, task pid {}, version {:?}",
        connect.shim_pid,
        connect.task_pid,
        connect.version
    );

    let stdout_path = dir.join("stdout.log");
    let stdout_uri = format!("file://{}", stdout_path.display());
    let create = CreateTaskRequest {
        id: config.id.clone(),
        bundle: bundle.display().to_string(),
        terminal: false,
        stdout: stdout_uri.clone(),
        stderr: stdout_uri.clone(),
        ..CreateTaskRequest::default()
    };
    step!(
        "Create {} (bundle {}, stdout {stdout_uri})",
        config.id,
        bundle.display()
    );
    state.created = true; // A failed Create may still leave a container.
    let create_pid = within("Create", limit, client.create(request(config, create)))
        .await?
        .into_inner()
        .pid;
    step!("Create -> pid {create_pid}");

    if let Some(hook) = &config.while_created {
        step!("while created: running the caller's step");
        let live = crate::LiveShim {
            address: address.clone(),
            namespace: config.namespace.clone(),
            id: config.id.clone(),
            pid: create_pid,
            bundle: bundle.clone(),
        };
        within("the step while created", limit, (hook.0)(live)).await?;
    }

    let start_pid = within(
        "Start",
        limit,
        client.start(request(
            config,
            StartRequest {
                id: config.id.clone(),
                exec_id: String::new(),
            },
        )),
    )
    .await?
    .into_inner()
    .pid;
    step!("Start -> pid {start_pid}");

    let wait = within(
        "Wait",
        limit,
        client.wait(request(
            config,
            WaitRequest {
                id: config.id.clone(),
                exec_id: String::new(),
            },
        )),
    )
    .await?
    .into_inner();
    step!(
        "Wait -> exit status {}, exited at {}",
        wait.exit_status,
        wait.exited_at
            .map_or_else(|| "?".to_owned(), |t| t.to_string())
    );

    // The shim copies the output into the file; it may land just after
    // the exit.
    let output = within("read the container's output", limit, async {
        loop {
            let text = tokio::fs::read_to_string(&stdout_path)
                .await
                .unwrap_or_default();
            if text.contains(&config.message) {
                return Ok::<_, std::io::Error>(text);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await?;
    step!("output: {:?}", output.trim_end());

    let delete = within(
        "Delete",
        limit,
        client.delete(request(
            config,
            DeleteRequest {
                id: config.id.clone(),
                exec_id: String::new(),
            },
        )),
    )
    .await?
    .into_inner();
    state.deleted = true;
    step!(
        "Delete -> pid {}, exit status {}",
        delete.pid,
        delete.exit_status
    );

    // The events are forwarded asynchronously: collect them before asking
    // the shim to exit, which may drop what it has not sent yet.
    step!("events: waiting for {}", TOPICS.join(", "));
    let mut received = Vec::new();
    let all = within("the shim's events", limit, async {
        while let Some(ev) = events.recv().await {
            received.push(ev);
            if TOPICS
                .iter()
                .all(|t| received.iter().any(|e| e.topic == *t))
            {
                break;
            }
        }
        Ok::<_, std::convert::Infallible>(())
    })
    .await;
    if let Err(e) = all {
        let seen: Vec<&str> = received.iter().map(|e| e.topic.as_str()).collect();
        return Err(format!("{e} (received: {seen:?})").into());
    }

    shutdown_shim(config, &mut client, limit).await?;
    state.shut_down = true;
    if let Some(pid) = state.shim_pid {
        step!("shim: waiting for pid {pid} to exit");
        within("shim exit", limit, async {
            while process_alive(pid) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok::<_, std::convert::Infallible>(())
        })
        .await?;
        step!("shim: exited");
    }
    // Anything forwarded after the four.
    while let Ok(ev) = events.try_recv() {
        received.push(ev);
    }

    Ok(Outcome {
        bundle,
        stdout_uri,
        shim_address: address,
        connect,
        create_pid,
        start_pid,
        wait,
        delete,
        output,
        events: received,
    })
}

/// `Shutdown`: the shim may close the connection before or after replying.
async fn shutdown_shim(
    config: &Config,
    client: &mut TaskClient,
    limit: Duration,
) -> Result<(), Error> {
    let req = request(
        config,
        ShutdownRequest {
            id: config.id.clone(),
            now: false,
        },
    );
    match tokio::time::timeout(limit, client.shutdown(req)).await {
        Ok(Ok(_)) => step!("Shutdown -> ok"),
        Ok(Err(e)) if wren_rpc::client::is_closed(&e) => {
            step!("Shutdown -> connection closed by the exiting shim ({e})");
        }
        Ok(Err(e)) => return Err(context("Shutdown", e)),
        Err(_) => return Err(format!("Shutdown: no answer within {limit:?}").into()),
    }
    Ok(())
}

/// Undoes whatever the run got to, best effort, each step bounded.
async fn cleanup(config: &Config, state: &mut State) {
    let limit = Duration::from_secs(5);
    if let Some(mut client) = state.client.take() {
        if !state.shut_down {
            step!("cleanup: the run did not finish; killing and deleting the task");
            if state.created && !state.deleted {
                let kill = KillRequest {
                    id: config.id.clone(),
                    exec_id: String::new(),
                    signal: 9,
                    all: true,
                };
                let _ = tokio::time::timeout(limit, client.kill(request(config, kill))).await;
                let delete = DeleteRequest {
                    id: config.id.clone(),
                    exec_id: String::new(),
                };
                let _ = tokio::time::timeout(limit, client.delete(request(config, delete))).await;
            }
            if let Err(e) = shutdown_shim(config, &mut client, limit).await {
                step!("cleanup: {e}");
            }
        }
    }
    // Any shim of this run still alive (found by its unique id), and the
    // container if runc still knows it.
    for pid in leftover_shims(config) {
        step!("cleanup: killing leftover shim pid {pid}");
        let _ = run_command(
            tokio::process::Command::new("kill").args(["-KILL", &pid.to_string()]),
            limit,
        )
        .await;
    }
    let runc_root = Path::new(RUNC_ROOT).join(&config.namespace);
    if runc_root.join(&config.id).exists() {
        step!("cleanup: runc delete --force {}", config.id);
        let mut runc = tokio::process::Command::new("runc");
        runc.arg("--root")
            .arg(&runc_root)
            .args(["delete", "--force", &config.id]);
        runc.env("PATH", crate::shim_path_env());
        if let Err(e) = run_command(&mut runc, limit).await {
            step!("cleanup: {e}");
        }
    }
    // The namespace's runc root, if this run left it empty.
    let _ = std::fs::remove_dir(&runc_root);
    if let Some(socket) = state.shim_socket.take() {
        if socket.exists() {
            let _ = std::fs::remove_file(&socket);
        }
    }
    if let Some((shutdown, server)) = state.events_server.take() {
        if tokio::time::timeout(limit, shutdown.shutdown())
            .await
            .is_err()
        {
            step!("cleanup: events server did not shut down within {limit:?}");
        }
        server.abort();
        let _ = server.await;
    }
    if let Some(reader) = state.log_reader.take() {
        reader.abort();
        let _ = reader.await;
    }
}

/// A call's request: the namespace in the metadata, the step's deadline.
fn request<T>(config: &Config, message: T) -> Request<T> {
    let mut req = Request::new(message);
    containerd::set_namespace(&mut req, config.namespace.clone());
    req.set_timeout(config.step_timeout);
    req
}

fn context(what: impl Display, error: impl Display) -> Error {
    format!("{what}: {error}").into()
}

/// Awaits `fut` for at most `limit`.
async fn within<T, E: Display>(
    what: &str,
    limit: Duration,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, Error> {
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => result.map_err(|e| context(what, e)),
        Err(_) => Err(format!("{what}: nothing within {limit:?}").into()),
    }
}

/// Runs a command to completion within `limit` (killed on timeout),
/// returning its stdout, or an error with its stderr.
async fn run_command(
    command: &mut tokio::process::Command,
    limit: Duration,
) -> Result<String, Error> {
    let what = format!("{:?}", command.as_std());
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().map_err(|e| context(&what, e))?;
    let output = within(&what, limit, child.wait_with_output()).await?;
    if !output.status.success() {
        return Err(format!(
            "{what}: {}: {}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim(),
            String::from_utf8_lossy(&output.stdout).trim()
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Creates the OCI bundle: `runc spec`, a rootfs holding only busybox,
/// the command set to echo the message.
async fn make_bundle(config: &Config, bundle: &Path, limit: Duration) -> Result<(), Error> {
    let bin = bundle.join("rootfs/bin");
    tokio::fs::create_dir_all(&bin).await?;
    tokio::fs::copy(BUSYBOX, bin.join("busybox"))
        .await
        .map_err(|e| context(format!("copy {BUSYBOX}"), e))?;
    let mut spec = tokio::process::Command::new("runc");
    spec.arg("spec")
        .arg("--bundle")
        .arg(bundle)
        .env("PATH", crate::shim_path_env());
    run_command(&mut spec, limit).await?;

    let path = bundle.join("config.json");
    let mut spec: serde_json::Value = serde_json::from_slice(&tokio::fs::read(&path).await?)?;
    let process = spec
        .get_mut("process")
        .and_then(|p| p.as_object_mut())
        .ok_or("config.json: no process object")?;
    process.insert("terminal".to_owned(), false.into());
    let args = config
        .command
        .clone()
        .unwrap_or_else(|| vec!["/bin/busybox".into(), "echo".into(), config.message.clone()]);
    process.insert("args".to_owned(), args.into());
    tokio::fs::write(&path, serde_json::to_vec_pretty(&spec)?).await?;
    Ok(())
}

/// Whether `pid` is running (not gone, not a zombie nobody reaped).
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesized command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !matches!(rest.trim_start().chars().next(), Some('Z' | 'X'))),
        Err(_) => false,
    }
}

/// The live shim processes of the run `config` describes:
/// `containerd-shim-runc-v2` with its namespace and (unique) id on the
/// command line. Empty after [`run`] returns, unless cleanup failed.
pub fn leftover_shims(config: &Config) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
            let has = |flag: &str, value: &str| {
                args.windows(2)
                    .any(|w| w[0] == flag.as_bytes() && w[1] == value.as_bytes())
            };
            args.first()
                .is_some_and(|a| a.ends_with(SHIM_BINARY.as_bytes()))
                && has("-id", &config.id)
                && has("-namespace", &config.namespace)
                && process_alive(pid)
        })
        .collect()
}
