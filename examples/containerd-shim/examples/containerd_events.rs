//! Decoding containerd's events: the `Any` in each event envelope, whose
//! type URL is a bare message name.
//!
//! Run with `cargo run -p containerd-shim-example --example containerd_events`
//! (needs containerd's protos: Debian's `golang-github-containerd-containerd-dev`
//! and `golang-github-gogo-protobuf-dev`; no root, no containerd).
//!
//! A shim publishes each event by calling
//! `containerd.services.events.ttrpc.v1.Events/Forward` with an envelope: a
//! timestamp, a namespace, a topic (`/tasks/exit`) and the event in a
//! `google.protobuf.Any`. containerd's Go `typeurl` names the event by its
//! bare full name, `containerd.events.TaskExit`, which prost's
//! `Any::to_msg` refuses (it wants a `/`). `wren_rpc::containerd::unpack`
//! takes it, `is` tells the type without decoding, and `pack` writes it
//! the way containerd does.
//!
//! Here a wren client plays the shim and a wren server plays containerd;
//! `tests/shim.rs` decodes the events Debian's real
//! `containerd-shim-runc-v2` sends the same way.

#[cfg(not(containerd_protos_missing))]
mod example {
    use std::time::SystemTime;

    use containerd_shim_example::api::containerd::events::{ContainerCreate, TaskExit, TaskOom};
    use containerd_shim_example::api::containerd::services::events::ttrpc::v1::events_client::EventsClient;
    use containerd_shim_example::api::containerd::services::events::ttrpc::v1::events_server::{
        Events, EventsServer,
    };
    use containerd_shim_example::api::containerd::services::events::ttrpc::v1::{
        Envelope, ForwardRequest,
    };
    use tokio::sync::mpsc;
    use wren_rpc::prost_types::{Any, Timestamp};
    use wren_rpc::{Channel, Request, Response, Server, Status, containerd};

    /// The events this subscriber understands; containerd has many more.
    #[derive(Debug)]
    pub(super) enum TaskEvent {
        Exit(TaskExit),
        Oom(TaskOom),
        /// Another type, by its type URL: not an error, just not ours.
        Other(String),
    }

    impl TaskEvent {
        fn decode(any: &Any) -> Result<TaskEvent, containerd::UnpackError> {
            Ok(if containerd::is::<TaskExit>(any) {
                TaskEvent::Exit(containerd::unpack(any)?)
            } else if containerd::is::<TaskOom>(any) {
                TaskEvent::Oom(containerd::unpack(any)?)
            } else {
                TaskEvent::Other(any.type_url.clone())
            })
        }
    }

    /// containerd's side: receives envelopes and decodes their events.
    struct Subscriber {
        events: mpsc::UnboundedSender<(String, TaskEvent)>,
    }

    impl Events for Subscriber {
        async fn forward(&self, req: Request<ForwardRequest>) -> Result<Response<()>, Status> {
            let envelope = req
                .into_inner()
                .envelope
                .ok_or_else(|| Status::invalid_argument("no envelope"))?;
            let any = envelope
                .event
                .ok_or_else(|| Status::invalid_argument("no event"))?;
            // An event that claims a type and does not decode as it is the
            // publisher's error: `UnpackError` converts to INVALID_ARGUMENT.
            let event = TaskEvent::decode(&any)?;
            println!(
                "subscriber: {} in {:?}, type {:?}: {event:?}",
                envelope.topic, envelope.namespace, any.type_url
            );
            let _ = self.events.send((envelope.topic, event));
            Ok(Response::new(()))
        }
    }

    /// An envelope as a shim builds one.
    fn envelope(topic: &str, event: Any) -> ForwardRequest {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        ForwardRequest {
            envelope: Some(Envelope {
                timestamp: Some(Timestamp {
                    seconds: i64::try_from(now.as_secs()).unwrap_or(i64::MAX),
                    nanos: i32::try_from(now.subsec_nanos()).unwrap_or(0),
                }),
                namespace: "default".into(),
                topic: topic.into(),
                event: Some(event),
            }),
        }
    }

    pub(super) async fn run() -> Result<(), Box<dyn std::error::Error>> {
        let exit = TaskExit {
            container_id: "web".into(),
            id: "web".into(),
            pid: 4242,
            exit_status: 137,
            exited_at: None,
        };

        // containerd's bare type URL, and why prost alone cannot read it.
        let any = containerd::pack(&exit);
        println!("packed:     type URL {:?}", any.type_url);
        assert_eq!(any.type_url, "containerd.events.TaskExit");
        let refused = any.to_msg::<TaskExit>().unwrap_err();
        println!("prost:      Any::to_msg refuses it: {refused}");
        assert_eq!(containerd::unpack::<TaskExit>(&any)?, exit);

        let dir = tempfile::tempdir()?;
        let path = dir.path().join("containerd.sock.ttrpc");
        let (events, mut received) = mpsc::unbounded_channel();
        let router = Server::builder().add_service(EventsServer::new(Subscriber { events }));
        let shutdown = router.shutdown_handle();
        let server = tokio::spawn(router.serve(tokio::net::UnixListener::bind(&path)?));

        // The publisher: every Forward carries the namespace in its metadata
        // too, as a shim's do.
        let channel = Channel::connect_unix(&path).await?;
        let mut publisher =
            EventsClient::with_interceptor(channel, containerd::namespace_interceptor("default"));
        publisher.forward(envelope("/tasks/exit", any)).await?;
        let oom = TaskOom {
            container_id: "web".into(),
        };
        publisher
            .forward(envelope("/tasks/oom", containerd::pack(&oom)))
            .await?;
        // The prefixed form decodes just the same.
        let prefixed = Any {
            type_url: "type.googleapis.com/containerd.events.TaskExit".into(),
            value: containerd::pack(&exit).value,
        };
        publisher.forward(envelope("/tasks/exit", prefixed)).await?;
        // A type this subscriber does not know is kept as its URL.
        let create = ContainerCreate {
            id: "web".into(),
            image: "docker.io/library/nginx:latest".into(),
            runtime: None,
        };
        publisher
            .forward(envelope("/containers/create", containerd::pack(&create)))
            .await?;
        // An event whose bytes are not what its type URL says is refused.
        let broken = Any {
            type_url: "containerd.events.TaskExit".into(),
            value: vec![0x0a, 0x10, b'x'],
        };
        let err = publisher
            .forward(envelope("/tasks/exit", broken))
            .await
            .unwrap_err();
        println!("broken:     {} ({})", err.code(), err.message());
        assert_eq!(err.code(), wren_rpc::Code::InvalidArgument);

        shutdown.shutdown().await;
        server.await??;
        let mut seen = Vec::new();
        while let Ok((topic, event)) = received.try_recv() {
            seen.push((topic, event));
        }
        assert_eq!(seen.len(), 4);
        assert!(matches!(&seen[0], (t, TaskEvent::Exit(e)) if t == "/tasks/exit" && *e == exit));
        assert!(matches!(&seen[1], (_, TaskEvent::Oom(e)) if *e == oom));
        assert!(matches!(&seen[2], (_, TaskEvent::Exit(e)) if *e == exit));
        assert!(
            matches!(&seen[3], (_, TaskEvent::Other(url)) if url == "containerd.events.ContainerCreate")
        );
        println!("decoded:    {} events", seen.len());
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
