//! `RequestView`, the zero-copy request decoder, against prost's decoding of
//! the generated `ttrpc.Request`: the same fields for every encoding prost
//! accepts, an error for every input prost rejects, and a metadata bound
//! enforced before anything is allocated for the entries.

use bytes::Bytes;
use proptest::prelude::*;
use prost::Message;
use wren_codec::{EnvelopeError, Metadata, RequestView, proto};

fn agree(bytes: &[u8]) -> Result<(), TestCaseError> {
    let ours = RequestView::decode(Bytes::copy_from_slice(bytes), usize::MAX);
    match (proto::Request::decode(bytes), ours) {
        (Ok(theirs), Ok(ours)) => {
            prop_assert_eq!(&*ours.service, theirs.service.as_str());
            prop_assert_eq!(&*ours.method, theirs.method.as_str());
            prop_assert_eq!(&ours.payload, &theirs.payload);
            prop_assert_eq!(ours.timeout_nano, theirs.timeout_nano);
            prop_assert_eq!(ours.metadata, Metadata::from_key_values(theirs.metadata));
        }
        (Err(_), Err(EnvelopeError::Malformed(_))) => {}
        (theirs, ours) => {
            prop_assert!(false, "prost: {theirs:?}, RequestView: {ours:?}");
        }
    }
    Ok(())
}

fn key_value() -> impl Strategy<Value = proto::KeyValue> {
    ("[a-zA-Z0-9-]{0,12}", ".{0,12}").prop_map(|(key, value)| proto::KeyValue { key, value })
}

fn request() -> impl Strategy<Value = proto::Request> {
    (
        ".{0,40}",
        ".{0,20}",
        proptest::collection::vec(any::<u8>(), 0..64),
        any::<i64>(),
        proptest::collection::vec(key_value(), 0..6),
    )
        .prop_map(
            |(service, method, payload, timeout_nano, metadata)| proto::Request {
                service,
                method,
                payload: payload.into(),
                timeout_nano,
                metadata,
            },
        )
}

proptest! {
    #[test]
    fn well_formed_requests_decode_as_prost_decodes_them(req in request()) {
        agree(&req.encode_to_vec())?;
    }

    #[test]
    fn arbitrary_bytes_are_accepted_or_refused_as_prost_does(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
        agree(&bytes)?;
    }

    #[test]
    fn damaged_requests_are_accepted_or_refused_as_prost_does(
        req in request(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let bytes = req.encode_to_vec();
        if !bytes.is_empty() {
            agree(&bytes[..cut.index(bytes.len())])?;
            let mut flipped = bytes.clone();
            let i = flip.index(flipped.len());
            flipped[i] ^= 1 << bit;
            agree(&flipped)?;
        }
    }
}

#[test]
fn fields_out_of_order_repeated_and_unknown_are_read_as_prost_reads_them() {
    // method, an unknown varint field 9, service twice (the last wins),
    // metadata, timeout twice (the last wins).
    let mut bytes = vec![
        0x12, 0x01, b'M', 0x48, 0x07, 0x0a, 0x01, b'x', 0x0a, 0x01, b'S',
    ];
    bytes.extend_from_slice(&[0x2a, 0x06, 0x0a, 0x01, b'K', 0x12, 0x01, b'v']);
    bytes.extend_from_slice(&[0x20, 0x05, 0x20, 0x06]);
    agree(&bytes).unwrap();
    let view = RequestView::decode(Bytes::from(bytes), 8).unwrap();
    assert_eq!(
        (&*view.service, &*view.method, view.timeout_nano),
        ("S", "M", 6)
    );
    assert_eq!(view.metadata.get("k"), Some("v"), "keys are lowercased");
}

#[test]
fn names_and_payload_share_the_frame_buffer() {
    let bytes = Bytes::from(
        proto::Request {
            service: "svc".into(),
            method: "m".into(),
            payload: Bytes::from_static(b"payload"),
            ..Default::default()
        }
        .encode_to_vec(),
    );
    let range = bytes.as_ptr() as usize..bytes.as_ptr() as usize + bytes.len();
    let view = RequestView::decode(bytes.clone(), 0).unwrap();
    for part in [
        view.service.as_bytes(),
        view.method.as_bytes(),
        &view.payload,
    ] {
        assert!(range.contains(&(part.as_ptr() as usize)), "copied");
    }
}

#[test]
fn too_many_metadata_entries_are_refused_before_decoding() {
    // 100,000 empty entries: 2 bytes each on the wire, 64 decoded.
    let mut bytes = proto::Request {
        service: "svc".into(),
        method: "m".into(),
        ..Default::default()
    }
    .encode_to_vec();
    for _ in 0..100_000 {
        bytes.extend_from_slice(&[0x2a, 0x00]);
    }
    let bytes = Bytes::from(bytes);
    assert_eq!(
        RequestView::decode(bytes.clone(), 99_999),
        Err(EnvelopeError::TooMuchMetadata {
            entries: 100_000,
            max: 99_999
        })
    );
    assert_eq!(
        RequestView::decode(bytes, 100_000).unwrap().metadata.len(),
        100_000
    );
}
