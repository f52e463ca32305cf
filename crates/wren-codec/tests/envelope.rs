//! The hand-written envelope encoders (`RequestRef`, `ResponseRef`) against
//! prost's encoding of the generated types, which is what Go sends.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use prost::Message;
use prost_types::Any;
use wren_codec::{Code, Metadata, RequestRef, ResponseRef, Status, proto};

fn encode_request(req: &RequestRef<'_>) -> Vec<u8> {
    let mut buf = Vec::with_capacity(req.encoded_len());
    req.encode(&mut buf);
    buf
}

fn encode_response(resp: &ResponseRef<'_>) -> Vec<u8> {
    let mut buf = BytesMut::with_capacity(resp.encoded_len());
    resp.encode(&mut buf);
    buf.to_vec()
}

fn proto_request(req: &RequestRef<'_>) -> proto::Request {
    proto::Request {
        service: req.service.to_owned(),
        method: req.method.to_owned(),
        payload: Bytes::copy_from_slice(req.payload),
        timeout_nano: req.timeout_nano,
        metadata: req.metadata.to_key_values(),
    }
}

/// Checks one request: same bytes as prost, right length, decodes back.
fn check_request(req: &RequestRef<'_>) -> Result<(), TestCaseError> {
    let ours = encode_request(req);
    let prost = proto_request(req);
    prop_assert_eq!(&ours, &prost.encode_to_vec());
    prop_assert_eq!(req.encoded_len(), ours.len());
    prop_assert_eq!(prost.encoded_len(), ours.len());
    let back = proto::Request::decode(&ours[..]).unwrap();
    prop_assert_eq!(back.service.as_str(), req.service);
    prop_assert_eq!(back.method.as_str(), req.method);
    prop_assert_eq!(&back.payload[..], req.payload);
    prop_assert_eq!(back.timeout_nano, req.timeout_nano);
    prop_assert_eq!(&Metadata::from_key_values(back.metadata), req.metadata);
    Ok(())
}

fn check_response(resp: &ResponseRef<'_>) -> Result<(), TestCaseError> {
    let ours = encode_response(resp);
    let prost = proto::Response {
        status: resp.status.map(Status::to_proto),
        payload: Bytes::copy_from_slice(resp.payload),
    };
    prop_assert_eq!(&ours, &prost.encode_to_vec());
    prop_assert_eq!(resp.encoded_len(), ours.len());
    let back = proto::Response::decode(&ours[..]).unwrap();
    prop_assert_eq!(&back, &prost);
    match (resp.status, back.status) {
        (None, None) => {}
        (Some(sent), Some(got)) => {
            let got = Status::from_proto(got);
            prop_assert_eq!(got.code(), sent.code());
            prop_assert_eq!(got.message(), sent.message());
            prop_assert_eq!(got.details(), sent.details());
        }
        (sent, got) => prop_assert!(false, "status {:?} came back as {:?}", sent, got),
    }
    Ok(())
}

#[test]
fn empty_request_encodes_to_nothing() {
    let md = Metadata::new();
    let req = RequestRef {
        service: "",
        method: "",
        payload: &[],
        timeout_nano: 0,
        metadata: &md,
    };
    assert_eq!(req.encoded_len(), 0);
    assert!(encode_request(&req).is_empty());
    check_request(&req).unwrap();
}

#[test]
fn negative_timeout_is_a_ten_byte_varint() {
    let md = Metadata::new();
    let req = RequestRef {
        service: "",
        method: "",
        payload: &[],
        timeout_nano: -1,
        metadata: &md,
    };
    assert_eq!(
        encode_request(&req),
        [
            0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
        ]
    );
    assert_eq!(req.encoded_len(), 11);
    check_request(&req).unwrap();

    for timeout_nano in [i64::MIN, i64::MAX, 1, -5_000_000_000] {
        check_request(&RequestRef {
            timeout_nano,
            ..req
        })
        .unwrap();
    }
}

#[test]
fn metadata_with_empty_key_and_value_is_still_sent() {
    // A KeyValue with both fields at their defaults is an empty message, but
    // as an element of a repeated field it is still written: 2a 00.
    let md: Metadata = [("", "")].into_iter().collect();
    let req = RequestRef {
        service: "",
        method: "",
        payload: &[],
        timeout_nano: 0,
        metadata: &md,
    };
    assert_eq!(encode_request(&req), [0x2a, 0x00]);
    assert_eq!(req.encoded_len(), 2);
    check_request(&req).unwrap();

    let md: Metadata = [("k", ""), ("", "v")].into_iter().collect();
    let req = RequestRef {
        metadata: &md,
        ..req
    };
    assert_eq!(
        encode_request(&req),
        [0x2a, 0x03, 0x0a, 0x01, b'k', 0x2a, 0x03, 0x12, 0x01, b'v']
    );
    check_request(&req).unwrap();
}

