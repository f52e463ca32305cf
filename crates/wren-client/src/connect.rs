//! Connecting a [`Channel`] to an [`Endpoint`](wren_transport::Endpoint).

use std::io;

use wren_transport::{ConnectOptions, IntoEndpoint};

use crate::{Builder, Channel};

impl Builder {
    /// Connects to `endpoint`: an [`Endpoint`](wren_transport::Endpoint)
    /// or a URI — `unix:///run/x.sock` (or a bare absolute path),
    /// `unix://@name`, `tcp://host:port`, `vsock://CID:PORT` (with
    /// wren-transport's `vsock` feature), `hvsock:///path/to/vmm.sock:PORT`
    /// (hybrid vsock: `CONNECT PORT` on the VMM's unix socket first). TCP
    /// connections get `TCP_NODELAY`.
    ///
    /// An invalid URI fails with `InvalidInput`, its
    /// [`EndpointError`](wren_transport::EndpointError) as the source.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub async fn connect(self, endpoint: impl IntoEndpoint) -> io::Result<Channel> {
        self.connect_with_options(endpoint, &ConnectOptions::default())
            .await
    }

    /// Connects to `endpoint` with explicit [`ConnectOptions`]: a hybrid
    /// vsock handshake timeout, an overall connect timeout, `TCP_NODELAY`.
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use wren_client::Channel;
    /// use wren_transport::ConnectOptions;
    ///
    /// let options = ConnectOptions::new().handshake_timeout(Duration::from_secs(3));
    /// let channel = Channel::builder()
    ///     .connect_with_options("hvsock:///run/vc/firecracker/abc/root/kata.hvsock:1024", &options)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub async fn connect_with_options(
        self,
        endpoint: impl IntoEndpoint,
        options: &ConnectOptions,
    ) -> io::Result<Channel> {
        let endpoint = endpoint.into_endpoint()?;
        let io = endpoint.connect_with(options).await?;
        Ok(self.connect_with(io))
    }
}

impl Channel {
    /// Connects to `endpoint` (an [`Endpoint`](wren_transport::Endpoint) or
    /// a URI) with default settings; see [`Builder::connect`].
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// let channel = wren_client::Channel::connect("unix:///run/containerd/containerd.sock.ttrpc").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub async fn connect(endpoint: impl IntoEndpoint) -> io::Result<Channel> {
        Builder::default().connect(endpoint).await
    }
}
