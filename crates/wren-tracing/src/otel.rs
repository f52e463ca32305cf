//! W3C trace context in ttrpc metadata, as containerd's otelttrpc
//! interceptors carry it (feature `opentelemetry`).
//!
//! otelttrpc hands the request's metadata to an OpenTelemetry text map
//! propagator (the global one unless configured): the client side injects
//! the current context, each key *replacing* the values the request already
//! had for it (ttrpc's `MD.Set`) and every other entry kept; the server side
//! extracts the context from the first value of each key. Keys are
//! lowercase in ttrpc metadata. With the W3C trace context propagator the
//! keys are `traceparent` (`00-<32 hex trace id>-<16 hex span id>-<2 hex
//! flags>`) and `tracestate`; with baggage, also `baggage`.
//!
//! [`MetadataInjector`] and [`MetadataExtractor`] are those carriers, for
//! code that propagates by hand; [`TraceLayer`](crate::TraceLayer) uses
//! them on every call.

use std::sync::Arc;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use wren_transport::codec::Metadata;
use wren_transport::{Body, Request};

use crate::call::Side;

pub(crate) type SharedPropagator = Arc<dyn TextMapPropagator + Send + Sync>;

/// Writes a propagator's keys into ttrpc metadata: lowercase, each
/// replacing the key's values, as Go ttrpc's `MD.Set` does.
#[derive(Debug)]
pub struct MetadataInjector<'a>(pub &'a mut Metadata);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_ascii_lowercase(), value);
    }
}

/// Reads a propagator's keys from ttrpc metadata: the first value of each
/// (lowercased) key, as Go ttrpc's `MD.Get` does.
#[derive(Debug)]
pub struct MetadataExtractor<'a>(pub &'a Metadata);

impl Extractor for MetadataExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(&key.to_ascii_lowercase())
    }

    fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self.0.iter().map(|(k, _)| k).collect();
        keys.dedup();
        keys
    }
}

/// Joins `span` to the trace in `req`'s metadata (server), or writes the
/// trace of `span` into it (client).
pub(crate) fn propagate(
    propagator: Option<&SharedPropagator>,
    side: Side,
    span: &tracing::Span,
    req: &mut Request<Body>,
) {
    match side {
        Side::Server => {
            let cx = with_propagator(propagator, |p| {
                p.extract(&MetadataExtractor(req.metadata()))
            });
            if cx.span().span_context().is_valid() {
                // Fails only without an OpenTelemetry layer: nothing to join.
                let _ = span.set_parent(cx);
            }
        }
        Side::Client => {
            let cx = span.context();
            with_propagator(propagator, |p| {
                p.inject_context(&cx, &mut MetadataInjector(req.metadata_mut()));
            });
        }
    }
}

fn with_propagator<T>(
    propagator: Option<&SharedPropagator>,
    f: impl FnOnce(&dyn TextMapPropagator) -> T,
) -> T {
    match propagator {
        Some(p) => f(&**p),
        None => {
            let mut f = Some(f);
            opentelemetry::global::get_text_map_propagator(|p| (f.take().expect("called once"))(p))
        }
    }
}