#[test]
fn request_metadata_keys_go_out_lowercase_in_order() {
    let mut md = Metadata::new();
    md.append("B-Key", "1");
    md.append("a-key", "2");
    md.append("b-key", "3");
    let req = RequestRef {
        service: "s",
        method: "m",
        payload: &[],
        timeout_nano: 0,
        metadata: &md,
    };
    let back = proto::Request::decode(&encode_request(&req)[..]).unwrap();
    let pairs: Vec<_> = back
        .metadata
        .iter()
        .map(|kv| (kv.key.as_str(), kv.value.as_str()))
        .collect();
    assert_eq!(pairs, [("b-key", "1"), ("a-key", "2"), ("b-key", "3")]);
}

#[test]
fn long_fields_use_multi_byte_lengths() {
    let service = "s".repeat(200);
    let payload = vec![7u8; 20_000];
    let value = "v".repeat(130);
    let md: Metadata = [("k", value.as_str())].into_iter().collect();
    let req = RequestRef {
        service: &service,
        method: "m",
        payload: &payload,
        timeout_nano: 42,
        metadata: &md,
    };
    let bytes = encode_request(&req);
    assert_eq!(&bytes[..3], &[0x0a, 0xc8, 0x01]);
    check_request(&req).unwrap();
}

#[test]
fn ok_status_is_written_when_present() {
    // Go leaves status out on success, but if a caller passes an OK status
    // explicitly it must still encode the way prost does: 0a 00.
    let ok = Status::new(Code::Ok, "");
    let resp = ResponseRef {
        status: Some(&ok),
        payload: &[],
    };
    assert_eq!(encode_response(&resp), [0x0a, 0x00]);
    check_response(&resp).unwrap();
}

#[test]
fn status_with_details_and_payload() {
    let status = Status::resource_exhausted("too big").with_details([
        Any {
            type_url: "type.googleapis.com/google.rpc.ErrorInfo".into(),
            value: vec![0x0a, 0x03, b'a', b'b', b'c'],
        },
        Any {
            type_url: String::new(),
            value: Vec::new(),
        },
    ]);
    let resp = ResponseRef {
        status: Some(&status),
        payload: b"partial",
    };
    let bytes = encode_response(&resp);
    // Field 1 first, then field 2.
    assert_eq!(bytes[0], 0x0a);
    let payload_at = bytes.len() - b"partial".len() - 2;
    assert_eq!(&bytes[payload_at..payload_at + 2], &[0x12, 0x07]);
    check_response(&resp).unwrap();
}

fn arb_metadata() -> impl Strategy<Value = Metadata> {
    prop::collection::vec((".{0,12}", ".{0,20}"), 0..8)
        .prop_map(|pairs| pairs.into_iter().collect::<Metadata>())
}

fn arb_any() -> impl Strategy<Value = Any> {
    (".{0,40}", prop::collection::vec(any::<u8>(), 0..64))
        .prop_map(|(type_url, value)| Any { type_url, value })
}

fn arb_status() -> impl Strategy<Value = Status> {
    (-3i32..20, ".{0,60}", prop::collection::vec(arb_any(), 0..4)).prop_map(
        |(code, message, details)| Status::new(Code::from_i32(code), message).with_details(details),
    )
}

proptest! {
    #[test]
    fn request_ref_matches_prost(
        service in ".{0,40}",
        method in ".{0,20}",
        payload in prop::collection::vec(any::<u8>(), 0..600),
        timeout_nano in prop_oneof![Just(0i64), Just(-1i64), any::<i64>()],
        metadata in arb_metadata(),
    ) {
        check_request(&RequestRef {
            service: &service,
            method: &method,
            payload: &payload,
            timeout_nano,
            metadata: &metadata,
        })?;
    }

    #[test]
    fn response_ref_matches_prost(
        status in prop::option::of(arb_status()),
        payload in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        check_response(&ResponseRef {
            status: status.as_ref(),
            payload: &payload,
        })?;
    }
}
