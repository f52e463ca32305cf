//! Raw frames: reading and writing them without a codec's checks, and the
//! envelope messages they carry.

use std::io;

use bytes::Bytes;
use prost::Message;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use wren_transport::codec::{Frame, HEADER_LEN, Header, MessageType, proto};

/// Reads one frame, whatever its length; `None` at a clean end of stream.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> io::Result<Option<Frame>> {
    let mut header = [0u8; HEADER_LEN];
    match r.read_exact(&mut header).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let header = Header::parse(&header);
    let mut payload = vec![0u8; header.length as usize];
    r.read_exact(&mut payload).await?;
    Ok(Some(Frame::new(
        header.stream_id,
        header.kind,
        header.flags,
        payload,
    )))
}

/// Writes one frame, whatever its length.
pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, frame: &Frame) -> io::Result<()> {
    let mut buf = Vec::with_capacity(HEADER_LEN + frame.payload.len());
    frame.header().encode(&mut buf);
    buf.extend_from_slice(&frame.payload);
    w.write_all(&buf).await
}

/// A `ttrpc.Request` for `service`/`method` carrying `msg`.
pub fn envelope(service: &str, method: &str, msg: &impl Message) -> proto::Request {
    proto::Request {
        service: service.to_owned(),
        method: method.to_owned(),
        payload: Bytes::from(msg.encode_to_vec()),
        timeout_nano: 0,
        metadata: Vec::new(),
    }
}

/// Decodes a Response frame, checking its type and that it has no flags.
pub fn decode_response(frame: &Frame) -> proto::Response {
    assert_eq!(
        frame.kind,
        MessageType::RESPONSE,
        "not a response: {frame:?}"
    );
    assert!(frame.flags.is_empty(), "response with flags: {frame:?}");
    proto::Response::decode(frame.payload.clone()).expect("a valid ttrpc.Response")
}

/// The (code, message) of a reply that must carry a status.
pub fn status(resp: &proto::Response) -> (i32, &str) {
    let status = resp.status.as_ref().expect("reply carries a status");
    (status.code, status.message.as_str())
}
