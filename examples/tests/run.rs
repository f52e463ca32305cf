//! Runs each example to completion: they assert what they print.

use std::process::Command;

fn run_example(name: &str) {
    let output = Command::new(env!("CARGO"))
        .args([
            "run",
            "--quiet",
            "--package",
            "wren-examples",
            "--example",
            name,
        ])
        .output()
        .expect("run cargo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "example {name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!stdout.is_empty(), "example {name} printed nothing");
}

#[test]
fn quickstart() {
    run_example("quickstart");
}

#[test]
fn middleware() {
    run_example("middleware");
}
