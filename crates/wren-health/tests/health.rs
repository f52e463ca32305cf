//! `grpc.health.v1.Health` served by a wren server over a unix socket,
//! called through a wren client as any ttrpc client would.

use std::time::Duration;

use futures_util::StreamExt;
use wren_client::{Channel, Client};
use wren_health::pb::{HealthCheckRequest, HealthCheckResponse};
use wren_health::{SERVICE_NAME, ServingStatus, health_reporter};
use wren_server::{Methods, Server};
use wren_transport::codec::Code;
use wren_transport::{Request, Response};

const LIMIT: Duration = Duration::from_secs(20);

async fn check(
    client: &mut Client,
    service: &str,
) -> Result<ServingStatus, wren_transport::codec::Status> {
    let req = Request::new(HealthCheckRequest {
        service: service.to_owned(),
    });
    let reply: Response<HealthCheckResponse> = client.unary(req, SERVICE_NAME, "Check").await?;
    Ok(reply.into_inner().status())
}

#[tokio::test]
async fn check_and_watch_follow_the_reporter() {
    tokio::time::timeout(LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("health.sock");
        let (reporter, health) = health_reporter();
        let greeter = Methods::new("hello.v1.Greeter");
        reporter.set_serving(&greeter);
        let router = Server::builder()
            .add_service(health)
            .add_service(greeter.clone());
        let shutdown = router.shutdown_handle();
        let server = tokio::spawn(router.serve(tokio::net::UnixListener::bind(&path).unwrap()));

        let mut client = Client::new(Channel::connect_unix(&path).await.unwrap());
        assert_eq!(
            check(&mut client, "").await.unwrap(),
            ServingStatus::Serving
        );
        assert_eq!(
            check(&mut client, "hello.v1.Greeter").await.unwrap(),
            ServingStatus::Serving
        );
        let unknown = check(&mut client, "nope.v1.Nope").await.unwrap_err();
        assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");

        // Watch a known service: its status now, then each change.
        let req = Request::new(HealthCheckRequest {
            service: "hello.v1.Greeter".into(),
        });
        let mut known = client
            .server_streaming::<_, HealthCheckResponse>(req, SERVICE_NAME, "Watch")
            .await
            .unwrap()
            .into_inner();
        // Watch an unknown service: SERVICE_UNKNOWN until it is reported.
        let req = Request::new(HealthCheckRequest {
            service: "late.v1.Late".into(),
        });
        let mut late = client
            .server_streaming::<_, HealthCheckResponse>(req, SERVICE_NAME, "Watch")
            .await
            .unwrap()
            .into_inner();
        let next = |s: Option<Result<HealthCheckResponse, _>>| s.unwrap().unwrap().status();
        assert_eq!(next(known.next().await), ServingStatus::Serving);
        assert_eq!(next(late.next().await), ServingStatus::ServiceUnknown);

        // Setting the same status again sends nothing; a change does.
        reporter.set_serving(&greeter);
        reporter.set_not_serving(&greeter);
        assert_eq!(next(known.next().await), ServingStatus::NotServing);
        assert_eq!(
            check(&mut client, "hello.v1.Greeter").await.unwrap(),
            ServingStatus::NotServing
        );

        reporter.set_service_status("late.v1.Late", ServingStatus::Serving);
        assert_eq!(next(late.next().await), ServingStatus::Serving);
        reporter.clear_service_status("late.v1.Late");
        assert_eq!(next(late.next().await), ServingStatus::ServiceUnknown);
        assert_eq!(
            check(&mut client, "late.v1.Late").await.unwrap_err().code(),
            Code::NotFound
        );
        // A service only watched is still unknown to Check.
        assert_eq!(reporter.service_status("late.v1.Late"), None);

        // A Watch lasts as long as its connection (ttrpc has no way for a
        // client to cancel one): close it before shutting down.
        drop((known, late, client));
        shutdown.shutdown().await;
        server.await.unwrap().unwrap();
    })
    .await
    .expect("the test hung");
}
