//! `Code` and `Status`: wire values, names, display text, the proto form, and
//! mapping errors to statuses.

use std::error::Error;
use std::{fmt, io};

use prost::Message;
use prost_types::Any;
use wren_codec::{Code, DEFAULT_MAX_MESSAGE_SIZE, Status, proto};

const ALL: [(i32, Code, &str); 17] = [
    (0, Code::Ok, "OK"),
    (1, Code::Cancelled, "CANCELLED"),
    (2, Code::Unknown, "UNKNOWN"),
    (3, Code::InvalidArgument, "INVALID_ARGUMENT"),
    (4, Code::DeadlineExceeded, "DEADLINE_EXCEEDED"),
    (5, Code::NotFound, "NOT_FOUND"),
    (6, Code::AlreadyExists, "ALREADY_EXISTS"),
    (7, Code::PermissionDenied, "PERMISSION_DENIED"),
    (8, Code::ResourceExhausted, "RESOURCE_EXHAUSTED"),
    (9, Code::FailedPrecondition, "FAILED_PRECONDITION"),
    (10, Code::Aborted, "ABORTED"),
    (11, Code::OutOfRange, "OUT_OF_RANGE"),
    (12, Code::Unimplemented, "UNIMPLEMENTED"),
    (13, Code::Internal, "INTERNAL"),
    (14, Code::Unavailable, "UNAVAILABLE"),
    (15, Code::DataLoss, "DATA_LOSS"),
    (16, Code::Unauthenticated, "UNAUTHENTICATED"),
];

#[test]
fn every_code_maps_both_ways() {
    for (value, code, name) in ALL {
        assert_eq!(Code::from_i32(value), code, "{value}");
        assert_eq!(Code::from(value), code, "{value}");
        assert_eq!(code.as_i32(), value, "{code:?}");
        assert_eq!(code.description(), name);
        assert_eq!(code.to_string(), name);
    }
}

#[test]
fn out_of_range_codes_are_unknown() {
    for value in [-1, 17, 18, 100, i32::MIN, i32::MAX] {
        assert_eq!(Code::from_i32(value), Code::Unknown, "{value}");
    }
    let status = Status::from_proto(proto::Status {
        code: 99,
        message: "from the future".into(),
        details: Vec::new(),
    });
    assert_eq!(status.code(), Code::Unknown);
    assert_eq!(status.message(), "from the future");
}

#[test]
fn constructors_set_their_codes() {
    let made: [(Status, Code); 16] = [
        (Status::cancelled("m"), Code::Cancelled),
        (Status::unknown("m"), Code::Unknown),
        (Status::invalid_argument("m"), Code::InvalidArgument),
        (Status::deadline_exceeded("m"), Code::DeadlineExceeded),
        (Status::not_found("m"), Code::NotFound),
        (Status::already_exists("m"), Code::AlreadyExists),
        (Status::permission_denied("m"), Code::PermissionDenied),
        (Status::resource_exhausted("m"), Code::ResourceExhausted),
        (Status::failed_precondition("m"), Code::FailedPrecondition),
        (Status::aborted("m"), Code::Aborted),
        (Status::out_of_range("m"), Code::OutOfRange),
        (Status::unimplemented("m"), Code::Unimplemented),
        (Status::internal("m"), Code::Internal),
        (Status::unavailable("m"), Code::Unavailable),
        (Status::data_loss("m"), Code::DataLoss),
        (Status::unauthenticated("m"), Code::Unauthenticated),
    ];
    for (status, code) in made {
        assert_eq!(status.code(), code);
        assert_eq!(status.message(), "m");
        assert!(status.details().is_empty());
    }
}

#[test]
fn display_is_code_name_then_message() {
    assert_eq!(
        Status::unimplemented("service nope.Svc").to_string(),
        "UNIMPLEMENTED: service nope.Svc"
    );
    assert_eq!(Status::new(Code::Ok, "").to_string(), "OK: ");
    assert_eq!(
        Status::invalid_argument("StreamID must be odd for client initiated streams").to_string(),
        "INVALID_ARGUMENT: StreamID must be odd for client initiated streams"
    );
}

#[test]
fn message_too_large_matches_go() {
    let status = Status::message_too_large(DEFAULT_MAX_MESSAGE_SIZE + 1, DEFAULT_MAX_MESSAGE_SIZE);
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(
        status.message(),
        "message length 4194305 exceed maximum message size of 4194304"
    );
}

fn sample_details() -> Vec<Any> {
    vec![
        Any {
            type_url: "type.googleapis.com/google.rpc.ErrorInfo".into(),
            value: vec![0x0a, 0x06, b'R', b'E', b'A', b'S', b'O', b'N'],
        },
        Any {
            type_url: "type.googleapis.com/google.protobuf.Empty".into(),
            value: Vec::new(),
        },
    ]
}

#[test]
fn details_round_trip_through_proto() {
    let status = Status::failed_precondition("not yet").with_details(sample_details());
    assert_eq!(status.details(), &sample_details()[..]);

    let wire = status.to_proto();
    assert_eq!(wire.code, 9);
    assert_eq!(wire.message, "not yet");
    assert_eq!(wire.details, sample_details());

    let bytes = status.encode_to_bytes();
    assert_eq!(&bytes[..], &wire.encode_to_vec()[..]);
    let back = Status::from_proto(proto::Status::decode(bytes).unwrap());
    assert_eq!(back.code(), Code::FailedPrecondition);
    assert_eq!(back.message(), "not yet");
    assert_eq!(back.details(), &sample_details()[..]);

    let via_from: Status = wire.into();
    assert_eq!(via_from.details(), &sample_details()[..]);

    // with_details adds to what is there.
    let more = back.with_details([Any {
        type_url: "x".into(),
        value: vec![1],
    }]);
    assert_eq!(more.details().len(), 3);
    assert_eq!(more.details()[2].type_url, "x");
}

