//! The reflection service on a wren server over a unix socket: the raw
//! protocol (several requests on one stream, errors, imports sent once),
//! both versions, and the client building a descriptor pool from it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use prost::Message;
use prost_types::FileDescriptorProto;
use wren_client::{Channel, Client};
use wren_reflection::pb::server_reflection_request::MessageRequest;
use wren_reflection::pb::server_reflection_response::MessageResponse;
use wren_reflection::pb::{ExtensionRequest, ServerReflectionRequest, ServerReflectionResponse};
use wren_reflection::{Builder, ReflectionClient, SERVICE_NAME_V1, SERVICE_NAME_V1ALPHA};
use wren_server::{Methods, Server, ShutdownHandle};
use wren_transport::Request;
use wren_transport::codec::Code;

const LIMIT: Duration = Duration::from_secs(20);

fn proto_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto")
}

/// The interop streaming proto (which imports `google/protobuf/empty.proto`),
/// compiled with its imports.
fn streaming_set() -> prost_types::FileDescriptorSet {
    protox::compile(["interop/streaming.proto"], [proto_root()]).unwrap()
}

struct Served {
    _dir: tempfile::TempDir,
    path: PathBuf,
    shutdown: ShutdownHandle,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Served {
    async fn stop(self) {
        self.shutdown.shutdown().await;
        self.server.await.unwrap().unwrap();
    }
}

async fn serve(v1: bool, v1alpha: bool) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reflect.sock");
    let builder = || {
        Builder::new()
            .register_file_descriptor_set(streaming_set())
            .register_encoded_file_descriptor_set(wren_health::FILE_DESCRIPTOR_SET)
    };
    let (_reporter, health) = wren_health::health_reporter();
    let mut router = Server::builder()
        .add_service(health)
        .add_service(Methods::new("wren.interop.streaming.v1.Streaming"));
    if v1 {
        router = router.add_service(builder().build_v1().unwrap());
    }
    if v1alpha {
        router = router.add_service(builder().build_v1alpha().unwrap());
    }
    let shutdown = router.shutdown_handle();
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let server = tokio::spawn(router.serve(listener));
    Served {
        _dir: dir,
        path,
        shutdown,
        server,
    }
}

fn request(message: MessageRequest) -> ServerReflectionRequest {
    ServerReflectionRequest {
        host: "localhost".into(),
        message_request: Some(message),
    }
}

fn file_names(response: &ServerReflectionResponse) -> Vec<String> {
    match &response.message_response {
        Some(MessageResponse::FileDescriptorResponse(files)) => files
            .file_descriptor_proto
            .iter()
            .map(|b| {
                FileDescriptorProto::decode(b.as_slice())
                    .unwrap()
                    .name()
                    .to_owned()
            })
            .collect(),
        other => panic!("not files: {other:?}"),
    }
}

