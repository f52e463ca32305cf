//! Deadlines and cancellation: what a deadline does on each side, and what
//! ttrpc cannot do.
//!
//! Run with `cargo run --example deadlines`. The service is
//! `proto/jobs/v1/jobs.proto`.
//!
//! - A client sets a deadline per call (`Request::set_timeout` or
//!   `set_deadline`). It travels as the Request's `timeout_nano`; the client
//!   stops waiting when it passes and returns `DEADLINE_EXCEEDED`.
//! - The server sees it as `Request::deadline()` (counted from when the
//!   request arrived) and, when it passes, drops the handler's future (and a
//!   streaming reply) and answers `DEADLINE_EXCEEDED`.
//! - **ttrpc has no cancel message.** A client that stops waiting without a
//!   deadline (drops the call's future, or a local `tokio::time::timeout`
//!   fires) sends nothing: the server goes on running the call to its end,
//!   its deadline, or until the connection closes. Dropping the reply stream
//!   of a server-streaming call does not stop the server's stream either.
//!   So give calls, streaming ones above all, a deadline: it is the only
//!   way the server learns that nobody is waiting any more.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use wren_examples::jobs::jobs_client::JobsClient;
use wren_examples::jobs::jobs_server::{Jobs, JobsServer};
use wren_examples::jobs::{Done, Job, Tick};
use wren_rpc::{Channel, Code, Request, Response, Server, Status};

/// What the server's handlers did, for the example to show and check.
type Events = mpsc::UnboundedSender<String>;

struct MyJobs {
    events: Events,
}

/// Reports `dropped <name>` if a handler is dropped before it finishes:
/// that is how a server-side cancellation looks from inside the handler.
struct DropGuard {
    name: String,
    events: Events,
    finished: bool,
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.events.send(format!("dropped {}", self.name));
        }
    }
}

impl Jobs for MyJobs {
    async fn run(&self, req: Request<Job>) -> Result<Response<Done>, Status> {
        // The time left, as the server counts it: from the request's arrival.
        let millis_left = req.timeout().map_or(-1, |left| {
            i64::try_from(left.as_millis()).unwrap_or(i64::MAX)
        });
        let job = req.into_inner();
        let mut guard = DropGuard {
            name: job.name.clone(),
            events: self.events.clone(),
            finished: false,
        };
        // A handler that could not finish in time might check
        // `req.deadline()` and fail at once; this one just works.
        tokio::time::sleep(Duration::from_millis(job.millis)).await;
        guard.finished = true;
        let _ = self.events.send(format!("finished {}", job.name));
        Ok(Response::new(Done { millis_left }))
    }

    type TicksStream = ReceiverStream<Result<Tick, Status>>;

    async fn ticks(&self, req: Request<Job>) -> Result<Response<Self::TicksStream>, Status> {
        let job = req.into_inner();
        let (tx, rx) = mpsc::channel(1);
        let events = self.events.clone();
        tokio::spawn(async move {
            for n in 1.. {
                tokio::time::sleep(Duration::from_millis(job.millis)).await;
                // Fails once the server has dropped the reply stream: at the
                // deadline, or when the connection closed.
                if tx.send(Ok(Tick { n })).await.is_err() {
                    let _ = events.send(format!("stopped {} after tick {}", job.name, n - 1));
                    return;
                }
                let _ = events.send(format!("{} sent tick {n}", job.name));
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

/// Waits for the server to report `what` (any event that starts with it),
/// printing what it reports on the way. Bounded, so a mistake cannot hang.
async fn expect(events: &mut mpsc::UnboundedReceiver<String>, what: &str) -> String {
    let wait = async {
        loop {
            let event = events.recv().await.expect("the server is running");
            println!("    server: {event}");
            if event.starts_with(what) {
                return event;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .unwrap_or_else(|_| panic!("the server never reported {what:?}"))
}

fn job(name: &str, millis: u64) -> Job {
    Job {
        millis,
        name: name.into(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("jobs.sock");
    let (events, mut server_events) = mpsc::unbounded_channel();
    let router = Server::builder().add_service(JobsServer::new(MyJobs { events }));
    let shutdown = router.shutdown_handle();
    let server = tokio::spawn(router.serve(tokio::net::UnixListener::bind(&path)?));
    let mut client = JobsClient::new(Channel::connect_unix(&path).await?);

    // 1. The server sees the client's deadline.
    let mut req = Request::new(job("quick", 10));
    req.set_timeout(Duration::from_secs(1));
    let done = client.run(req).await?.into_inner();
    println!(
        "1. deadline 1 s: the handler had {} ms left",
        done.millis_left
    );
    assert!((0..=1000).contains(&done.millis_left));
    expect(&mut server_events, "finished quick").await;

    // 2. The deadline passes: the client gets DEADLINE_EXCEEDED, and the
    // server drops the handler at its own count of the same deadline.
    let mut req = Request::new(job("slow", 60_000));
    req.set_timeout(Duration::from_millis(200));
    let err = client.run(req).await.unwrap_err();
    println!("2. deadline 200 ms on a 60 s job: {}", err.code());
    assert_eq!(err.code(), Code::DeadlineExceeded);
    expect(&mut server_events, "dropped slow").await;

    // 3. No deadline, and the client gives up locally: nothing tells the
    // server, which runs the job to its end.
    let gave_up =
        tokio::time::timeout(Duration::from_millis(50), client.run(job("abandoned", 300))).await;
    println!("3. no deadline, the client stopped waiting after 50 ms");
    assert!(gave_up.is_err());
    expect(&mut server_events, "finished abandoned").await;

    // 4. A streaming call with a deadline ends with DEADLINE_EXCEEDED on
    // both sides: the server drops its reply stream.
    let mut req = Request::new(job("ticker", 50));
    req.set_timeout(Duration::from_millis(300));
    let mut ticks = client.ticks(req).await?.into_inner();
    let mut received = 0;
    let end = loop {
        match ticks.message().await {
            Ok(Some(_)) => received += 1,
            Ok(None) => break Ok(()),
            Err(status) => break Err(status),
        }
    };
    let code = end.as_ref().map_err(Status::code).unwrap_err();
    println!("4. ticks with a 300 ms deadline: {received} ticks, then {code}");
    assert_eq!(code, Code::DeadlineExceeded);
    expect(&mut server_events, "stopped ticker").await;

    // 5. A streaming call without a deadline, its reply stream dropped: the
    // server keeps sending (the replies are thrown away on arrival) until
    // the connection closes.
    let channel = Channel::connect_unix(&path).await?;
    let mut forgotten = JobsClient::new(channel.clone());
    let mut ticks = forgotten.ticks(job("forgotten", 20)).await?.into_inner();
    ticks.message().await?;
    drop(ticks);
    println!("5. no deadline, reply stream dropped after one tick");
    expect(&mut server_events, "forgotten sent tick 5").await;
    // Closing the connection is what stops it.
    drop((forgotten, channel));
    let stopped = expect(&mut server_events, "stopped forgotten").await;
    println!("   the connection closed: {stopped}");

    shutdown.shutdown().await;
    server.await??;
    Ok(())
}
