//! The facade names its re-exports one by one (a glob would also bring the
//! layers' internals and duplicate pages). This checks that nothing the
//! server and client crates export for users is left out of it.

use std::collections::BTreeSet;
use std::path::Path;

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The names a crate root re-exports with `pub use ...;`.
fn pub_use_names(source: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = source;
    while let Some(start) = rest.find("\npub use ") {
        let tail = &rest[start + "\npub use ".len()..];
        let end = tail.find(';').expect("a `pub use` ends with `;`");
        let statement = &tail[..end];
        let list = match statement.find('{') {
            Some(open) => &statement[open + 1..statement.rfind('}').expect("closing brace")],
            None => statement.rsplit("::").next().unwrap_or(statement),
        };
        for name in list.split(',') {
            let name = name.split(" as ").last().unwrap_or(name).trim();
            if !name.is_empty() {
                names.insert(name.to_owned());
            }
        }
        rest = &tail[end..];
    }
    names
}

/// Whether `name` occurs in `source` as a whole word.
fn mentions(source: &str, name: &str) -> bool {
    source.match_indices(name).any(|(at, _)| {
        let word = |c: char| c.is_alphanumeric() || c == '_';
        let before = source[..at].chars().next_back().is_some_and(word);
        let after = source[at + name.len()..].chars().next().is_some_and(word);
        !before && !after
    })
}

#[test]
fn the_facade_reexports_every_server_and_client_name() {
    let facade = read("src/lib.rs");
    for layer in ["../wren-server/src/lib.rs", "../wren-client/src/lib.rs"] {
        let names = pub_use_names(&read(layer));
        assert!(names.contains("Body"), "{layer}: parsed {names:?}");
        let missing: Vec<&String> = names.iter().filter(|n| !mentions(&facade, n)).collect();
        assert!(
            missing.is_empty(),
            "{layer} exports {missing:?}, which wren-rpc's lib.rs does not re-export"
        );
    }
}
