//! [`Metadata`]: the key/value pairs a request carries.

use std::fmt;

use crate::proto::KeyValue;

/// Request metadata: an ordered multimap of string keys to string values.
///
/// On the wire each value is one `ttrpc.KeyValue`; the values of one key keep
/// their order. Keys are lowercased on the way in, whether set locally or
/// received, because Go peers look keys up in lowercase.
///
/// ```
/// use wren_codec::Metadata;
///
/// let mut md = Metadata::new();
/// md.append("Trace-Id", "a");
/// md.append("trace-id", "b");
/// md.insert("containerd-namespace-ttrpc", "default");
/// assert_eq!(md.get("trace-id"), Some("a"));
/// assert_eq!(md.get_all("TRACE-ID").collect::<Vec<_>>(), ["a", "b"]);
/// assert_eq!(md.len(), 3);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    entries: Vec<(String, String)>,
}

/// Lowercases like Go's `strings.ToLower`, without allocating when the key
/// is already lowercase.
fn lowercase(key: String) -> String {
    if key.chars().any(char::is_uppercase) {
        key.to_lowercase()
    } else {
        key
    }
}

/// Whether a stored (lowercase) key matches a query of any case.
fn key_matches(stored: &str, query: &str) -> bool {
    if query.is_ascii() {
        stored.eq_ignore_ascii_case(query)
    } else {
        stored == query.to_lowercase()
    }
}

impl Metadata {
    /// Empty metadata.
    pub const fn new() -> Metadata {
        Metadata {
            entries: Vec::new(),
        }
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| key_matches(k, key))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.entries
            .iter()
            .filter(move |(k, _)| key_matches(k, key))
            .map(|(_, v)| v.as_str())
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` to the single value `value`, replacing its values.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = lowercase(key.into());
        self.entries.retain(|(k, _)| *k != key);
        self.entries.push((key, value.into()));
    }

    /// Adds a value to `key` after any it has.
    pub fn append(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.entries.push((lowercase(key.into()), value.into()));
    }

    /// Removes every value of `key`; returns whether there was one.
    pub fn remove(&mut self, key: &str) -> bool {
        let before = self.entries.len();
        self.entries.retain(|(k, _)| !key_matches(k, key));
        before != self.entries.len()
    }

    /// Every (key, value) pair, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Metadata from wire entries; keys are lowercased.
    pub fn from_key_values(entries: Vec<KeyValue>) -> Metadata {
        Metadata {
            entries: entries
                .into_iter()
                .map(|kv| (lowercase(kv.key), kv.value))
                .collect(),
        }
    }

    /// The wire entries.
    pub fn to_key_values(&self) -> Vec<KeyValue> {
        self.entries
            .iter()
            .map(|(k, v)| KeyValue {
                key: k.clone(),
                value: v.clone(),
            })
            .collect()
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Metadata {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut md = Metadata::new();
        md.extend(iter);
        md
    }
}

impl<K: Into<String>, V: Into<String>> Extend<(K, V)> for Metadata {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.append(k, v);
        }
    }
}
