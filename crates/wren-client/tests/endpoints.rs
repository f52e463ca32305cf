//! `Channel::connect` on endpoints: every way of naming one, the builder's
//! settings carried through, hybrid vsock through an in-test proxy
//! (accepting, refusing, silent), and bad input.
#![allow(missing_docs)]

use std::io;
use std::path::Path;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixListener;
use tokio_util::codec::Framed;
use wren_client::{Channel, Client};
use wren_test_support::within;
use wren_transport::codec::{Code, Decoded, Frame, FrameCodec, MessageType, Status, proto};
use wren_transport::{
    ConnectOptions, Endpoint, EndpointError, EndpointErrorKind, EndpointListener, Request, Response,
};

const SERVICE: &str = "wren.test.Echo";

#[derive(Clone, PartialEq, prost::Message)]
struct Echo {
    #[prost(string, tag = "1")]
    msg: String,
}

/// A frame-level ttrpc server that echoes every request's payload.
fn spawn_echo_server(mut listener: EndpointListener) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Ok(io) = listener.accept().await {
            tokio::spawn(async move {
                let mut framed = Framed::new(io, FrameCodec::new());
                while let Some(Ok(Decoded::Frame(frame))) = framed.next().await {
                    if frame.kind != MessageType::REQUEST {
                        continue;
                    }
                    let req = proto::Request::decode(frame.payload).unwrap();
                    let resp = proto::Response {
                        status: None,
                        payload: req.payload,
                    };
                    let reply = Frame::response(frame.stream_id, resp.encode_to_vec());
                    if framed.send(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    })
}

async fn echo(channel: &Channel, msg: &str) -> Result<String, Status> {
    let mut client = Client::new(channel.clone());
    let reply: Response<Echo> = within(
        "echo",
        client.unary(Request::new(Echo { msg: msg.into() }), SERVICE, "Echo"),
    )
    .await?;
    Ok(reply.into_inner().msg)
}

#[tokio::test]
async fn connect_takes_uris_and_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("echo.sock");
    let endpoint = Endpoint::unix(&path);
    let _server = spawn_echo_server(endpoint.bind().await.unwrap());
    let uri = format!("unix://{}", path.display());

    let by_str = Channel::connect(uri.as_str()).await.unwrap();
    let by_string = Channel::connect(uri.clone()).await.unwrap();
    let by_ref = Channel::connect(&endpoint).await.unwrap();
    let by_value = Channel::connect(endpoint.clone()).await.unwrap();
    let by_path = Channel::connect(path.to_str().unwrap()).await.unwrap();
    for (i, channel) in [by_str, by_string, by_ref, by_value, by_path]
        .iter()
        .enumerate()
    {
        let msg = format!("hello {i}");
        assert_eq!(echo(channel, &msg).await.unwrap(), msg);
    }
}

#[tokio::test]
async fn connect_over_tcp_and_abstract_sockets() {
    let listener = Endpoint::tcp("127.0.0.1", 0).bind().await.unwrap();
    let tcp = listener.local_endpoint().unwrap().unwrap();
    let _tcp = spawn_echo_server(listener);
    let channel = Channel::connect(tcp.to_string()).await.unwrap();
    assert_eq!(echo(&channel, "tcp").await.unwrap(), "tcp");

    if cfg!(target_os = "linux") {
        let name = format!("wren-client-test-{}", std::process::id());
        let endpoint = Endpoint::parse(&format!("unix://@{name}")).unwrap();
        let _abstract = spawn_echo_server(endpoint.bind().await.unwrap());
        let channel = Channel::connect(&endpoint).await.unwrap();
        assert_eq!(echo(&channel, "abstract").await.unwrap(), "abstract");
    }
}

#[tokio::test]
async fn the_builder_settings_apply_to_endpoint_connections() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = Endpoint::unix(dir.path().join("echo.sock"));
    let _server = spawn_echo_server(endpoint.bind().await.unwrap());
    let channel = Channel::builder()
        .max_message_size(64)
        .connect(&endpoint)
        .await
        .unwrap();
    assert_eq!(echo(&channel, "small").await.unwrap(), "small");
    let err = echo(&channel, &"x".repeat(100)).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
}

