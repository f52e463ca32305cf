//! `Metadata`: lowercased keys, ordered values, and the wire form.

use wren_codec::{Metadata, proto::KeyValue};

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: value.into(),
    }
}

fn pairs(md: &Metadata) -> Vec<(&str, &str)> {
    md.iter().collect()
}

#[test]
fn new_is_empty() {
    let md = Metadata::new();
    assert!(md.is_empty());
    assert_eq!(md.len(), 0);
    assert_eq!(md.get("x"), None);
    assert!(!md.contains_key("x"));
    assert!(md.to_key_values().is_empty());
    assert_eq!(md, Metadata::default());
}

#[test]
fn insert_lowercases_the_key() {
    let mut md = Metadata::new();
    md.insert("Containerd-Namespace-TTRPC", "default");
    assert_eq!(pairs(&md), [("containerd-namespace-ttrpc", "default")]);
    assert_eq!(md.get("containerd-namespace-ttrpc"), Some("default"));
    assert_eq!(md.get("CONTAINERD-NAMESPACE-TTRPC"), Some("default"));
    assert!(md.contains_key("Containerd-Namespace-Ttrpc"));
}

#[test]
fn append_lowercases_the_key() {
    let mut md = Metadata::new();
    md.append("Trace-ID", "a");
    md.append("trace-id", "b");
    md.append("TRACE-ID", "c");
    assert_eq!(
        pairs(&md),
        [("trace-id", "a"), ("trace-id", "b"), ("trace-id", "c")]
    );
}

#[test]
fn from_key_values_lowercases_keys() {
    // Go keeps received keys as they are; wren lowercases them so lookups
    // behave like Go's MD.Get.
    let md = Metadata::from_key_values(vec![kv("Foo", "a"), kv("foo", "b"), kv("BAR", "c")]);
    assert_eq!(pairs(&md), [("foo", "a"), ("foo", "b"), ("bar", "c")]);
    assert_eq!(md.get_all("foo").collect::<Vec<_>>(), ["a", "b"]);
}

#[test]
fn collecting_appends_and_lowercases() {
    let md: Metadata = [("A", "1"), ("b", "2"), ("a", "3")].into_iter().collect();
    assert_eq!(pairs(&md), [("a", "1"), ("b", "2"), ("a", "3")]);
    let mut md = md;
    md.extend([("B".to_string(), "4".to_string())]);
    assert_eq!(md.get_all("b").collect::<Vec<_>>(), ["2", "4"]);
}

#[test]
fn insert_replaces_every_value() {
    let mut md = Metadata::new();
    md.append("k", "1");
    md.append("other", "x");
    md.append("K", "2");
    md.insert("K", "only");
    assert_eq!(md.get_all("k").collect::<Vec<_>>(), ["only"]);
    assert_eq!(md.get("k"), Some("only"));
    assert_eq!(md.len(), 2);
    assert_eq!(md.get("other"), Some("x"));

    md.insert("k", "again");
    assert_eq!(md.get_all("k").collect::<Vec<_>>(), ["again"]);
    assert_eq!(md.len(), 2);
}

#[test]
fn append_keeps_order_and_get_returns_the_first() {
    let mut md = Metadata::new();
    md.append("a", "1");
    md.append("b", "x");
    md.append("a", "2");
    md.append("a", "3");
    assert_eq!(md.len(), 4);
    assert_eq!(md.get("a"), Some("1"));
    assert_eq!(md.get_all("a").collect::<Vec<_>>(), ["1", "2", "3"]);
    assert_eq!(md.get_all("A").collect::<Vec<_>>(), ["1", "2", "3"]);
    assert_eq!(md.get_all("b").collect::<Vec<_>>(), ["x"]);
    assert_eq!(md.get_all("missing").count(), 0);
}

#[test]
fn values_keep_their_case() {
    let mut md = Metadata::new();
    md.insert("k", "MiXeD Value");
    assert_eq!(md.get("k"), Some("MiXeD Value"));
}

#[test]
fn remove_drops_every_value_of_a_key() {
    let mut md = Metadata::new();
    md.append("a", "1");
    md.append("b", "2");
    md.append("a", "3");
    assert!(md.remove("A"));
    assert_eq!(pairs(&md), [("b", "2")]);
    assert!(!md.contains_key("a"));
    assert!(!md.remove("a"));
    assert!(md.remove("b"));
    assert!(md.is_empty());
}

#[test]
fn to_key_values_has_one_entry_per_value_in_order() {
    let mut md = Metadata::new();
    md.append("key-a", "v1");
    md.append("Key-B", "w");
    md.append("key-a", "v2");
    md.append("key-a", "");
    assert_eq!(
        md.to_key_values(),
        [
            kv("key-a", "v1"),
            kv("key-b", "w"),
            kv("key-a", "v2"),
            kv("key-a", ""),
        ]
    );
    // And back again.
    assert_eq!(Metadata::from_key_values(md.to_key_values()), md);
}

#[test]
fn equality_depends_on_order() {
    let a: Metadata = [("x", "1"), ("y", "2")].into_iter().collect();
    let b: Metadata = [("y", "2"), ("x", "1")].into_iter().collect();
    assert_ne!(a, b);
    let c: Metadata = [("X", "1"), ("Y", "2")].into_iter().collect();
    assert_eq!(a, c);
}

#[test]
fn debug_lists_pairs() {
    let md: Metadata = [("k", "v")].into_iter().collect();
    assert_eq!(format!("{md:?}"), r#"[("k", "v")]"#);
}

#[test]
fn non_ascii_keys_are_lowercased_like_go() {
    let mut md = Metadata::new();
    md.append("Äpfel-Key", "1");
    assert_eq!(md.to_key_values()[0].key, "äpfel-key");
    assert_eq!(md.get("ÄPFEL-KEY"), Some("1"));
    assert_eq!(md.get("äpfel-key"), Some("1"));
    assert!(md.remove("ÄpFeL-kEy"));
    assert!(md.is_empty());
}
