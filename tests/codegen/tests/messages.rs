//! The messages prost generated alongside the services: attribute
//! passthrough, well-known types through wren's prost-types, custom and
//! gogo options ignored, names that collide with Rust.

use codegen_tests::collide;
use codegen_tests::common::v1::{Level, Selector, Thing, selector};
use codegen_tests::containerd::task::v2 as task;
use codegen_tests::secret::v1::Secret;
use wren_rpc::prost::Message;

#[test]
fn serde_derives_pass_through_to_messages_and_fields() {
    let thing = Thing {
        id: "1".into(),
        name: "one".into(),
        level: Level::Low as i32,
        labels: [("a".to_owned(), "b".to_owned())].into(),
    };
    let json = serde_json::to_value(&thing).unwrap();
    // field_attribute renamed `name`.
    assert_eq!(json["thingName"], "one");
    assert_eq!(json["id"], "1");
    let back: Thing = serde_json::from_value(json).unwrap();
    assert_eq!(back, thing);
    // type_attribute reached the enum too.
    assert_eq!(serde_json::to_string(&Level::High).unwrap(), "\"High\"");
}

#[test]
fn serde_derives_reach_oneofs_and_nested_messages() {
    let selector = Selector {
        by: Some(selector::By::Range(selector::Range { from: 1, to: 2 })),
        note: None,
    };
    let json = serde_json::to_string(&selector).unwrap();
    assert_eq!(json, r#"{"note":null,"by":{"Range":{"from":1,"to":2}}}"#);
    assert_eq!(serde_json::from_str::<Selector>(&json).unwrap(), selector);
}

#[test]
fn well_known_types_are_wrens_prost_types() {
    let deleted = task::DeleteResponse {
        pid: 1,
        exit_status: 2,
        exited_at: Some(wren_rpc::prost_types::Timestamp {
            seconds: 3,
            nanos: 4,
        }),
    };
    let decoded = task::DeleteResponse::decode(deleted.encode_to_vec().as_slice()).unwrap();
    assert_eq!(decoded, deleted);
    let create = task::CreateTaskRequest {
        options: Some(wren_rpc::prost_types::Any::default()),
        ..Default::default()
    };
    assert!(create.options.is_some());
}

#[test]
fn custom_and_gogo_options_change_nothing() {
    // `(gogoproto.customname) = "ID"` leaves the field `id`; options on
    // fields, messages and services leave the encoding alone.
    let start = task::StartRequest {
        id: "c".into(),
        exec_id: "e".into(),
    };
    assert_eq!(start.encode_to_vec(), [0x0a, 1, b'c', 0x12, 1, b'e']);
    let secret = Secret {
        key: "k".into(),
        value: vec![9],
    };
    assert_eq!(secret.encode_to_vec(), [0x0a, 1, b'k', 0x12, 1, 9]);
}

#[test]
fn messages_named_like_rust_items() {
    // Box, Result, Option, Send, Future, Self (as `Self_`), with keyword
    // fields as raw identifiers.
    let body = collide::Body {
        r#box: Some(collide::Box { value: "v".into() }),
        option: Some(collide::Option { set: true }),
    };
    let this = collide::Self_ { r#type: "t".into() };
    let request = collide::Request {
        r#match: "m".into(),
    };
    let response = collide::Response {
        r#async: "a".into(),
    };
    let result = collide::Result { code: 1 };
    let send = collide::Send { data: vec![1] };
    let future = collide::Future { at: 1 };
    let status = collide::Status { code: 1 };
    let arc = collide::Arc { weak: "w".into() };
    for len in [
        body.encoded_len(),
        this.encoded_len(),
        request.encoded_len(),
        response.encoded_len(),
        result.encoded_len(),
        send.encoded_len(),
        future.encoded_len(),
        status.encoded_len(),
        arc.encoded_len(),
    ] {
        assert!(len > 0);
    }
}
