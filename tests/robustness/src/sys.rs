//! What a process holds, read from `/proc` (Linux).

use std::fs;
use std::io;

/// Open file descriptors of this process (entries of `/proc/self/fd`,
/// less the one used to list them).
pub fn open_fds() -> io::Result<usize> {
    Ok(fs::read_dir("/proc/self/fd")?.count().saturating_sub(1))
}

/// Open sockets of this process: the fds of `/proc/self/fd` that link to
/// `socket:[…]`. Unlike [`open_fds`], not disturbed by tokio runtimes
/// starting or stopping elsewhere in the process (their epoll and eventfd
/// descriptors are not sockets).
pub fn open_sockets() -> io::Result<usize> {
    let mut sockets = 0;
    for entry in fs::read_dir("/proc/self/fd")? {
        // An fd closed while we look is simply not counted.
        if let Ok(target) = fs::read_link(entry?.path()) {
            sockets += usize::from(target.to_string_lossy().starts_with("socket:"));
        }
    }
    Ok(sockets)
}

/// Memory figures of one process, in KiB, from `/proc/PID/status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    /// Resident set size (`VmRSS`).
    pub rss_kib: u64,
    /// Resident anonymous memory (`RssAnon`): the heap and stacks, without
    /// the mapped binary.
    pub anon_kib: u64,
    /// Peak resident set size (`VmHWM`).
    pub peak_kib: u64,
}

impl Memory {
    /// This process's figures.
    pub fn of_self() -> io::Result<Memory> {
        Memory::parse(&fs::read_to_string("/proc/self/status")?)
    }

    /// Process `pid`'s figures.
    pub fn of(pid: u32) -> io::Result<Memory> {
        Memory::parse(&fs::read_to_string(format!("/proc/{pid}/status"))?)
    }

    fn parse(status: &str) -> io::Result<Memory> {
        let field = |name: &str| -> io::Result<u64> {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
                .ok_or_else(|| io::Error::other(format!("no {name} in /proc status")))
        };
        Ok(Memory {
            rss_kib: field("VmRSS:")?,
            anon_kib: field("RssAnon:")?,
            peak_kib: field("VmHWM:")?,
        })
    }
}
