//! What handlers see and what happens to their results: panics, metadata,
//! deadlines, and many calls at once on one connection.
#![allow(missing_docs)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use prost::Message;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use wren_server::{Methods, Server};
use wren_transport::codec::{Code, Frame, Status, proto};
use wren_transport::{Request, Response};

use support::{Echo, Empty, Observed, SERVICE, TestServer, echo_service, envelope, status, within};

fn observer() -> Methods {
    echo_service()
        .unary("Observe", |req: Request<Empty>| async move {
            let deadline_left_nanos = match req.deadline() {
                Some(d) => d.saturating_duration_since(Instant::now()).as_nanos() as i64,
                None => -1,
            };
            let md = req.metadata();
            Ok(Response::new(Observed {
                entries: md.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                foo: md.get_all("foo").map(str::to_owned).collect(),
                deadline_left_nanos,
            }))
        })
        .unary("Sleep", |req: Request<Echo>| async move {
            tokio::time::sleep(Duration::from_millis(req.get_ref().n)).await;
            Ok(Response::new(req.into_inner()))
        })
        .unary("Panic", |req: Request<Echo>| async move {
            if req.get_ref().n == 1 {
                panic!("boom: {}", req.get_ref().msg);
            }
            Ok(Response::new(req.into_inner()))
        })
}

fn observe_request(timeout_nano: i64, metadata: &[(&str, &str)]) -> proto::Request {
    let mut req = envelope(SERVICE, "Observe", &Empty {});
    req.timeout_nano = timeout_nano;
    req.metadata = metadata
        .iter()
        .map(|(k, v)| proto::KeyValue {
            key: (*k).into(),
            value: (*v).into(),
        })
        .collect();
    req
}

// ===== 5. panics =====

#[tokio::test]
async fn handler_panic_fails_only_that_call() {
    let server = TestServer::spawn(Server::builder().add_service(observer()));
    let mut raw = server.raw().await;
    let mut other = server.raw().await;

    let boom = Echo {
        msg: "kaboom".into(),
        n: 1,
    };
    let resp = raw.call(1, "Panic", &boom).await;
    let (code, message) = status(&resp);
    assert_eq!(code, Code::Internal.as_i32());
    // The panic's text stays in the server's log; the client learns only that
    // the handler panicked.
    assert_eq!(message, "handler panicked");

    // Same connection, same method without the panic, and another method.
    let fine = Echo {
        msg: "fine".into(),
        n: 2,
    };
    let resp = raw.call(3, "Panic", &fine).await;
    assert_eq!(resp.status, None);
    assert_eq!(Echo::decode(resp.payload).unwrap(), fine);
    raw.echo_ok(5, "same connection").await;

    // A connection that was open during the panic, and a new one.
    other.echo_ok(1, "other connection").await;
    let mut fresh = server.raw().await;
    fresh.echo_ok(1, "new connection").await;

    // A panic next to calls in flight on the same connection: they all finish.
    let mut client = server.client().await;
    let mut set = JoinSet::new();
    for i in 0..6u64 {
        let mut client = client.clone();
        set.spawn(async move {
            let method = if i % 2 == 0 { "Panic" } else { "Sleep" };
            let n = if i % 2 == 0 { 1 } else { 20 };
            let r: Result<Response<Echo>, Status> = client
                .unary(
                    Request::new(Echo {
                        msg: format!("{i}"),
                        n,
                    }),
                    SERVICE,
                    method,
                )
                .await;
            (i, r)
        });
    }
    while let Some(res) = within("mixed calls", set.join_next()).await {
        let (i, r) = res.unwrap();
        if i % 2 == 0 {
            assert_eq!(r.unwrap_err().code(), Code::Internal, "call {i}");
        } else {
            assert_eq!(r.unwrap().into_inner().msg, format!("{i}"));
        }
    }
    let reply: Response<Echo> = client
        .unary(Request::new(Echo::default()), SERVICE, "Echo")
        .await
        .unwrap();
    assert_eq!(reply.into_inner(), Echo::default());
    assert!(!server.task.is_finished());
}

// ===== 6. metadata and deadlines =====

