//! The `frame_decoder` target: [`FrameCodec`] on arbitrary bytes, split
//! into arbitrary chunks, under an arbitrary limit.

use arbitrary::Unstructured;
use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};
use wren_transport::codec::{DEFAULT_MAX_MESSAGE_SIZE, Decoded, FrameCodec, HEADER_LEN};

/// Decodes `data` and checks every item against the bytes it came from.
///
/// The first bytes choose the codec's limit (4 MiB or 0–65,535 bytes) and
/// the sizes of the chunks the rest arrives in. Asserts:
///
/// - no panic;
/// - a frame's payload is never over the limit, an oversize header always
///   is, and the buffer never grows past what the limit and one chunk
///   explain (no allocation sized by an untrusted length);
/// - every frame re-encodes to exactly the bytes it was decoded from, and an
///   oversize header to its 10 bytes, so the decoder never loses its place;
/// - at the end, `decode_eof` succeeds exactly when the input ended on a
///   frame boundary.
pub fn frame_decoder(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let limit = match u.arbitrary::<u8>().unwrap_or(0) {
        0..64 => DEFAULT_MAX_MESSAGE_SIZE,
        _ => usize::from(u.arbitrary::<u16>().unwrap_or(0)),
    };
    let chunk_sizes: Vec<u8> = u.arbitrary().unwrap_or_default();
    let input = u.take_rest();

    let mut codec = FrameCodec::builder().max_message_size(limit).new_codec();
    let mut buf = BytesMut::new();
    let mut cursor = 0; // bytes of `input` accounted for by decoded items
    let mut fed = 0;
    let mut largest_chunk = 0;
    let mut sizes = chunk_sizes.iter().map(|&s| usize::from(s));
    while fed < input.len() {
        // The listed sizes, then the rest in one chunk.
        let size = sizes.next().unwrap_or(input.len()).min(input.len() - fed);
        largest_chunk = largest_chunk.max(size);
        buf.extend_from_slice(&input[fed..fed + size]);
        fed += size;
        while let Some(item) = codec.decode(&mut buf).expect("decode never fails") {
            cursor = check_item(&mut codec, item, input, cursor, limit);
        }
        // Frames are cut from the front of the buffer; what stays is at most
        // one unfinished frame plus the last chunk. Growth is amortised
        // (doubling), hence the factor 2.
        let bound = 2 * (limit.min(u32::MAX as usize) + HEADER_LEN + largest_chunk) + 64;
        assert!(
            buf.capacity() <= bound,
            "buffer capacity {} over {bound} with limit {limit}",
            buf.capacity()
        );
    }
    let end = codec.decode_eof(&mut buf);
    if cursor == input.len() {
        assert!(matches!(end, Ok(None)), "clean end rejected: {end:?}");
    } else {
        assert!(
            end.is_err(),
            "input ended mid-frame ({} of {} bytes accounted for) but decode_eof gave {end:?}",
            cursor,
            input.len()
        );
    }
}

/// Checks one decoded item against `input[cursor..]`; returns the new cursor.
fn check_item(
    codec: &mut FrameCodec,
    item: Decoded,
    input: &[u8],
    cursor: usize,
    limit: usize,
) -> usize {
    match item {
        Decoded::Frame(frame) => {
            assert!(frame.payload.len() <= limit, "frame over the limit decoded");
            let mut encoded = BytesMut::new();
            codec
                .encode(frame.clone(), &mut encoded)
                .expect("a decoded frame re-encodes");
            let end = cursor + encoded.len();
            assert_eq!(
                &encoded[..],
                &input[cursor..end],
                "frame {frame:?} does not re-encode to its bytes"
            );
            end
        }
        Decoded::Oversize(header) => {
            assert!(
                header.length as usize > limit,
                "oversize at or under the limit"
            );
            let mut encoded = Vec::new();
            header.encode(&mut encoded);
            assert_eq!(&encoded[..], &input[cursor..cursor + HEADER_LEN]);
            cursor + HEADER_LEN + header.length as usize
        }
    }
}
