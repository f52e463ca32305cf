//! `wren health`: `grpc.health.v1.Health/Check`.

use wren_client::Client;
use wren_codec::Code;
use wren_health::ServingStatus;
use wren_health::pb::{HealthCheckRequest, HealthCheckResponse};
use wren_transport::{Request, Response};

use crate::args::HealthArgs;
use crate::connect;
use crate::error::{Failure, Result};
use crate::report::Reporter;

pub(crate) async fn run(args: HealthArgs, reporter: Reporter) -> Result<()> {
    let metadata = connect::metadata(&args.headers)?;
    let channel = connect::channel(&args.endpoint, &args.connect, &reporter).await?;
    let service = args.service.unwrap_or_default();
    let what = if service.is_empty() {
        "the server".to_owned()
    } else {
        service.clone()
    };
    let mut request = Request::new(HealthCheckRequest { service });
    *request.metadata_mut() = metadata;
    request.set_timeout(args.timeout);
    reporter.progress(format!(
        "calling {}/Check for {what}",
        wren_health::SERVICE_NAME
    ));
    let reply: Result<Response<HealthCheckResponse>, _> = Client::new(channel)
        .unary(request, wren_health::SERVICE_NAME, "Check")
        .await;
    match reply {
        Ok(reply) => {
            let status = reply.into_inner().status();
            println!("{}", status.as_str_name());
            if status == ServingStatus::Serving {
                Ok(())
            } else {
                Err(Failure::NotServing)
            }
        }
        Err(status) => {
            let context = match status.code() {
                Code::Unimplemented => format!(
                    "{} does not serve {}",
                    args.endpoint,
                    wren_health::SERVICE_NAME
                ),
                Code::NotFound => format!("{} does not know the service {what}", args.endpoint),
                _ => format!("the health check of {what} failed"),
            };
            reporter.status(&context, &status, None);
            Err(Failure::Status(status))
        }
    }
}
