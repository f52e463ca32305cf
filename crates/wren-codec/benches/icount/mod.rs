//! The entry point of wren's micro-benchmarks: criterion, or an instruction
//! count run.
//!
//! A bench program lists its cases and calls [`main`]. Without `WREN_ICOUNT`
//! it is an ordinary criterion bench. With `WREN_ICOUNT=list` it prints the
//! cases' names; with `WREN_ICOUNT=<case>:<n>` it runs that case `n` times and
//! exits, for `cargo xtask bench micro` to count instructions under callgrind
//! (the difference of two such runs, divided by the difference in `n`, is the
//! count per operation, with start-up cancelled out).
//!
//! Shared by the bench programs of several crates (included by path).

use criterion::Criterion;

/// One micro-benchmark: a name (`group/case`) and one operation.
pub(crate) struct Case {
    /// `group/case`, as criterion shows it.
    pub(crate) name: &'static str,
    /// One operation; its result is passed through `black_box`.
    pub(crate) run: Box<dyn FnMut()>,
}

impl Case {
    /// A case running `op` once per iteration.
    pub(crate) fn new<T>(name: &'static str, mut op: impl FnMut() -> T + 'static) -> Case {
        Case {
            name,
            run: Box::new(move || {
                std::hint::black_box(op());
            }),
        }
    }
}

/// Runs `cases` as `WREN_ICOUNT` says, or under criterion.
pub(crate) fn main(cases: Vec<Case>) {
    if let Ok(spec) = std::env::var("WREN_ICOUNT") {
        icount(cases, &spec);
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    for mut case in cases {
        c.bench_function(case.name, |b| b.iter(&mut case.run));
    }
    c.final_summary();
}

fn icount(cases: Vec<Case>, spec: &str) {
    if spec == "list" {
        for case in &cases {
            println!("{}", case.name);
        }
        return;
    }
    let (name, n) = spec
        .rsplit_once(':')
        .and_then(|(name, n)| Some((name, n.parse::<u64>().ok()?)))
        .unwrap_or_else(|| panic!("WREN_ICOUNT must be `list` or `<case>:<n>`, not {spec:?}"));
    let mut case = cases
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case named {name:?}"));
    for _ in 0..n {
        (case.run)();
    }
}
