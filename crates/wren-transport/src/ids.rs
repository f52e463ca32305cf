//! Fast hashers for the maps a connection looks up on every call: stream
//! ids ([`StreamIdHasher`]) and service and method names ([`NameHasher`]).

use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// A hasher for `u32` stream ids: one multiplication, where the standard
/// SipHash costs tens of nanoseconds on every call's insert and remove.
/// Stream ids come from the peer, but a peer that picks colliding ids only
/// slows its own connection, which it could flood anyway.
#[derive(Clone, Copy, Debug, Default)]
pub struct StreamIdHasher(u64);

impl Hasher for StreamIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, id: u32) {
        self.0 = u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A `HashMap` keyed by stream id.
pub type StreamMap<V> = std::collections::HashMap<u32, V, BuildHasherDefault<StreamIdHasher>>;

/// A hasher for service and method names: 8 bytes per multiply, where
/// SipHash costs about 100 instructions per lookup of a typical name. The
/// maps it serves hold names the server registered; a peer can only look
/// names up, never insert them, so it cannot degrade the table.
#[derive(Clone, Copy, Debug, Default)]
pub struct NameHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl NameHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        // `str`'s `Hash` ends every string with 0xff.
        self.add(u64::from(byte));
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

/// A `HashMap` keyed by service or method name.
pub type NameMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<NameHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn names_that_differ_anywhere_hash_apart() {
        let hash = |s: &str| BuildHasherDefault::<NameHasher>::default().hash_one(s);
        let names = [
            "",
            "a",
            "b",
            "ab",
            "ba",
            "Create",
            "create",
            "containerd.task.v2.Task",
            "containerd.task.v2.Tasl",
            "xcontainerd.task.v2.Task",
            "12345678",
            "123456789",
        ];
        for (i, a) in names.iter().enumerate() {
            for b in &names[i + 1..] {
                assert_ne!(hash(a), hash(b), "{a:?} and {b:?}");
            }
        }
        let mut map: NameMap<&str, usize> = NameMap::default();
        for (i, n) in names.iter().enumerate() {
            map.insert(n, i);
        }
        for (i, n) in names.iter().enumerate() {
            assert_eq!(map.get(n), Some(&i));
        }
    }
}

/// Where a client learns the stream id its connection gave a call.
///
/// A client picks a call's stream id only when its connection writes the
/// Request frame, after the call has left the caller's hands, so the
/// request cannot carry it. Put a clone of a slot in the request's
/// extensions before the call (tracing layers do); the client's connection
/// fills it as it writes the Request, and the slot reads it from then on —
/// including after the call has failed. `None` while the call has not been
/// written, or if it never was (its deadline passed in the queue, the
/// connection closed). A server sets [`Request::stream_id`](crate::Request::stream_id)
/// instead.
#[derive(Clone, Debug, Default)]
pub struct StreamIdSlot(Arc<AtomicU32>);

impl StreamIdSlot {
    /// An empty slot.
    pub fn new() -> StreamIdSlot {
        StreamIdSlot::default()
    }

    /// The stream id, once the call has been written.
    pub fn get(&self) -> Option<u32> {
        match self.0.load(Ordering::Acquire) {
            0 => None,
            id => Some(id),
        }
    }

    /// Records the stream id (0 is not a stream id: it leaves the slot
    /// empty). Called by the client's connection.
    pub fn set(&self, stream_id: u32) {
        self.0
            .store(stream_id, std::sync::atomic::Ordering::Release);
    }
}
