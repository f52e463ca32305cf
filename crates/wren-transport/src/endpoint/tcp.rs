//! `tcp://` endpoints. Both sides set `TCP_NODELAY` by default: ttrpc's
//! small frames would otherwise wait on Nagle's algorithm.

use std::io;

use super::listener::EndpointListener;
use super::options::{BindOptions, ConnectOptions};
use super::stream::EndpointStream;

/// Binds a TCP listener on `host:port`.
pub(super) async fn bind(
    host: &str,
    port: u16,
    options: &BindOptions,
) -> io::Result<EndpointListener> {
    let listener = tokio::net::TcpListener::bind((host, port)).await?;
    Ok(EndpointListener::tcp(listener, options.tcp_nodelay))
}

/// Connects to `host:port`.
pub(super) async fn connect(
    host: &str,
    port: u16,
    options: &ConnectOptions,
) -> io::Result<EndpointStream> {
    let stream = tokio::net::TcpStream::connect((host, port)).await?;
    stream.set_nodelay(options.tcp_nodelay)?;
    Ok(EndpointStream::Tcp(stream))
}
