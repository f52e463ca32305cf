//! `vsock://` endpoints: `AF_VSOCK` through tokio-vsock (the `vsock`
//! feature, Linux).

use std::io;

use super::listener::EndpointListener;
use super::stream::EndpointStream;

#[cfg(all(feature = "vsock", any(target_os = "linux", target_os = "android")))]
mod imp {
    use super::*;
    use std::task::{Context, Poll};

    use tokio_vsock::{VsockAddr, VsockListener, VsockStream};

    use crate::endpoint::listener::Listener;
    use crate::endpoint::stream::vsock_connect_info;
    use crate::peer::ConnectInfo;

    pub(in crate::endpoint) fn bind(cid: u32, port: u32) -> io::Result<EndpointListener> {
        Ok(EndpointListener::vsock(VsockListener::bind(
            VsockAddr::new(cid, port),
        )?))
    }

    pub(in crate::endpoint) async fn connect(cid: u32, port: u32) -> io::Result<EndpointStream> {
        Ok(EndpointStream::Vsock(
            VsockStream::connect(VsockAddr::new(cid, port)).await?,
        ))
    }

    impl Listener for VsockListener {
        type Io = VsockStream;

        fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<VsockStream>> {
            VsockListener::poll_accept(self, cx).map_ok(|(io, _)| io)
        }

        fn connect_info(&self, io: &VsockStream) -> ConnectInfo {
            vsock_connect_info(io)
        }
    }
}

#[cfg(not(all(feature = "vsock", any(target_os = "linux", target_os = "android"))))]
mod imp {
    use super::*;

    fn unsupported() -> io::Error {
        io::Error::new(
            io::ErrorKind::Unsupported,
            if cfg!(any(target_os = "linux", target_os = "android")) {
                "vsock endpoints need wren-transport's `vsock` feature"
            } else {
                "vsock endpoints exist on Linux only"
            },
        )
    }

    pub(in crate::endpoint) fn bind(_cid: u32, _port: u32) -> io::Result<EndpointListener> {
        Err(unsupported())
    }

    pub(in crate::endpoint) async fn connect(_cid: u32, _port: u32) -> io::Result<EndpointStream> {
        Err(unsupported())
    }
}

pub(super) use imp::{bind, connect};
