//! `cargo xtask fuzz [--seconds N] [--target NAME] [--update-corpus]`: runs
//! each cargo-fuzz target in `fuzz/` for a bounded time and reports the
//! executions, the time and the crashes libFuzzer found.
//!
//! Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
//! Each target starts from the committed corpus (`fuzz/corpus/<target>`,
//! read only) and writes what it finds to `fuzz/target/corpus/<target>`;
//! `--update-corpus` afterwards merges both into a minimal corpus and
//! replaces the committed one with it. A crash leaves its input in
//! `fuzz/artifacts/<target>/` and fails the command.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{Result, project_root};

const TARGETS: [&str; 4] = [
    "frame_decoder",
    "request_envelope",
    "server_connection",
    "client_connection",
];

/// libFuzzer options for every run: a slow input is a hang after 10 s, a
/// single allocation over 256 MiB is a crash (no allocation sized by an
/// untrusted length), and inputs stay small (they are structured).
const LIBFUZZER_OPTIONS: [&str; 3] = ["-timeout=10", "-malloc_limit_mb=256", "-max_len=4096"];

struct Options {
    seconds: u64,
    targets: Vec<String>,
    update_corpus: bool,
}

/// What one target's run found.
struct Outcome {
    target: String,
    executions: u64,
    seconds: u64,
    crashes: usize,
    corpus: usize,
}

pub(crate) fn run(args: &[String]) -> Result {
    let options = parse(args)?;
    let root = project_root();
    let fuzz_dir = root.join("fuzz");
    let mut outcomes = Vec::new();
    for target in &options.targets {
        outcomes.push(fuzz(&root, &fuzz_dir, target, options.seconds)?);
        if options.update_corpus {
            update_corpus(&root, &fuzz_dir, target)?;
        }
    }
    println!();
    println!("| target | executions | seconds | crashes | corpus inputs |");
    println!("|---|---:|---:|---:|---:|");
    for o in &outcomes {
        println!(
            "| {} | {} | {} | {} | {} |",
            o.target, o.executions, o.seconds, o.crashes, o.corpus
        );
    }
    let crashes: usize = outcomes.iter().map(|o| o.crashes).sum();
    if crashes > 0 {
        return Err(format!("{crashes} crash(es); inputs are in fuzz/artifacts/").into());
    }
    Ok(())
}

fn parse(args: &[String]) -> Result<Options> {
    let mut options = Options {
        seconds: 60,
        targets: TARGETS.iter().map(|t| t.to_string()).collect(),
        update_corpus: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                let value = args.next().ok_or("--seconds needs a value")?;
                options.seconds = value
                    .parse()
                    .map_err(|_| format!("--seconds: not a number: {value}"))?;
            }
            "--target" => {
                let value = args.next().ok_or("--target needs a value")?;
                if !TARGETS.contains(&value.as_str()) {
                    return Err(format!("no fuzz target {value}; targets: {TARGETS:?}").into());
                }
                options.targets = vec![value.clone()];
            }
            "--update-corpus" => options.update_corpus = true,
            other => return Err(format!("fuzz: unknown argument {other}").into()),
        }
    }
    Ok(options)
}

