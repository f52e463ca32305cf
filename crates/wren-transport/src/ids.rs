//! [`StreamIds`]: a hasher for maps keyed by stream id.

use std::hash::{BuildHasherDefault, Hasher};

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
