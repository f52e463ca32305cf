//! What a run measured: every sample, the run's circumstances, medians.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::Result;
use crate::peers::Peer;
use crate::workloads::Workload;

/// One measurement of one peer in one round.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sample {
    /// The workload's key (`a`, `b1`, …) or a curve's point (`payload:4096`).
    pub key: String,
    /// Who was measured.
    pub peer: Peer,
    /// The round, from 0.
    pub round: usize,
    /// The number, in the workload's unit (µs, rps, msg/s, MiB, KiB).
    pub value: f64,
    /// p99 latency in µs (latency workloads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_us: Option<f64>,
    /// The server's peak RSS (VmHWM) in KiB, read just before it stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_peak_kib: Option<f64>,
}

/// When, where and with what a run was made.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Meta {
    /// UTC date and time.
    pub date: String,
    /// The CPU model, CPU count and memory.
    pub machine: String,
    /// The kernel.
    pub kernel: String,
    /// wren's commit (with `-dirty` for uncommitted changes).
    pub commit: String,
    /// Peer implementations and their versions.
    pub versions: Vec<(String, String)>,
    /// Rounds of the table's workloads.
    pub rounds: usize,
    /// Whether this was a `--quick` run.
    pub quick: bool,
    /// The load average when the run started.
    pub load_before: String,
    /// Wall time of the measuring, seconds.
    pub seconds: f64,
}

/// A whole run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Results {
    /// Its circumstances.
    pub meta: Meta,
    /// Every sample, in the order taken.
    pub samples: Vec<Sample>,
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

impl Results {
    /// Every value of `peer` at `key`.
    pub fn values(&self, key: &str, peer: Peer) -> Vec<f64> {
        self.samples
            .iter()
            .filter(|s| s.key == key && s.peer == peer)
            .map(|s| s.value)
            .collect()
    }

    /// The median of `peer` at `key`.
    pub fn median(&self, key: &str, peer: Peer) -> Option<f64> {
        median(&self.values(key, peer))
    }

    /// The median p99 latency of `peer` at `key`.
    pub fn median_p99(&self, key: &str, peer: Peer) -> Option<f64> {
        let v: Vec<f64> = self
            .samples
            .iter()
            .filter(|s| s.key == key && s.peer == peer)
            .filter_map(|s| s.p99_us)
            .collect();
        median(&v)
    }

    /// Adds (h): per round and peer, the largest server peak RSS over the
    /// servers of (a)–(e), in MiB.
    pub fn derive_peak_rss(&mut self) {
        let sources = [
            Workload::A,
            Workload::B,
            Workload::B1,
            Workload::C,
            Workload::D,
            Workload::E,
        ]
        .map(Workload::key);
        let mut derived: Vec<Sample> = Vec::new();
        for s in &self.samples {
            let (Some(peak), true) = (s.server_peak_kib, sources.contains(&s.key.as_str())) else {
                continue;
            };
            let mib = peak / 1024.0;
            match derived
                .iter_mut()
                .find(|d| d.peer == s.peer && d.round == s.round)
            {
                Some(d) => d.value = d.value.max(mib),
                None => derived.push(Sample {
                    key: Workload::H.key().into(),
                    peer: s.peer,
                    round: s.round,
                    value: mib,
                    p99_us: None,
                    server_peak_kib: None,
                }),
            }
        }
        self.samples.retain(|s| s.key != Workload::H.key());
        self.samples.extend(derived);
    }

    /// Writes the results as JSON.
    pub fn save(&self, path: &Path) -> Result {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, serde_json::to_string_pretty(self)? + "\n")?;
        Ok(())
    }

    /// Reads results written by [`Results::save`].
    pub fn load(path: &Path) -> Result<Results> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Ok(serde_json::from_str(&text)?)
    }
}