/// Runs one target for `seconds` and reads libFuzzer's summary.
fn fuzz(root: &Path, fuzz_dir: &Path, target: &str, seconds: u64) -> Result<Outcome> {
    let committed = fuzz_dir.join("corpus").join(target);
    let scratch = scratch_corpus(fuzz_dir, target);
    let artifacts = fuzz_dir.join("artifacts").join(target);
    fs::create_dir_all(&committed)?;
    fs::create_dir_all(&scratch)?;
    let crashes_before = count_files(&artifacts);

    eprintln!("xtask: fuzzing {target} for {seconds} s");
    let started = std::time::Instant::now();
    let output = cargo_fuzz(root, target)
        .arg(&scratch)
        .arg(&committed)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .args(LIBFUZZER_OPTIONS)
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| {
            format!("could not run cargo +nightly fuzz: {e} (cargo install cargo-fuzz)")
        })?;
    let log = String::from_utf8_lossy(&output.stderr);
    let log_path = fuzz_dir.join("target").join(format!("{target}.log"));
    fs::write(&log_path, log.as_bytes())?;

    let crashes = count_files(&artifacts).saturating_sub(crashes_before);
    // A run cut short by a crash prints no summary: count its last status
    // line's executions and the wall-clock time instead.
    let (executions, run_seconds) = done_line(&log).unwrap_or_else(|| {
        let runs = last_status_line(&log).unwrap_or(0);
        (runs, started.elapsed().as_secs())
    });
    if !output.status.success() && crashes == 0 {
        // Not a finding but a failure to run (a build error, a missing tool).
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        return Err(format!(
            "fuzzing {target} failed ({}); log: {}\n{}",
            output.status,
            log_path.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
        .into());
    }
    Ok(Outcome {
        target: target.to_owned(),
        executions,
        seconds: run_seconds,
        crashes: crashes.max(usize::from(!output.status.success())),
        corpus: count_files(&committed) + count_files(&scratch),
    })
}

/// Merges the committed and the scratch corpus into a minimal one, which
/// replaces the committed corpus.
fn update_corpus(root: &Path, fuzz_dir: &Path, target: &str) -> Result {
    let committed = fuzz_dir.join("corpus").join(target);
    let merged = fuzz_dir.join("target").join("merged").join(target);
    let _ = fs::remove_dir_all(&merged);
    fs::create_dir_all(&merged)?;
    eprintln!("xtask: minimizing the corpus of {target}");
    let status = cargo_fuzz(root, target)
        .arg(&merged)
        .arg(&committed)
        .arg(scratch_corpus(fuzz_dir, target))
        .arg("--")
        .arg("-merge=1")
        .args(LIBFUZZER_OPTIONS)
        .stderr(Stdio::null())
        .status()?;
    if !status.success() {
        return Err(format!("merging the corpus of {target} failed ({status})").into());
    }
    fs::remove_dir_all(&committed)?;
    fs::rename(&merged, &committed)?;
    eprintln!(
        "xtask: fuzz/corpus/{target} now holds {} inputs",
        count_files(&committed)
    );
    Ok(())
}

/// `cargo +nightly fuzz run -O TARGET`, from the workspace root.
fn cargo_fuzz(root: &Path, target: &str) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root).args([
        "+nightly",
        "fuzz",
        "run",
        "--fuzz-dir",
        "fuzz",
        "-O",
        target,
    ]);
    cmd
}

fn scratch_corpus(fuzz_dir: &Path, target: &str) -> PathBuf {
    fuzz_dir.join("target").join("corpus").join(target)
}

fn count_files(dir: &Path) -> usize {
    fs::read_dir(dir).map_or(0, |entries| entries.filter_map(|e| e.ok()).count())
}

/// Executions and seconds from libFuzzer's last line, `Done N runs in S second(s)`.
fn done_line(log: &str) -> Option<(u64, u64)> {
    let line = log.lines().rev().find(|l| l.starts_with("Done "))?;
    let mut words = line.split_whitespace().skip(1);
    let runs = words.next()?.parse().ok()?;
    let seconds = words.nth(2)?.parse().ok()?;
    Some((runs, seconds))
}

/// Executions from libFuzzer's last status line, `#N\t...`.
fn last_status_line(log: &str) -> Option<u64> {
    let line = log.lines().rev().find(|l| l.starts_with('#'))?;
    line[1..].split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::done_line;

    #[test]
    fn reads_libfuzzers_summary() {
        let log = "#1024\tpulse  cov: 10\nDone 420229 runs in 26 second(s)\n";
        assert_eq!(done_line(log), Some((420_229, 26)));
        assert_eq!(done_line("==1== ERROR: libFuzzer: deadly signal"), None);
        let cut = "#512\tNEW    cov: 3\n#900\tREDUCE cov: 4\n==1== ERROR: libFuzzer";
        assert_eq!(super::last_status_line(cut), Some(900));
    }
}