#[tokio::test]
async fn one_stream_answers_every_request_in_order() {
    tokio::time::timeout(LIMIT, async {
        let served = serve(true, true).await;
        let mut client = Client::new(Channel::connect_unix(&served.path).await.unwrap());
        for service in [SERVICE_NAME_V1, SERVICE_NAME_V1ALPHA] {
            let requests = vec![
                request(MessageRequest::ListServices(String::new())),
                request(MessageRequest::FileContainingSymbol(
                    "wren.interop.streaming.v1.Streaming.SumStream".into(),
                )),
                request(MessageRequest::FileContainingSymbol(
                    "no.such.Symbol".into(),
                )),
                // Already sent on this stream with the file above: only
                // the file itself comes back.
                request(MessageRequest::FileByFilename(
                    "google/protobuf/empty.proto".into(),
                )),
                request(MessageRequest::FileContainingSymbol(
                    "grpc.health.v1.HealthCheckResponse.SERVING".into(),
                )),
                request(MessageRequest::AllExtensionNumbersOfType(
                    "wren.interop.streaming.v1.Part".into(),
                )),
                request(MessageRequest::FileContainingExtension(ExtensionRequest {
                    containing_type: "google.protobuf.MethodOptions".into(),
                    extension_number: 1000,
                })),
            ];
            let sent = requests.len();
            let replies: Vec<ServerReflectionResponse> = client
                .streaming::<_, _, ServerReflectionResponse>(
                    Request::new(futures_util::stream::iter(requests.clone())),
                    service,
                    "ServerReflectionInfo",
                )
                .await
                .unwrap()
                .into_inner()
                .map(Result::unwrap)
                .collect()
                .await;
            assert_eq!(replies.len(), sent, "{service}");
            for (reply, request) in replies.iter().zip(&requests) {
                assert_eq!(reply.original_request.as_ref(), Some(request));
                assert_eq!(reply.valid_host, "localhost");
            }

            let Some(MessageResponse::ListServicesResponse(list)) = &replies[0].message_response
            else {
                panic!("{:?}", replies[0]);
            };
            let names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
            assert_eq!(
                names,
                [
                    "grpc.health.v1.Health",
                    service,
                    "wren.interop.streaming.v1.Streaming"
                ]
            );
            assert_eq!(
                file_names(&replies[1]),
                ["interop/streaming.proto", "google/protobuf/empty.proto"]
            );
            match &replies[2].message_response {
                Some(MessageResponse::ErrorResponse(e)) => {
                    assert_eq!(e.error_code, Code::NotFound as i32);
                    assert!(e.error_message.contains("no.such.Symbol"), "{e:?}");
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(file_names(&replies[3]), ["google/protobuf/empty.proto"]);
            // Enum values are found in their enum's scope.
            assert_eq!(file_names(&replies[4]), ["grpc/health/v1/health.proto"]);
            match &replies[5].message_response {
                Some(MessageResponse::AllExtensionNumbersResponse(n)) => {
                    assert_eq!(n.base_type_name, "wren.interop.streaming.v1.Part");
                    assert!(n.extension_number.is_empty());
                }
                other => panic!("{other:?}"),
            }
            assert!(matches!(
                &replies[6].message_response,
                Some(MessageResponse::ErrorResponse(e)) if e.error_code == Code::NotFound as i32
            ));
        }
        drop(client);
        served.stop().await;
    })
    .await
    .expect("the test hung");
}

#[tokio::test]
async fn the_client_builds_a_descriptor_pool() {
    tokio::time::timeout(LIMIT, async {
        let served = serve(true, false).await;
        let channel = Channel::connect_unix(&served.path).await.unwrap();
        let mut reflection = ReflectionClient::new(channel);
        let services = reflection.list_services().await.unwrap();
        assert_eq!(reflection.service_name(), SERVICE_NAME_V1);
        assert!(
            services
                .iter()
                .any(|s| s == "wren.interop.streaming.v1.Streaming"),
            "{services:?}"
        );
        let set = reflection.file_descriptor_set(&services).await.unwrap();
        let pool = prost_reflect::DescriptorPool::from_file_descriptor_set(set).unwrap();
        let streaming = pool
            .get_service_by_name("wren.interop.streaming.v1.Streaming")
            .unwrap();
        let sum = streaming
            .methods()
            .find(|m| m.name() == "SumStream")
            .unwrap();
        assert!(sum.is_client_streaming() && !sum.is_server_streaming());
        assert_eq!(sum.output().full_name(), "wren.interop.streaming.v1.Sum");
        assert!(pool.get_service_by_name(SERVICE_NAME_V1).is_some());
        assert!(pool.get_service_by_name("grpc.health.v1.Health").is_some());

        let missing = reflection.file_by_filename("nope.proto").await.unwrap_err();
        assert_eq!(missing.code(), Code::NotFound);
        drop(reflection);
        served.stop().await;
    })
    .await
    .expect("the test hung");
}

#[tokio::test]
async fn the_client_falls_back_to_v1alpha() {
    tokio::time::timeout(LIMIT, async {
        let served = serve(false, true).await;
        let channel = Channel::connect_unix(&served.path).await.unwrap();
        let mut reflection = ReflectionClient::new(channel);
        let services = reflection.list_services().await.unwrap();
        assert_eq!(reflection.service_name(), SERVICE_NAME_V1ALPHA);
        assert!(
            services.iter().any(|s| s == SERVICE_NAME_V1ALPHA),
            "{services:?}"
        );
        assert!(
            !services.iter().any(|s| s == SERVICE_NAME_V1),
            "{services:?}"
        );
        drop(reflection);
        served.stop().await;
    })
    .await
    .expect("the test hung");
}

#[tokio::test]
async fn a_server_without_reflection_is_unimplemented() {
    tokio::time::timeout(LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain.sock");
        let router = Server::builder().add_service(Methods::new("plain.v1.Plain"));
        let shutdown = router.shutdown_handle();
        let server = tokio::spawn(router.serve(tokio::net::UnixListener::bind(&path).unwrap()));
        let mut reflection = ReflectionClient::new(Channel::connect_unix(&path).await.unwrap());
        let err = reflection.list_services().await.unwrap_err();
        assert_eq!(err.code(), Code::Unimplemented, "{err:?}");
        drop(reflection);
        shutdown.shutdown().await;
        server.await.unwrap().unwrap();
    })
    .await
    .expect("the test hung");
}

#[test]
fn conflicting_files_are_an_error() {
    let mut set = streaming_set();
    let mut other = set.clone();
    other.file.last_mut().unwrap().message_type.clear();
    set.file.extend(other.file);
    let err = Builder::new()
        .register_file_descriptor_set(set)
        .build_v1()
        .unwrap_err();
    assert!(err.to_string().contains("interop/streaming.proto"), "{err}");
    let err = Builder::new()
        .register_encoded_file_descriptor_set(b"\xff\xff")
        .build_v1()
        .unwrap_err();
    assert!(err.to_string().contains("does not decode"), "{err}");
}