#[tokio::test]
async fn handler_sees_lowercased_metadata_in_order() {
    let server = TestServer::spawn(Server::builder().add_service(observer()));
    let mut raw = server.raw().await;

    let req = observe_request(
        0,
        &[
            ("Foo", "a"),
            ("X-Trace", "t1"),
            ("foo", "b"),
            ("FOO", "c"),
            ("empty", ""),
        ],
    );
    raw.send(Frame::request(1, req.encode_to_vec())).await;
    let resp = raw.recv_response(1).await;
    assert_eq!(resp.status, None);
    let seen = Observed::decode(resp.payload).unwrap();
    assert_eq!(
        seen.entries,
        ["foo=a", "x-trace=t1", "foo=b", "foo=c", "empty="]
    );
    assert_eq!(seen.foo, ["a", "b", "c"]);
    assert_eq!(
        seen.deadline_left_nanos, -1,
        "no timeout_nano means no deadline"
    );

    // Metadata sent through the real client arrives the same way.
    let mut client = server.client().await;
    let mut req = Request::new(Empty {});
    req.metadata_mut().append("Foo", "1");
    req.metadata_mut().append("foo", "2");
    let seen: Response<Observed> = client.unary(req, SERVICE, "Observe").await.unwrap();
    assert_eq!(seen.get_ref().foo, ["1", "2"]);
    assert_eq!(seen.get_ref().entries, ["foo=1", "foo=2"]);
}

#[tokio::test]
async fn timeout_nano_becomes_the_handler_deadline() {
    let server = TestServer::spawn(Server::builder().add_service(observer()));
    let mut raw = server.raw().await;

    let five_s = Duration::from_secs(5);
    let req = observe_request(five_s.as_nanos() as i64, &[]);
    raw.send(Frame::request(1, req.encode_to_vec())).await;
    let resp = raw.recv_response(1).await;
    let seen = Observed::decode(resp.payload).unwrap();
    let left = Duration::from_nanos(seen.deadline_left_nanos as u64);
    assert!(
        seen.deadline_left_nanos > 0 && left <= five_s && left > Duration::from_secs(2),
        "deadline {left:?} away"
    );

    // Zero: no deadline at all.
    let req = observe_request(0, &[]);
    raw.send(Frame::request(3, req.encode_to_vec())).await;
    let seen = Observed::decode(raw.recv_response(3).await.payload).unwrap();
    assert_eq!(seen.deadline_left_nanos, -1);

    // The client's deadline reaches the handler through the real channel too.
    let mut client = server.client().await;
    let mut req = Request::new(Empty {});
    req.set_timeout(Duration::from_secs(30));
    let seen: Response<Observed> = client.unary(req, SERVICE, "Observe").await.unwrap();
    let left = Duration::from_nanos(seen.get_ref().deadline_left_nanos as u64);
    assert!(
        seen.get_ref().deadline_left_nanos > 0
            && left <= Duration::from_secs(30)
            && left > Duration::from_secs(20),
        "deadline {left:?} away"
    );
}

#[tokio::test]
async fn handler_past_its_deadline_gets_deadline_exceeded() {
    let server = TestServer::spawn(Server::builder().add_service(observer()));
    let mut raw = server.raw().await;

    // The handler would sleep 60 s; the request allows 100 ms.
    let mut req = envelope(
        SERVICE,
        "Sleep",
        &Echo {
            msg: "slow".into(),
            n: 60_000,
        },
    );
    req.timeout_nano = Duration::from_millis(100).as_nanos() as i64;
    let sent = Instant::now();
    raw.send(Frame::request(1, req.encode_to_vec())).await;
    let resp = raw.recv_response(1).await;
    assert!(
        sent.elapsed() >= Duration::from_millis(100),
        "replied before the deadline"
    );
    let (code, _) = status(&resp);
    assert_eq!(code, Code::DeadlineExceeded.as_i32());
    assert!(resp.payload.is_empty());

    // A deadline that is long enough changes nothing.
    let mut req = envelope(
        SERVICE,
        "Sleep",
        &Echo {
            msg: "quick".into(),
            n: 1,
        },
    );
    req.timeout_nano = Duration::from_secs(30).as_nanos() as i64;
    raw.send(Frame::request(3, req.encode_to_vec())).await;
    let resp = raw.recv_response(3).await;
    assert_eq!(resp.status, None);
    assert_eq!(Echo::decode(resp.payload).unwrap().msg, "quick");
}

#[tokio::test]
async fn huge_timeout_nano_is_served_normally() {
    let server = TestServer::spawn(Server::builder().add_service(observer()));
    let mut raw = server.raw().await;
    let req = observe_request(i64::MAX, &[]);
    raw.send(Frame::request(1, req.encode_to_vec())).await;
    let resp = raw.recv_response(1).await;
    assert_eq!(resp.status, None);
    let seen = Observed::decode(resp.payload).unwrap();
    // About 292 years away, or no deadline at all if the clock cannot say.
    assert!(
        seen.deadline_left_nanos == -1
            || seen.deadline_left_nanos > Duration::from_secs(3600).as_nanos() as i64,
        "deadline {} ns away",
        seen.deadline_left_nanos
    );
    raw.echo_ok(3, "after a huge timeout").await;
}

