//! containerd's namespaces over ttrpc: every call carries one in its
//! metadata, under `containerd-namespace-ttrpc`.
//!
//! Run with `cargo run -p containerd-shim-example --example containerd_namespace`
//! (needs containerd's protos: Debian's `golang-github-containerd-containerd-dev`
//! and `golang-github-gogo-protobuf-dev`; no root, no containerd).
//!
//! - A client puts every call in one namespace with
//!   `containerd::namespace_interceptor("k8s.io")`; one call can name
//!   another with `containerd::set_namespace`.
//! - A server reads it with `containerd::namespace(&req)`, or refuses calls
//!   without one, as containerd does, with `containerd::namespace_required`
//!   (`FAILED_PRECONDITION`, `namespace is required`), here in an
//!   interceptor so that no handler runs without a namespace.

#[cfg(not(containerd_protos_missing))]
mod example {
    use containerd_shim_example::api::containerd::services::events::ttrpc::v1::events_client::EventsClient;
    use containerd_shim_example::api::containerd::services::events::ttrpc::v1::events_server::{
        Events, EventsServer,
    };
    use containerd_shim_example::api::containerd::services::events::ttrpc::v1::{
        Envelope, ForwardRequest,
    };
    use wren_rpc::{Channel, Code, Request, Response, Server, Status, containerd};

    /// A server that reports the namespace each call came in.
    struct NamespaceEcho;

    impl Events for NamespaceEcho {
        async fn forward(&self, req: Request<ForwardRequest>) -> Result<Response<()>, Status> {
            // The interceptor guarantees a namespace; read it.
            let namespace = containerd::namespace_required(&req)?.to_owned();
            let topic = req
                .into_inner()
                .envelope
                .map(|e| e.topic)
                .unwrap_or_default();
            println!("server: Forward {topic} in namespace {namespace:?}");
            Ok(Response::new(()))
        }
    }

    /// What containerd's services do first: no namespace, no call.
    fn require_namespace(req: Request<()>) -> Result<Request<()>, Status> {
        containerd::namespace_required(&req)?;
        Ok(req)
    }

    fn forward(topic: &str) -> ForwardRequest {
        ForwardRequest {
            envelope: Some(Envelope {
                topic: topic.into(),
                ..Envelope::default()
            }),
        }
    }

    pub(super) async fn run() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("events.sock");
        let router = Server::builder().add_service(EventsServer::with_interceptor(
            NamespaceEcho,
            require_namespace,
        ));
        let shutdown = router.shutdown_handle();
        let server = tokio::spawn(router.serve(tokio::net::UnixListener::bind(&path)?));
        let channel = Channel::connect_unix(&path).await?;

        // Every call of this client is in "k8s.io"...
        let mut client = EventsClient::with_interceptor(
            channel.clone(),
            containerd::namespace_interceptor("k8s.io"),
        );
        client.forward(forward("/first")).await?;
        // ...unless the call names its own.
        let mut req = Request::new(forward("/second"));
        containerd::set_namespace(&mut req, "moby");
        client.forward(req).await?;
        // A client that names none is refused.
        let err = EventsClient::new(channel)
            .forward(forward("/third"))
            .await
            .unwrap_err();
        println!("no namespace: {} ({})", err.code(), err.message());
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert_eq!(err.message(), "namespace is required");

        shutdown.shutdown().await;
        server.await??;
        Ok(())
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    #[cfg(not(containerd_protos_missing))]
    let result = example::run().await;
    // Without containerd's protos there is nothing to run; this says so.
    #[cfg(containerd_protos_missing)]
    let result = Ok(());
    containerd_shim_example::example_exit(result)
}
