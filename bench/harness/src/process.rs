//! Starting peer processes, reading their result lines and their memory.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::Result;

/// How a process is started: pinned to one CPU (`taskset -c`), under
/// callgrind, or as it is.
#[derive(Clone, Debug, Default)]
pub struct Launch {
    /// Pin every thread of the process to this CPU.
    pub cpu: Option<usize>,
    /// Run it under `valgrind --tool=callgrind`, writing this file.
    pub callgrind_out: Option<PathBuf>,
}

impl Launch {
    /// The command for `program args` launched this way.
    pub fn command(&self, program: &Path, args: &[String]) -> Command {
        let mut argv: Vec<String> = Vec::new();
        if let Some(cpu) = self.cpu {
            argv.extend(["taskset".into(), "-c".into(), cpu.to_string()]);
        }
        if let Some(out) = &self.callgrind_out {
            argv.extend([
                "valgrind".into(),
                "--tool=callgrind".into(),
                "--quiet".into(),
                "--dump-instr=no".into(),
                format!("--callgrind-out-file={}", out.display()),
            ]);
        }
        argv.push(program.display().to_string());
        argv.extend(args.iter().cloned());
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]);
        cmd
    }
}

/// Reads `child`'s stdout line by line on a thread; lines arrive on the
/// returned channel.
fn lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Waits for a line starting with `prefix`; the line.
fn wait_line(
    rx: &mpsc::Receiver<String>,
    prefix: &str,
    timeout: Duration,
    what: &str,
) -> Result<String> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.starts_with(prefix) => return Ok(line),
            Ok(other) => eprintln!("{what}: {other}"),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(format!("{what}: no `{prefix}` line within {timeout:?}").into());
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(format!("{what}: exited before printing `{prefix}`").into());
            }
        }
    }
}

/// Waits for `child` to exit, killing it after `timeout`.
fn wait_exit(child: &mut Child, timeout: Duration, what: &str) -> Result {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return if status.success() {
                Ok(())
            } else {
                Err(format!("{what}: exited with {status}").into())
            };
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{what}: still running after {timeout:?}; killed").into());
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// A process that reports on stdout, is stopped by closing its stdin, and
/// is killed if dropped while still running.
#[derive(Debug)]
struct Piped {
    child: Child,
    stdin: Option<ChildStdin>,
    name: String,
}

impl Piped {
    /// Starts `cmd` and waits for its line starting with `ready`.
    fn start(mut cmd: Command, name: &str, ready: &str, timeout: Duration) -> Result<Piped> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("{name}: cannot start {cmd:?}: {e}"))?;
        let stdin = child.stdin.take();
        let mut piped = Piped {
            child,
            stdin,
            name: name.to_owned(),
        };
        let rx = lines(&mut piped.child);
        wait_line(&rx, ready, timeout, name)?;
        Ok(piped)
    }

    /// Closes stdin (the process exits) and waits up to `timeout`.
    fn close(mut self, timeout: Duration) -> Result {
        drop(self.stdin.take());
        let name = self.name.clone();
        wait_exit(&mut self.child, timeout, &name)
    }
}

impl Drop for Piped {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A server process, stopped (stdin closed) by [`Server::stop`] or killed
/// when dropped.
#[derive(Debug)]
pub struct Server(Piped);

impl Server {
    /// Starts `cmd` and waits for its `ready` line.
    pub fn start(cmd: Command, name: &str, timeout: Duration) -> Result<Server> {
        Piped::start(cmd, name, "ready", timeout).map(Server)
    }

    /// The server process's memory, now. Under `taskset` the pid is the
    /// server's own (taskset execs it); under valgrind it is valgrind's,
    /// which is the server too.
    pub fn memory(&self) -> Result<Memory> {
        Memory::of(self.0.child.id())
    }

    /// Closes the server's stdin (it exits) and waits up to `timeout`.
    pub fn stop(self, timeout: Duration) -> Result {
        self.0.close(timeout)
    }
}

/// A client's `RESULT` line: its fields.
#[derive(Clone, Debug, Default)]
pub struct Report(pub Vec<(String, f64)>);

impl Report {
    fn parse(line: &str) -> Result<Report> {
        let mut fields = Vec::new();
        for field in line.split_whitespace().skip(1) {
            let (key, value) = field
                .split_once('=')
                .ok_or_else(|| format!("bad result field {field:?}"))?;
            let value: f64 = value
                .parse()
                .map_err(|e| format!("bad value in {field:?}: {e}"))?;
            fields.push((key.to_owned(), value));
        }
        Ok(Report(fields))
    }

    /// The field `key`.
    pub fn get(&self, key: &str) -> Result<f64> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| *v)
            .ok_or_else(|| format!("the result has no `{key}`: {:?}", self.0).into())
    }
}

/// Runs a client to completion; its `RESULT` line.
pub fn run_client(mut cmd: Command, name: &str, timeout: Duration) -> Result<Report> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("{name}: cannot start {cmd:?}: {e}"))?;
    let rx = lines(&mut child);
    let line = wait_line(&rx, "RESULT", timeout, name);
    let line = match line {
        Ok(line) => line,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
    };
    wait_exit(&mut child, Duration::from_secs(60), name)?;
    Report::parse(&line)
}

/// A client holding connections open until [`Holder::release`].
#[derive(Debug)]
pub struct Holder(Piped);

impl Holder {
    /// Starts a `--mode hold` client and waits for its `HELD` line.
    pub fn start(cmd: Command, name: &str, timeout: Duration) -> Result<Holder> {
        Piped::start(cmd, name, "HELD", timeout).map(Holder)
    }

    /// Lets the connections go: closes stdin and waits for the exit.
    pub fn release(self) -> Result {
        self.0.close(Duration::from_secs(60))
    }
}

/// A process's memory from `/proc/PID/status`, in KiB.
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory {
    /// Peak resident set size (`VmHWM`).
    pub peak_kib: f64,
    /// Anonymous resident memory now (`RssAnon`): heap, stacks.
    pub anon_kib: f64,
}

impl Memory {
    fn of(pid: u32) -> Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let field = |name: &str| -> Result<f64> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
                .ok_or_else(|| format!("/proc/{pid}/status has no {name}").into())
        };
        Ok(Memory {
            peak_kib: field("VmHWM:")?,
            anon_kib: field("RssAnon:")?,
        })
    }
}

/// Runs `cmd` with inherited output; fails with `what` unless it succeeds.
pub fn check(cmd: &mut Command, what: &str) -> Result {
    let status = cmd
        .status()
        .map_err(|e| format!("{what}: cannot run {:?}: {e}", cmd.get_program()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status}): {cmd:?}").into())
    }
}

/// The trimmed stdout of `cmd`, or `None` if it cannot run or fails.
pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