#[tokio::test]
async fn negative_timeout_is_already_expired() {
    let server = TestServer::spawn(Server::builder().add_service(observer()));
    let mut raw = server.raw().await;
    let mut req = envelope(
        SERVICE,
        "Sleep",
        &Echo {
            msg: "late".into(),
            n: 60_000,
        },
    );
    req.timeout_nano = -1;
    raw.send(Frame::request(1, req.encode_to_vec())).await;
    let resp = raw.recv_response(1).await;
    assert_eq!(status(&resp).0, Code::DeadlineExceeded.as_i32());
}

// ===== 8. many calls multiplexed =====

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_concurrent_calls_on_one_channel() {
    let server = TestServer::spawn(Server::builder().add_service(observer()));
    let client = server.client().await;

    let mut set = JoinSet::new();
    for i in 0..100u64 {
        let mut client = client.clone();
        set.spawn(async move {
            // Later calls sleep less, so replies come back out of order.
            let msg = Echo {
                msg: format!("call-{i}"),
                n: (100 - i) % 37 + (i % 3) * 5,
            };
            let reply: Response<Echo> = client
                .unary(Request::new(msg.clone()), SERVICE, "Sleep")
                .await
                .unwrap_or_else(|s| panic!("call {i} failed: {s}"));
            assert_eq!(reply.into_inner(), msg, "call {i} got someone else's reply");
            i
        });
    }
    let mut done = Vec::new();
    while let Some(res) = within("100 calls", set.join_next()).await {
        done.push(res.expect("call task"));
    }
    done.sort_unstable();
    assert_eq!(done, (0..100).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tasks_calls_ran_in_end_once_the_connection_falls_quiet() {
    let server = TestServer::spawn(Server::builder().add_service(observer()));
    let client = server.client().await;
    let alive = || {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
    };
    let sleep = |n| {
        let mut client = client.clone();
        async move {
            let msg = Echo {
                msg: String::new(),
                n,
            };
            let reply: Response<Echo> = client
                .unary(Request::new(msg), SERVICE, "Sleep")
                .await
                .expect("call");
            reply.into_inner().n
        }
    };
    // One call, then long enough for its task to be ended.
    sleep(0).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let baseline = alive();
    // 50 calls at once run in 50 tasks; they outlive their calls only
    // briefly, waiting to be reused.
    for _ in 0..2 {
        let mut set = JoinSet::new();
        for _ in 0..50 {
            set.spawn(sleep(20));
        }
        while let Some(res) = within("50 calls", set.join_next()).await {
            assert_eq!(res.expect("call task"), 20);
        }
    }
    within("the call tasks ending", async {
        while alive() > baseline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    // And the connection still serves.
    assert_eq!(sleep(1).await, 1);
}

#[tokio::test]
async fn replies_go_out_in_completion_order_on_a_raw_connection() {
    // Each call waits for its own gate, which the test opens in reverse order.
    let gates: Arc<Vec<Semaphore>> = Arc::new((0..3).map(|_| Semaphore::new(0)).collect());
    let g = gates.clone();
    let svc = Methods::new(SERVICE).unary("Gate", move |req: Request<Echo>| {
        let gates = g.clone();
        async move {
            let gate = &gates[req.get_ref().n as usize];
            gate.acquire().await.expect("gate open").forget();
            Ok(Response::new(req.into_inner()))
        }
    });
    let server = TestServer::spawn(Server::builder().add_service(svc));
    let mut raw = server.raw().await;
    for (id, gate) in [(1u32, 0u64), (3, 1), (5, 2)] {
        let req = envelope(
            SERVICE,
            "Gate",
            &Echo {
                msg: format!("{id}"),
                n: gate,
            },
        );
        raw.send(Frame::request(id, req.encode_to_vec())).await;
    }
    for (gate, id) in [(2usize, 5u32), (1, 3), (0, 1)] {
        gates[gate].add_permits(1);
        let resp = raw.recv_response(id).await;
        assert_eq!(resp.status, None);
        assert_eq!(Echo::decode(resp.payload).unwrap().msg, id.to_string());
    }
}
