//! The `request_envelope` target: wren's zero-copy `ttrpc.Request` decoder
//! ([`RequestView`]) against prost's decoding of the same bytes.

use bytes::Bytes;
use prost::Message;
use wren_transport::codec::{EnvelopeError, Metadata, RequestView, proto};

/// Decodes `data[1..]` with [`RequestView::decode`], allowing as many
/// metadata entries as `data[0]` says (255 for no limit), and with prost.
/// Asserts:
///
/// - no panic;
/// - where prost decodes, wren decodes the same service, method, payload,
///   timeout and metadata (keys lowercased) — or, only when the entries
///   are over the allowance, refuses with `TooMuchMetadata` and the true
///   count;
/// - where prost refuses, wren refuses as `Malformed`, or as
///   `TooMuchMetadata` (the count is taken before the entries are parsed).
pub fn request_envelope(data: &[u8]) {
    let Some((&allowance, bytes)) = data.split_first() else {
        return;
    };
    let max = match allowance {
        255 => usize::MAX,
        n => usize::from(n),
    };
    let ours = RequestView::decode(Bytes::copy_from_slice(bytes), max);
    match (proto::Request::decode(bytes), ours) {
        (Ok(theirs), Ok(ours)) => {
            assert_eq!(&*ours.service, theirs.service.as_str());
            assert_eq!(&*ours.method, theirs.method.as_str());
            assert_eq!(ours.payload, theirs.payload);
            assert_eq!(ours.timeout_nano, theirs.timeout_nano);
            assert!(ours.metadata.len() <= max, "over the allowance");
            assert_eq!(ours.metadata, Metadata::from_key_values(theirs.metadata));
        }
        (Ok(theirs), Err(EnvelopeError::TooMuchMetadata { entries, max: m })) => {
            assert_eq!(m, max);
            assert_eq!(entries, theirs.metadata.len(), "miscounted entries");
            assert!(entries > max, "refused within the allowance");
        }
        (Ok(theirs), Err(e)) => panic!("prost decodes {theirs:?}, wren refuses: {e}"),
        (Err(_), Err(EnvelopeError::Malformed(_) | EnvelopeError::TooMuchMetadata { .. })) => {}
        (Err(e), Ok(ours)) => panic!("prost refuses ({e}), wren decodes {ours:?}"),
    }
}
