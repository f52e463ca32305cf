//! `wren call`: JSON in, a ttrpc call, JSON out.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use prost::Message;
use prost_reflect::{
    DescriptorPool, DeserializeOptions, DynamicMessage, MessageDescriptor, MethodDescriptor,
    SerializeOptions,
};
use tokio_util::codec::{FramedRead, LinesCodec};
use wren_codec::Status;
use wren_transport::{Body, MethodKind, Request};

use crate::args::CallArgs;
use crate::error::{Failure, Result};
use crate::report::Reporter;
use crate::{connect, source};

/// Splits `SERVICE/METHOD` (or `SERVICE.METHOD`, or with a leading `/`).
pub(crate) fn split_method(full: &str) -> Result<(String, String)> {
    let full = full.trim_start_matches('/');
    let split = full.rsplit_once('/').or_else(|| full.rsplit_once('.'));
    match split {
        Some((service, method)) if !service.is_empty() && !method.is_empty() => {
            Ok((service.to_owned(), method.to_owned()))
        }
        _ => Err(Failure::usage(format!(
            "{full:?} is not SERVICE/METHOD (for example containerd.task.v2.Task/State)"
        ))),
    }
}

/// The method's descriptor, or an error listing what the service has.
pub(crate) fn find_method(
    pool: &DescriptorPool,
    service: &str,
    method: &str,
) -> Result<MethodDescriptor> {
    let Some(svc) = pool.get_service_by_name(service) else {
        let known: Vec<String> = pool.services().map(|s| s.full_name().to_owned()).collect();
        return Err(Failure::usage(format!(
            "service {service} is not declared in the given descriptors (known: {})",
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        )));
    };
    svc.methods().find(|m| m.name() == method).ok_or_else(|| {
        let known: Vec<String> = svc.methods().map(|m| m.name().to_owned()).collect();
        Failure::usage(format!(
            "service {service} has no method {method} (it has: {})",
            known.join(", ")
        ))
    })
}

fn kind_of(method: &MethodDescriptor) -> MethodKind {
    MethodKind::new(method.is_client_streaming(), method.is_server_streaming())
}

/// Where request messages come from.
enum Input {
    Inline(String),
    File(std::path::PathBuf),
    Stdin,
}

fn input(data: Option<&str>, streaming: bool) -> Input {
    match data {
        None if streaming => Input::Stdin,
        None => Input::Inline("{}".to_owned()),
        Some("@-") => Input::Stdin,
        Some(s) if s.starts_with('@') => Input::File(s[1..].into()),
        Some(s) => Input::Inline(s.to_owned()),
    }
}

fn parse(desc: &MessageDescriptor, json: &str, what: &str) -> Result<Bytes> {
    let mut de = serde_json::Deserializer::from_str(json);
    let message =
        DynamicMessage::deserialize_with_options(desc.clone(), &mut de, &DeserializeOptions::new())
            .and_then(|m| de.end().map(|()| m))
            .map_err(|e| {
                Failure::usage(format!("{what} is not a {} in JSON: {e}", desc.full_name()))
            })?;
    Ok(message.encode_to_vec().into())
}

async fn read_all(input: Input) -> Result<String> {
    match input {
        Input::Inline(s) => Ok(s),
        Input::File(path) => tokio::fs::read_to_string(&path)
            .await
            .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display()))),
        Input::Stdin => {
            use tokio::io::AsyncReadExt;
            let mut s = String::new();
            tokio::io::stdin()
                .read_to_string(&mut s)
                .await
                .map_err(|e| Failure::usage(format!("cannot read stdin: {e}")))?;
            Ok(s)
        }
    }
}

/// A request stream: one message per non-blank line of `input`, parsed as
/// it is read (so a bidi call can be driven interactively). A line that
/// does not parse ends the stream and leaves its failure in `failed`.
fn request_stream(
    input: Input,
    desc: MessageDescriptor,
    max_line: usize,
    failed: Arc<Mutex<Option<Failure>>>,
    reporter: Reporter,
) -> impl Stream<Item = Result<Bytes, Status>> + Send + 'static {
    let lines: std::pin::Pin<Box<dyn Stream<Item = std::io::Result<String>> + Send>> = match input {
        Input::Inline(s) => Box::pin(futures_util::stream::iter(
            s.lines().map(|l| Ok(l.to_owned())).collect::<Vec<_>>(),
        )),
        Input::File(path) => Box::pin(
            futures_util::stream::once(async move {
                let file = tokio::fs::File::open(&path).await.map_err(|e| {
                    std::io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display()))
                })?;
                Ok(lines_of(file, max_line))
            })
            .map(|r: std::io::Result<_>| match r {
                Ok(lines) => lines.left_stream(),
                Err(e) => futures_util::stream::once(async move { Err(e) }).right_stream(),
            })
            .flatten(),
        ),
        Input::Stdin => Box::pin(lines_of(tokio::io::stdin(), max_line)),
    };
    let mut number = 0usize;
    lines
        .filter_map(move |line| {
            number += 1;
            let result = match line {
                Ok(line) if line.trim().is_empty() => None,
                Ok(line) => Some(parse(&desc, &line, &format!("request line {number}"))),
                Err(e) => Some(Err(Failure::usage(format!("reading requests: {e}")))),
            };
            std::future::ready(result)
        })
        .scan(failed, move |failed, parsed| {
            std::future::ready(match parsed {
                Ok(bytes) => {
                    reporter.progress(format!("sending a request message ({} bytes)", bytes.len()));
                    Some(Ok(bytes))
                }
                Err(failure) => {
                    *failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(failure);
                    None
                }
            })
        })
}