#[test]
fn status_encodes_like_google_rpc_status() {
    // code 5, message "gone": 08 05 12 04 "gone"
    assert_eq!(
        &Status::not_found("gone").encode_to_bytes()[..],
        b"\x08\x05\x12\x04gone"
    );
    // OK with no message is the empty message.
    assert!(Status::new(Code::Ok, "").encode_to_bytes().is_empty());
}

#[derive(Debug)]
struct Wrapper {
    text: &'static str,
    source: Box<dyn Error + Send + Sync + 'static>,
}

impl fmt::Display for Wrapper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text)
    }
}

impl Error for Wrapper {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.source)
    }
}

#[derive(Debug)]
struct Plain;

impl fmt::Display for Plain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("plain failure")
    }
}

impl Error for Plain {}

fn wrap(text: &'static str, source: impl Error + Send + Sync + 'static) -> Wrapper {
    Wrapper {
        text,
        source: Box::new(source),
    }
}

#[test]
fn from_error_returns_a_status_as_it_is() {
    let status = Status::permission_denied("no").with_details(sample_details());
    let found = Status::from_error(&status);
    assert_eq!(found.code(), Code::PermissionDenied);
    assert_eq!(found.message(), "no");
    assert_eq!(found.details(), &sample_details()[..]);
}

#[test]
fn from_error_finds_a_status_in_the_source_chain() {
    let err = wrap("outer", wrap("middle", Status::aborted("conflict")));
    let found = Status::from_error(&err);
    assert_eq!(found.code(), Code::Aborted);
    assert_eq!(found.message(), "conflict");
}

#[test]
fn from_error_prefers_a_status_behind_an_io_error() {
    // io::Error::source() yields the wrapped error's source, so the Status is
    // in the chain; the io::Error's own kind (Other) must not win over it.
    let err = wrap(
        "outer",
        io::Error::other(wrap("inner", Status::not_found("no such task"))),
    );
    let found = Status::from_error(&err);
    assert_eq!(found.code(), Code::NotFound);
    assert_eq!(found.message(), "no such task");
}

#[test]
fn from_error_finds_a_status_wrapped_directly_in_an_io_error() {
    let err = io::Error::other(Status::unavailable("shutting down"));
    let found = Status::from_error(&err);
    assert_eq!(found.code(), Code::Unavailable);
    assert_eq!(found.message(), "shutting down");
}

#[test]
fn from_error_maps_io_kinds() {
    let timed_out = io::Error::new(io::ErrorKind::TimedOut, "too slow");
    let found = Status::from_error(&timed_out);
    assert_eq!(found.code(), Code::DeadlineExceeded);
    assert_eq!(found.message(), "too slow");

    // An io::Error further down the chain is used too.
    let err = wrap("while reading", io::Error::from(io::ErrorKind::TimedOut));
    assert_eq!(Status::from_error(&err).code(), Code::DeadlineExceeded);

    // With several io::Errors in the chain, the outermost one's kind is used.
    let err = io::Error::new(
        io::ErrorKind::TimedOut,
        wrap("inner", io::Error::from(io::ErrorKind::NotFound)),
    );
    assert_eq!(Status::from_error(&err).code(), Code::DeadlineExceeded);

    let cases = [
        (io::ErrorKind::NotFound, Code::NotFound),
        (io::ErrorKind::PermissionDenied, Code::PermissionDenied),
        (io::ErrorKind::AlreadyExists, Code::AlreadyExists),
        (io::ErrorKind::InvalidInput, Code::InvalidArgument),
        (io::ErrorKind::InvalidData, Code::InvalidArgument),
        (io::ErrorKind::BrokenPipe, Code::Unavailable),
        (io::ErrorKind::ConnectionReset, Code::Unavailable),
        (io::ErrorKind::UnexpectedEof, Code::Unavailable),
        (io::ErrorKind::Interrupted, Code::Cancelled),
        (io::ErrorKind::Other, Code::Unknown),
    ];
    for (kind, code) in cases {
        let e = io::Error::new(kind, "x");
        assert_eq!(Status::from_io_error(&e).code(), code, "{kind:?}");
        assert_eq!(Status::from(e).code(), code, "{kind:?}");
    }
}

#[test]
fn from_error_falls_back_to_unknown_with_the_text() {
    let found = Status::from_error(&Plain);
    assert_eq!(found.code(), Code::Unknown);
    assert_eq!(found.message(), "plain failure");

    let err = wrap("outer text", Plain);
    let found = Status::from_error(&err);
    assert_eq!(found.code(), Code::Unknown);
    assert_eq!(found.message(), "outer text");
}

#[test]
fn source_is_local_only() {
    let status = Status::internal("boom").with_source(Plain);
    assert_eq!(status.source().unwrap().to_string(), "plain failure");
    assert_eq!(status.source_ref().unwrap().to_string(), "plain failure");
    // Not part of the wire form.
    let wire = status.to_proto();
    assert_eq!(wire.message, "boom");
    assert!(wire.details.is_empty());
    assert!(Status::from_proto(wire).source().is_none());
    assert!(Status::internal("x").source().is_none());
    // Clones share it.
    assert!(status.clone().source().is_some());
}
