//! vsock endpoints. With the `vsock` feature on Linux: binding always, and a
//! round trip through the `vsock_loopback` kernel module where it is loaded
//! (the test says why when it is not). Without the feature: a clear
//! `Unsupported` error.
#![allow(missing_docs)]

use std::io;

use wren_transport::{Endpoint, VMADDR_CID_ANY};

#[cfg(not(all(feature = "vsock", any(target_os = "linux", target_os = "android"))))]
#[tokio::test]
async fn vsock_without_the_feature_is_unsupported() {
    let endpoint = Endpoint::parse("vsock://-1:1024").unwrap();
    assert_eq!(endpoint, Endpoint::vsock(VMADDR_CID_ANY, 1024));
    let err = endpoint.bind().await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported);
    assert!(err.to_string().contains("vsock"), "{err}");
    let err = Endpoint::vsock(3, 1024).connect().await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported);
}

#[cfg(all(feature = "vsock", any(target_os = "linux", target_os = "android")))]
mod with_feature {
    use super::*;
    use std::path::Path;
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use wren_transport::{ConnectOptions, EndpointListener, PeerAddr, VMADDR_CID_LOCAL};

    /// A listener on some free port of every context, or why there is none.
    async fn bind_any() -> Result<(EndpointListener, u32), String> {
        if !Path::new("/dev/vsock").exists() {
            return Err("no /dev/vsock: this kernel has no vsock support".into());
        }
        // Ports from 1024 up need no privilege; try a few in a range unlikely to be used.
        let base = 40_000 + (std::process::id() % 10_000);
        let mut last = None;
        for port in base..base + 50 {
            match Endpoint::vsock(VMADDR_CID_ANY, port).bind().await {
                Ok(listener) => return Ok((listener, port)),
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = Some(e),
                Err(e) => return Err(format!("binding a vsock socket failed: {e}")),
            }
        }
        Err(format!("no free vsock port: {last:?}"))
    }

    #[tokio::test]
    async fn vsock_bind_and_address_in_use() {
        let (listener, port) = match bind_any().await {
            Ok(bound) => bound,
            Err(why) => {
                eprintln!("vsock bind test did not run: {why}");
                return;
            }
        };
        assert_eq!(
            listener.local_endpoint().unwrap(),
            Some(Endpoint::vsock(VMADDR_CID_ANY, port))
        );
        let err = Endpoint::vsock(VMADDR_CID_ANY, port)
            .bind()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
    }

    #[tokio::test]
    async fn vsock_loopback_round_trip() {
        // Without the loopback transport a connection to CID 1 would leave the
        // machine for the hypervisor; only run where the module is loaded.
        if !Path::new("/sys/module/vsock_loopback").exists() {
            eprintln!(
                "vsock loopback test did not run: the vsock_loopback kernel module is not loaded \
                 (modprobe vsock_loopback, as root, where the kernel has it)"
            );
            return;
        }
        let (mut listener, port) = match bind_any().await {
            Ok(bound) => bound,
            Err(why) => {
                eprintln!("vsock loopback test did not run: {why}");
                return;
            }
        };
        let endpoint = Endpoint::parse(&format!("vsock://{VMADDR_CID_LOCAL}:{port}")).unwrap();
        let options = ConnectOptions::new().connect_timeout(Duration::from_secs(5));
        let (client, server) = tokio::join!(endpoint.connect_with(&options), listener.accept());
        let (mut client, mut server) = (client.unwrap(), server.unwrap());
        client.write_all(b"over vsock").await.unwrap();
        let mut buf = [0u8; 10];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"over vsock");
        let info = wren_transport::Listener::connect_info(&listener, &server);
        assert!(
            matches!(info.peer_addr(), Some(PeerAddr::Vsock { .. })),
            "{info:?}"
        );
        assert!(info.credentials().is_none());

        // Nothing listens on the next port: the connection is refused.
        let err = Endpoint::vsock(VMADDR_CID_LOCAL, port + 1000)
            .connect_with(&options)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset
            ),
            "{err}"
        );
    }
}