#[tokio::test]
async fn bad_input_and_absent_servers() {
    for (uri, kind) in [
        ("", EndpointErrorKind::Empty),
        ("ftp://x:1", EndpointErrorKind::UnknownScheme("ftp".into())),
        (
            "tcp://127.0.0.1:70000",
            EndpointErrorKind::PortOutOfRange {
                value: "70000".into(),
                max: 65535,
            },
        ),
        ("vsock://x:1024", EndpointErrorKind::InvalidCid("x".into())),
    ] {
        let err = Channel::connect(uri).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{uri:?}");
        let source = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<EndpointError>())
            .expect("the EndpointError is the source");
        assert_eq!(source.kind(), &kind);
    }

    let dir = tempfile::tempdir().unwrap();
    let err = Channel::connect(Endpoint::unix(dir.path().join("absent.sock")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
}

// ===== hybrid vsock =====

#[derive(Clone, Copy)]
enum Proxy {
    Forward,
    Refuse,
    Silent,
}

/// A VMM's hybrid vsock socket: for `CONNECT <port>` answers per
/// `behaviour`, forwarding accepted connections to `guest`.
fn spawn_proxy(path: &Path, port: u32, guest: Endpoint, behaviour: Proxy) {
    let listener = UnixListener::bind(path).unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let guest = guest.clone();
            tokio::spawn(async move {
                let mut line = Vec::new();
                let mut b = [0u8];
                while stream.read(&mut b).await.unwrap_or(0) == 1 && b[0] != b'\n' {
                    line.push(b[0]);
                }
                match behaviour {
                    Proxy::Forward if line == format!("CONNECT {port}").as_bytes() => {
                        let mut to_guest = guest.connect().await.unwrap();
                        stream.write_all(b"OK 1073741824\n").await.unwrap();
                        let _ = tokio::io::copy_bidirectional(&mut stream, &mut to_guest).await;
                    }
                    Proxy::Forward | Proxy::Refuse => {
                        let _ = stream.write_all(b"FAILURE\n").await;
                    }
                    Proxy::Silent => {
                        let mut rest = Vec::new();
                        let _ = stream.read_to_end(&mut rest).await;
                    }
                }
            });
        }
    });
}

#[tokio::test]
async fn hybrid_vsock_ok_refused_and_silent() {
    let dir = tempfile::tempdir().unwrap();
    let guest = Endpoint::unix(dir.path().join("guest.sock"));
    let _server = spawn_echo_server(guest.bind().await.unwrap());
    let vmm = dir.path().join("vmm.hvsock");
    spawn_proxy(&vmm, 1024, guest.clone(), Proxy::Forward);

    let channel = within(
        "hvsock",
        Channel::connect(format!("hvsock://{}:1024", vmm.display())),
    )
    .await
    .unwrap();
    assert_eq!(echo(&channel, "via vmm").await.unwrap(), "via vmm");
    assert_eq!(echo(&channel, "again").await.unwrap(), "again");

    let err = within(
        "wrong port",
        Channel::connect(format!("hvsock://{}:1025", vmm.display())),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");

    let refusing = dir.path().join("refusing.hvsock");
    spawn_proxy(&refusing, 1024, guest.clone(), Proxy::Refuse);
    let err = within(
        "refused",
        Channel::connect(format!("hvsock://{}:1024", refusing.display())),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");

    let silent = dir.path().join("silent.hvsock");
    spawn_proxy(&silent, 1024, guest.clone(), Proxy::Silent);
    let options = ConnectOptions::new().handshake_timeout(Duration::from_millis(150));
    let err = within(
        "silent",
        Channel::builder()
            .connect_with_options(format!("hvsock://{}:1024", silent.display()), &options),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
}
