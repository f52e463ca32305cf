//! Connecting to an endpoint, and the request metadata flags.

use wren_client::Channel;
use wren_codec::Metadata;
use wren_transport::{ConnectOptions, IntoEndpoint};

use crate::args::Connect;
use crate::error::{Failure, Result};
use crate::report::Reporter;

/// A channel to `endpoint`, any URI wren accepts.
pub(crate) async fn channel(
    endpoint: &str,
    options: &Connect,
    reporter: &Reporter,
) -> Result<Channel> {
    let parsed = endpoint
        .into_endpoint()
        .map_err(|e| Failure::usage(format!("invalid endpoint {endpoint:?}: {e}")))?;
    reporter.progress(format!("connecting to {parsed}"));
    let connect = ConnectOptions::new()
        .connect_timeout(options.connect_timeout)
        .handshake_timeout(options.connect_timeout);
    let channel = Channel::builder()
        .max_message_size(options.max_message_size)
        .connect_with_options(parsed, &connect)
        .await
        .map_err(|e| Failure::Connect(format!("cannot connect to {endpoint}: {e}")))?;
    reporter.progress(format!("connected to {endpoint}"));
    Ok(channel)
}

/// Metadata from `-H KEY=VALUE` flags, in order; a repeated key keeps every
/// value.
pub(crate) fn metadata(headers: &[String]) -> Result<Metadata> {
    let mut metadata = Metadata::new();
    for header in headers {
        let (key, value) = header
            .split_once('=')
            .ok_or_else(|| Failure::usage(format!("-H {header:?}: expected KEY=VALUE")))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(Failure::usage(format!("-H {header:?}: the key is empty")));
        }
        // ttrpc metadata keys are lowercase on the wire (Go lowercases them).
        metadata.append(key.to_ascii_lowercase(), value);
    }
    Ok(metadata)
}
