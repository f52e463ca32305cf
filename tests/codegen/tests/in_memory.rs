//! Every generated client calling every generated server in memory: the
//! client is generic over any tower service, so a server is one.

mod support;

use std::time::Duration;

use codegen_tests::collide::{self, services};
use codegen_tests::common::v1::{Level, ThingRef, selector};
use codegen_tests::containerd::task::v2 as task;
use codegen_tests::hello::v1::{self as hello, HelloRequest};
use codegen_tests::{bare, secret};
use wren_rpc::prost_types::{Any, Timestamp};
use wren_rpc::{Code, Request};

use hello::clock_client::ClockClient;
use hello::clock_server::ClockServer;
use hello::greeter_client::GreeterClient;
use hello::greeter_server::GreeterServer;

#[tokio::test(flavor = "current_thread")]
async fn greeter_unary_calls() {
    let mut client = GreeterClient::new(GreeterServer::new(support::Greeter));

    // A bare message...
    let reply = client
        .say_hello(HelloRequest {
            name: "wren".into(),
            level: Level::Low as i32,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.message, "hello, wren");
    assert_eq!(
        reply.at,
        Some(Timestamp {
            seconds: 1,
            nanos: 2
        })
    );

    // ...or a Request, whose metadata and deadline reach the handler.
    let mut req = Request::new(HelloRequest {
        name: "wren".into(),
        ..Default::default()
    });
    req.metadata_mut().insert("tenant", "blue");
    req.set_timeout(Duration::from_secs(5));
    let reply = client.say_hello(req).await.unwrap().into_inner();
    assert_eq!(reply.message, "hello, wren of blue");

    // The handler's error comes back as it was.
    let err = client.say_hello(HelloRequest::default()).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(err.message(), "name must not be empty");

    // A type from another package, through a non-CamelCase method.
    let thing = client
        .get_thing(ThingRef { id: "7".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((thing.id.as_str(), thing.name.as_str()), ("7", "thing 7"));
    assert_eq!(thing.level(), Level::High);

    // google.protobuf.Empty is `()` both ways.
    let () = client.ping(()).await.unwrap().into_inner();
}

#[tokio::test(flavor = "current_thread")]
async fn second_service_in_the_same_file() {
    let mut client = ClockClient::new(ClockServer::new(support::Clock));
    let now = client.now(()).await.unwrap().into_inner();
    assert_eq!(now.now.map(|t| t.seconds), Some(42));
    assert_eq!(&now.raw[..], b"raw");
    let selector = now.selector.unwrap();
    assert_eq!(
        selector.by,
        Some(selector::By::Range(selector::Range { from: 1, to: 2 }))
    );
    assert_eq!(selector.note.as_deref(), Some("n"));
}

#[tokio::test(flavor = "current_thread")]
async fn clients_share_one_server_and_clone() {
    let server = GreeterServer::from_arc(std::sync::Arc::new(support::Greeter));
    let mut a = GreeterClient::new(server.clone());
    let mut b = a.clone();
    let (x, y) = tokio::join!(a.ping(()), b.ping(()));
    x.unwrap();
    y.unwrap();
    // `from_client` / `into_client` round-trip the typed client underneath.
    let mut c = GreeterClient::from_client(b.into_client());
    c.ping(()).await.unwrap();
    // server_attribute from build.rs: `#[derive(Default)]`.
    let _default: GreeterServer<support::Greeter> = GreeterServer::default();
}

#[tokio::test(flavor = "current_thread")]
async fn services_and_messages_named_like_rust_items() {
    // Messages named Box, Result, Option in the service's own package.
    let mut sync = collide::sync_client::SyncClient::new(collide::sync_server::SyncServer::new(
        support::Collide,
    ));
    let result: collide::Result = sync
        .get(collide::Option { set: true })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(result.code, 1);
    let option = sync
        .put(collide::Box { value: "x".into() })
        .await
        .unwrap()
        .into_inner();
    assert!(option.set);

    // A service named Result, with keyword methods.
    let mut result = services::result_client::ResultClient::new(
        services::result_server::ResultServer::new(support::Collide),
    );
    let reply = result
        .r#match(collide::Request {
            r#match: "m".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.r#async, "m");
    let boxed = result
        .r#type(collide::Self_ { r#type: "t".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(boxed.value, "t");
    let send = result
        .get_thing(collide::Option { set: true })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(send.data, [1]);
    // `New` collides with the client's constructor: the method is `new_`.
    let code = result
        .new_(collide::Future { at: 9 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code.code, 9);
    // So does `WithInterceptor`: the method is `with_interceptor_`.
    let code = result
        .with_interceptor_(collide::Future { at: 9 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code.code, -9);
    let status = result
        .call(collide::Body {
            r#box: Some(collide::Box {
                value: "abc".into(),
            }),
            option: Some(collide::Option { set: true }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.code, 4);

    // A service named Service.
    let mut service = services::service_client::ServiceClient::new(
        services::service_server::ServiceServer::new(support::Collide),
    );
    let arc = service
        .ready(collide::Arc { weak: "w".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(arc.weak, "W");

    // A service named Send, with a method named Self.
    let mut send = services::send_client::SendClient::new(services::send_server::SendServer::new(
        support::Collide,
    ));
    let same = send
        .self_(collide::Self_ { r#type: "s".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(same.r#type, "s");

    // A service named Self, with a method named async.
    let mut this = services::self_client::SelfClient::new(services::self_server::SelfServer::new(
        support::Collide,
    ));
    let next = this
        .r#async(collide::Future { at: 1 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(next.at, 2);
}

#[tokio::test(flavor = "current_thread")]
async fn services_with_custom_and_gogo_options() {
    let mut vault = secret::v1::vault_client::VaultClient::new(
        secret::v1::vault_server::VaultServer::new(support::Vault),
    );
    let receipt = vault
        .put(secret::v1::Secret {
            key: "k".into(),
            value: vec![1, 2, 3],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(receipt.version, 4);

    let mut shim =
        task::task_client::TaskClient::new(task::task_server::TaskServer::new(support::Task));
    let created = shim
        .create(task::CreateTaskRequest {
            id: "c1".into(),
            bundle: "/run/b".into(),
            terminal: false,
            options: Some(Any {
                type_url: "type.googleapis.com/runc.v1.Options".into(),
                value: vec![],
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.pid, 8);
    let started = shim
        .start(task::StartRequest {
            id: "c1".into(),
            exec_id: "e1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(started.pid, 2);
    let deleted = shim
        .delete(task::DeleteRequest { id: "c1".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(deleted.exit_status, 137);
    assert_eq!(deleted.exited_at.map(|t| t.seconds), Some(1_700_000_000));
    let err = shim
        .kill(task::KillRequest {
            id: "c1".into(),
            signal: 0,
            all: false,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    shim.kill(task::KillRequest {
        id: "c1".into(),
        signal: 9,
        all: true,
    })
    .await
    .unwrap();
    shim.shutdown(task::ShutdownRequest {
        id: "c1".into(),
        now: true,
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn service_from_a_file_without_a_package() {
    let mut client =
        bare::bare_client::BareClient::new(bare::bare_server::BareServer::new(support::Bare));
    let word = client
        .echo(bare::Word { text: "hi".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(word.text, "hi");
    assert_eq!(bare::bare_server::SERVICE_NAME, "Bare");
}

#[tokio::test(flavor = "current_thread")]
async fn the_include_file_holds_the_same_services() {
    use codegen_tests::all::hello::v1 as all_hello;

    struct Greeter;
    impl all_hello::greeter_server::Greeter for Greeter {
        async fn say_hello(
            &self,
            request: Request<all_hello::HelloRequest>,
        ) -> Result<wren_rpc::Response<all_hello::HelloReply>, wren_rpc::Status> {
            Ok(wren_rpc::Response::new(all_hello::HelloReply {
                message: request.into_inner().name,
                at: None,
            }))
        }
        async fn get_thing(
            &self,
            _request: Request<codegen_tests::all::common::v1::ThingRef>,
        ) -> Result<wren_rpc::Response<codegen_tests::all::common::v1::Thing>, wren_rpc::Status>
        {
            Err(wren_rpc::Status::not_found("no things"))
        }
        async fn ping(
            &self,
            _request: Request<()>,
        ) -> Result<wren_rpc::Response<()>, wren_rpc::Status> {
            Ok(wren_rpc::Response::new(()))
        }
    }
    let mut client = all_hello::greeter_client::GreeterClient::new(
        all_hello::greeter_server::GreeterServer::new(Greeter),
    );
    let reply = client
        .say_hello(all_hello::HelloRequest {
            name: "again".into(),
            level: 0,
        })
        .await
        .unwrap();
    assert_eq!(reply.into_inner().message, "again");
}
