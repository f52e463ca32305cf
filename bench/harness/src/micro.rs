//! wren's criterion micro-benchmarks (codec, envelopes, routing) and their
//! instruction counts.
//!
//! The bench programs (`crates/*/benches/*.rs`) run as criterion benches, and
//! also, with `WREN_ICOUNT=list`, print their cases' names, and with
//! `WREN_ICOUNT=<case>:<n>`, run one case `n` times and exit. Under callgrind,
//! (Ir(n2) − Ir(n1)) ÷ (n2 − n1) is the case's instruction count per
//! operation.

use std::path::PathBuf;
use std::process::Command;

use crate::Result;
use crate::callgrind::total_ir;
use crate::process::check;
use crate::workloads::thousands;

/// The packages with micro-benchmarks.
const PACKAGES: [&str; 2] = ["wren-codec", "wren-server"];

fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

fn bench_command() -> Command {
    let mut cmd = Command::new(cargo());
    cmd.current_dir(crate::peers::repo_root())
        .args(["bench", "--locked"]);
    for p in PACKAGES {
        cmd.args(["-p", p]);
    }
    cmd.args(["--bench", "codec", "--bench", "routes"]);
    cmd
}

/// The bench executables, built.
fn executables() -> Result<Vec<PathBuf>> {
    let out = bench_command()
        .args(["--no-run", "--message-format=json"])
        .stderr(std::process::Stdio::inherit())
        .output()?;
    if !out.status.success() {
        return Err(format!("building the micro-benchmarks failed ({})", out.status).into());
    }
    let mut exes = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let is_bench = msg["target"]["kind"]
            .as_array()
            .is_some_and(|k| k.iter().any(|k| k == "bench"));
        if let (true, Some(exe)) = (is_bench, msg["executable"].as_str()) {
            exes.push(PathBuf::from(exe));
        }
    }
    Ok(exes)
}

/// Runs criterion (unless `icount_only`), then prints each case's
/// instructions per operation. `filter`: only cases whose name contains it.
pub fn run(icount_only: bool, filter: Option<&str>, dir: &std::path::Path) -> Result {
    if !icount_only {
        let mut cmd = bench_command();
        if let Some(f) = filter {
            cmd.args(["--", f]);
        }
        check(&mut cmd, "cargo bench (criterion)")?;
    }
    std::fs::create_dir_all(dir)?;
    let (n1, n2) = (1_000u64, 11_000u64);
    println!(
        "\ninstructions per operation (callgrind Ir, differential over {} runs)\n",
        n2 - n1
    );
    println!("| case | Ir/op |");
    println!("|---|--:|");
    for exe in executables()? {
        let list = Command::new(&exe).env("WREN_ICOUNT", "list").output()?;
        if !list.status.success() {
            return Err(format!("{} WREN_ICOUNT=list failed", exe.display()).into());
        }
        for case in String::from_utf8_lossy(&list.stdout).lines() {
            if filter.is_some_and(|f| !case.contains(f)) {
                continue;
            }
            let mut ir = [0u64; 2];
            for (slot, n) in ir.iter_mut().zip([n1, n2]) {
                let out = dir.join("micro.out");
                check(
                    Command::new("valgrind")
                        .args(["--tool=callgrind", "--quiet", "--dump-instr=no"])
                        .arg(format!("--callgrind-out-file={}", out.display()))
                        .arg(&exe)
                        .env("WREN_ICOUNT", format!("{case}:{n}")),
                    &format!("callgrind of {case}"),
                )?;
                *slot = total_ir(&out)?;
            }
            let per = ir[1].saturating_sub(ir[0]) as f64 / (n2 - n1) as f64;
            println!("| {case} | {} |", thousands(per));
        }
    }
    Ok(())
}