fn lines_of<R>(reader: R, max_line: usize) -> impl Stream<Item = std::io::Result<String>> + Send
where
    R: tokio::io::AsyncRead + Send + Unpin,
{
    FramedRead::new(reader, LinesCodec::new_with_max_length(max_line))
        .map(|r| r.map_err(std::io::Error::other))
}

/// Prints one reply: pretty for a single reply, one line per message on a
/// stream.
fn print_reply(
    desc: &MessageDescriptor,
    bytes: &[u8],
    pretty: bool,
    options: &SerializeOptions,
) -> Result<()> {
    let message = DynamicMessage::decode(desc.clone(), bytes).map_err(|e| {
        Failure::usage(format!(
            "the reply ({} bytes) does not decode as {}: {e}; do the .proto files match the server?",
            bytes.len(),
            desc.full_name()
        ))
    })?;
    let mut out = Vec::new();
    let result = if pretty {
        message.serialize_with_options(&mut serde_json::Serializer::pretty(&mut out), options)
    } else {
        message.serialize_with_options(&mut serde_json::Serializer::new(&mut out), options)
    };
    result.map_err(|e| Failure::Internal(format!("cannot print the reply as JSON: {e}")))?;
    out.push(b'\n');
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&out)
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure::Internal(format!("cannot write to stdout: {e}")))
}

pub(crate) async fn run(args: CallArgs, reporter: Reporter) -> Result<()> {
    let (service, method_name) = split_method(&args.method)?;
    let metadata = connect::metadata(&args.headers)?;
    let files = source::from_files(&args.sources)?;
    let mut channel = connect::channel(&args.endpoint, &args.connect, &reporter).await?;
    let pool = match files {
        Some(pool) => pool,
        None => {
            source::from_reflection(
                &channel,
                &args.endpoint,
                std::slice::from_ref(&service),
                &reporter,
            )
            .await?
        }
    };
    let method = find_method(&pool, &service, &method_name)?;
    let kind = kind_of(&method);
    let options = SerializeOptions::new().skip_default_fields(!args.emit_defaults);

    let failed = Arc::new(Mutex::new(None));
    let body = if kind.client_streaming() {
        Body::from_stream(request_stream(
            input(args.data.as_deref(), true),
            method.input(),
            args.connect.max_message_size,
            Arc::clone(&failed),
            reporter,
        ))
    } else {
        let json = read_all(input(args.data.as_deref(), false)).await?;
        Body::new(parse(&method.input(), &json, "the request")?)
    };
    let mut request = Request::new(body);
    request.set_path(service.clone(), method_name.clone());
    request.set_method_kind(kind);
    *request.metadata_mut() = metadata;
    if let Some(timeout) = args.timeout {
        request.set_timeout(timeout);
    }

    reporter.progress(format!(
        "calling {service}/{method_name} ({})",
        match kind {
            MethodKind::ClientStreaming => "client streaming",
            MethodKind::ServerStreaming => "server streaming",
            MethodKind::Bidi => "bidirectional streaming",
            _ => "unary",
        }
    ));
    let started = Instant::now();
    let what = format!("{service}/{method_name} failed");
    let response = async {
        std::future::poll_fn(|cx| tower_service::Service::poll_ready(&mut channel, cx)).await?;
        tower_service::Service::call(&mut channel, request).await
    }
    .await;
    let response = match response {
        Ok(response) => response,
        Err(status) => return Err(failed_call(&failed, &reporter, &what, status, &pool)),
    };
    let output = method.output();
    let mut replies = 0usize;
    if kind.server_streaming() {
        let mut stream = response.into_inner().into_stream();
        while let Some(item) = stream.next().await {
            match item {
                Ok(bytes) => {
                    replies += 1;
                    print_reply(&output, &bytes, false, &options)?;
                }
                Err(status) => return Err(failed_call(&failed, &reporter, &what, status, &pool)),
            }
        }
    } else {
        let bytes = response
            .into_inner()
            .into_message()
            .map_err(|s| Failure::Internal(s.message().to_owned()))?;
        replies = 1;
        print_reply(&output, &bytes, true, &options)?;
    }
    if let Some(failure) = failed.lock().unwrap_or_else(|e| e.into_inner()).take() {
        return Err(failure);
    }
    reporter.progress(format!(
        "OK: {replies} repl{} in {:.1?}",
        if replies == 1 { "y" } else { "ies" },
        started.elapsed()
    ));
    Ok(())
}

/// A failed call: a request line that did not parse is the cause if there
/// was one; otherwise the status is printed and is the failure.
fn failed_call(
    failed: &Mutex<Option<Failure>>,
    reporter: &Reporter,
    what: &str,
    status: Status,
    pool: &DescriptorPool,
) -> Failure {
    if let Some(failure) = failed.lock().unwrap_or_else(|e| e.into_inner()).take() {
        return failure;
    }
    reporter.status(what, &status, Some(pool));
    Failure::Status(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_names() {
        for full in ["a.b.Svc/Do", "/a.b.Svc/Do", "a.b.Svc.Do"] {
            let (service, method) = split_method(full).unwrap();
            assert_eq!(
                (service.as_str(), method.as_str()),
                ("a.b.Svc", "Do"),
                "{full}"
            );
        }
        for bad in ["", "Svc", "/Do", "a.b.Svc/"] {
            assert!(split_method(bad).is_err(), "{bad}");
        }
    }
}
