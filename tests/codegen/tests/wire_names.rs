//! The names generated code puts on the wire: the proto service's full name
//! and the method's name as written in the proto file, whatever the Rust
//! names are; and the replies for methods the server does not serve.

mod support;

use codegen_tests::collide::{self, services};
use codegen_tests::common::v1::ThingRef;
use codegen_tests::hello::v1::{self as hello, HelloRequest};
use support::{RecordLayer, pairs, take};
use tower::{Layer, Service, ServiceExt};
use wren_rpc::codegen::MethodKind;
use wren_rpc::server::NamedService;
use wren_rpc::{Body, Client, Code, Request};

use hello::greeter_client::GreeterClient;
use hello::greeter_server::GreeterServer;
use services::result_client::ResultClient;
use services::result_server::ResultServer;

#[tokio::test(flavor = "current_thread")]
async fn clients_send_proto_service_and_method_names() {
    let record = RecordLayer::default();

    let mut greeter = GreeterClient::new(record.layer(GreeterServer::new(support::Greeter)));
    greeter
        .say_hello(HelloRequest {
            name: "n".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    greeter.get_thing(ThingRef::default()).await.unwrap();
    greeter.ping(()).await.unwrap();
    assert_eq!(
        pairs(&take(&record.seen)),
        [
            ("hello.v1.Greeter", "SayHello"),
            ("hello.v1.Greeter", "get_thing"),
            ("hello.v1.Greeter", "Ping"),
        ]
    );

    let mut result = ResultClient::new(record.layer(ResultServer::new(support::Collide)));
    result.r#match(collide::Request::default()).await.unwrap();
    result.r#type(collide::Self_::default()).await.unwrap();
    result.get_thing(collide::Option::default()).await.unwrap();
    result.new_(collide::Future::default()).await.unwrap();
    result
        .with_interceptor_(collide::Future::default())
        .await
        .unwrap();
    result.call(collide::Body::default()).await.unwrap();
    assert_eq!(
        pairs(&take(&record.seen)),
        [
            ("collide.services.Result", "Match"),
            ("collide.services.Result", "type"),
            ("collide.services.Result", "get_thing"),
            ("collide.services.Result", "New"),
            ("collide.services.Result", "WithInterceptor"),
            ("collide.services.Result", "Call"),
        ]
    );

    let mut send = services::send_client::SendClient::new(
        record.layer(services::send_server::SendServer::new(support::Collide)),
    );
    send.self_(collide::Self_::default()).await.unwrap();
    let mut this = services::self_client::SelfClient::new(
        record.layer(services::self_server::SelfServer::new(support::Collide)),
    );
    this.r#async(collide::Future::default()).await.unwrap();
    assert_eq!(
        pairs(&take(&record.seen)),
        [
            ("collide.services.Send", "Self"),
            ("collide.services.Self", "async"),
        ]
    );
}

#[test]
fn servers_know_their_names_and_methods() {
    assert_eq!(hello::greeter_server::SERVICE_NAME, "hello.v1.Greeter");
    assert_eq!(hello::greeter_client::SERVICE_NAME, "hello.v1.Greeter");
    assert_eq!(
        GreeterServer::new(support::Greeter).service_name(),
        "hello.v1.Greeter"
    );
    assert_eq!(
        ResultServer::new(support::Collide).service_name(),
        "collide.services.Result"
    );
    assert_eq!(
        codegen_tests::containerd::task::v2::task_server::SERVICE_NAME,
        "containerd.task.v2.Task"
    );
    assert_eq!(
        hello::greeter_server::METHODS,
        [
            ("SayHello", MethodKind::Unary),
            ("get_thing", MethodKind::Unary),
            ("Ping", MethodKind::Unary),
        ]
    );
    assert_eq!(
        services::result_server::METHODS,
        [
            ("Match", MethodKind::Unary),
            ("type", MethodKind::Unary),
            ("get_thing", MethodKind::Unary),
            ("New", MethodKind::Unary),
            ("WithInterceptor", MethodKind::Unary),
            ("Call", MethodKind::Unary),
            ("Watch", MethodKind::ServerStreaming),
            ("Upload", MethodKind::ClientStreaming),
            ("Chat", MethodKind::Bidi),
        ]
    );
}

/// Calls `method` on `service` with an empty body, as a raw ttrpc request.
async fn raw_call<S>(service: S, method: &str) -> Result<wren_rpc::Response<Body>, wren_rpc::Status>
where
    S: Service<Request<Body>, Response = wren_rpc::Response<Body>, Error = wren_rpc::Status>,
{
    let mut req = Request::new(Body::empty());
    req.set_path("whatever.the.Router.said", method.to_owned());
    service.oneshot(req).await
}

#[tokio::test(flavor = "current_thread")]
async fn unknown_methods_are_unimplemented() {
    let server = GreeterServer::new(support::Greeter);
    let err = raw_call(server.clone(), "SayGoodbye").await.unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    assert_eq!(err.message(), "method SayGoodbye");

    // Wire names are matched exactly: the Rust name is not a wire name.
    let err = raw_call(server.clone(), "say_hello").await.unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    let err = raw_call(server.clone(), "GetThing").await.unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);

    // And the typed client reports the same status.
    let mut client = Client::new(server);
    let err = client
        .unary::<(), ()>(Request::new(()), "hello.v1.Greeter", "Nope")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    assert_eq!(err.message(), "method Nope");
}

#[tokio::test(flavor = "current_thread")]
async fn streaming_methods_are_registered_with_their_kinds() {
    use wren_rpc::MethodKind;
    use wren_rpc::server::NamedService;
    let server = ResultServer::new(support::Collide);
    assert_eq!(server.method_kind("Watch"), MethodKind::ServerStreaming);
    assert_eq!(server.method_kind("Upload"), MethodKind::ClientStreaming);
    assert_eq!(server.method_kind("Chat"), MethodKind::Bidi);
    assert_eq!(server.method_kind("Match"), MethodKind::Unary);
    assert_eq!(server.method_kind("Nope"), MethodKind::Unary);
}

#[tokio::test(flavor = "current_thread")]
async fn a_request_that_does_not_decode_is_invalid_argument() {
    let server = GreeterServer::new(support::Greeter);
    let mut req = Request::new(Body::from(vec![0xff, 0xff, 0xff]));
    req.set_path("hello.v1.Greeter", "SayHello");
    let err = server.oneshot(req).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}
