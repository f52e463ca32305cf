//! [`Metadata`]: the key/value pairs a request carries.

use std::fmt;

use crate::proto::KeyValue;
use crate::{ByteStr, IntoByteStr};

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
///
/// Keys and values are [`ByteStr`]s: metadata decoded from a frame points into
/// the frame's buffer instead of being copied.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    entries: Vec<(ByteStr, ByteStr)>,
}

/// What one entry costs in memory once decoded, on top of the frame's own
/// bytes it points into: two [`ByteStr`]s.
pub const METADATA_ENTRY_SIZE: usize = 2 * std::mem::size_of::<ByteStr>();

/// Lowercases like Go's `strings.ToLower`, without allocating when the key
/// is already lowercase.
fn lowercase(key: ByteStr) -> ByteStr {
    if key.chars().any(char::is_uppercase) {
        ByteStr::from(key.to_lowercase())
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
    pub fn insert(&mut self, key: impl IntoByteStr, value: impl IntoByteStr) {
        let key = lowercase(key.into_byte_str());
        self.entries.retain(|(k, _)| *k != key);
        self.entries.push((key, value.into_byte_str()));
    }

    /// Adds a value to `key` after any it has.
    pub fn append(&mut self, key: impl IntoByteStr, value: impl IntoByteStr) {
        self.entries
            .push((lowercase(key.into_byte_str()), value.into_byte_str()));
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
                .map(|kv| (lowercase(ByteStr::from(kv.key)), ByteStr::from(kv.value)))
                .collect(),
        }
    }

    /// The wire entries.
    pub fn to_key_values(&self) -> Vec<KeyValue> {
        self.entries
            .iter()
            .map(|(k, v)| KeyValue {
                key: k.as_str().to_owned(),
                value: v.as_str().to_owned(),
            })
            .collect()
    }

    /// Room for `entries` values, so decoding can allocate once.
    pub(crate) fn with_capacity(entries: usize) -> Metadata {
        Metadata {
            entries: Vec::with_capacity(entries),
        }
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<K: IntoByteStr, V: IntoByteStr> FromIterator<(K, V)> for Metadata {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut md = Metadata::new();
        md.extend(iter);
        md
    }
}

impl<K: IntoByteStr, V: IntoByteStr> Extend<(K, V)> for Metadata {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.append(k, v);
        }
    }
}
