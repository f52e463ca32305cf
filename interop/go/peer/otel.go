package main

// Trace context over ttrpc metadata, propagated the way containerd's
// otelttrpc interceptors do it (github.com/containerd/otelttrpc, which
// Debian does not package): an OpenTelemetry TextMapPropagator reads and
// writes the request's ttrpc metadata through a carrier whose Get returns
// the first value of a key, whose Set replaces a key's values (MD.Set), and
// the client keeps every request entry whose key the propagator did not
// set. The propagator is W3C trace context (traceparent, tracestate), from
// Debian's go.opentelemetry.io/otel 1.1.0, as containerd configures it.

import (
	"context"
	"fmt"
	"net"
	"os"
	"sort"
	"time"

	"github.com/containerd/ttrpc"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	interop "wren/interop/v1"
)

var propagator = propagation.TraceContext{}

// mdCarrier adapts ttrpc metadata to the propagator.
type mdCarrier struct{ md *ttrpc.MD }

func (c mdCarrier) Get(key string) string {
	values, _ := c.md.Get(key)
	if len(values) == 0 {
		return ""
	}
	return values[0]
}

func (c mdCarrier) Set(key, value string) { c.md.Set(key, value) }

func (c mdCarrier) Keys() []string {
	keys := make([]string, 0, len(*c.md))
	for k := range *c.md {
		keys = append(keys, k)
	}
	return keys
}

func newTracer() trace.Tracer {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	return tp.Tracer("wren-go-peer")
}

// serverInterceptor continues the caller's trace in a server span.
func serverInterceptor(tracer trace.Tracer) ttrpc.UnaryServerInterceptor {
	return func(ctx context.Context, unmarshal ttrpc.Unmarshaler, info *ttrpc.UnaryServerInfo, method ttrpc.Method) (interface{}, error) {
		md, ok := ttrpc.GetMetadata(ctx)
		if !ok {
			md = make(ttrpc.MD)
		}
		ctx = propagator.Extract(ctx, mdCarrier{&md})
		ctx, span := tracer.Start(
			trace.ContextWithRemoteSpanContext(ctx, trace.SpanContextFromContext(ctx)),
			info.FullMethod,
			trace.WithSpanKind(trace.SpanKindServer),
		)
		defer span.End()
		return method(ctx, unmarshal)
	}
}

// clientInterceptor starts a client span and writes its context into the
// request's metadata.
func clientInterceptor(tracer trace.Tracer, started chan<- trace.SpanContext) ttrpc.UnaryClientInterceptor {
	return func(ctx context.Context, req *ttrpc.Request, resp *ttrpc.Response, info *ttrpc.UnaryClientInfo, invoker ttrpc.Invoker) error {
		ctx, span := tracer.Start(ctx, info.FullMethod, trace.WithSpanKind(trace.SpanKindClient))
		defer span.End()
		started <- span.SpanContext()

		// A copy: the caller's metadata may be shared (ttrpc 1.1.1 has no
		// MD.Clone).
		md := make(ttrpc.MD)
		if orig, ok := ttrpc.GetMetadata(ctx); ok {
			for k, v := range orig {
				md[k] = append([]string(nil), v...)
			}
		}
		propagator.Inject(ctx, mdCarrier{&md})
		var merged []*ttrpc.KeyValue
		for _, kv := range req.Metadata {
			if _, set := md.Get(kv.Key); !set {
				merged = append(merged, kv)
			}
		}
		for k, values := range md {
			for _, v := range values {
				merged = append(merged, &ttrpc.KeyValue{Key: k, Value: v})
			}
		}
		req.Metadata = merged
		return invoker(ttrpc.WithMetadata(ctx, md), req, resp)
	}
}

// traceDetails are the pairs Metadata adds when its handler runs in a
// span: the span's trace and span ids, and its parent's span id and
// whether that parent came from the caller.
func traceDetails(ctx context.Context) []*interop.Pair {
	span := trace.SpanFromContext(ctx)
	sc := span.SpanContext()
	if !sc.IsValid() {
		return nil
	}
	pairs := []*interop.Pair{
		{Key: "x-otel-trace-id", Value: sc.TraceID().String()},
		{Key: "x-otel-span-id", Value: sc.SpanID().String()},
	}
	if ro, ok := span.(sdktrace.ReadOnlySpan); ok {
		parent := ro.Parent()
		pairs = append(pairs,
			&interop.Pair{Key: "x-otel-parent-span-id", Value: parent.SpanID().String()},
			&interop.Pair{Key: "x-otel-parent-remote", Value: fmt.Sprint(parent.IsRemote())},
		)
	}
	return pairs
}

// runOtelClient calls Echo.Metadata once through clientInterceptor, with
// the extra metadata `caller`=`go`, and prints the client span's ids and
// every pair the server returned, one per line:
//
//	client-trace-id <32 hex>
//	client-span-id <16 hex>
//	pair <key> <value>
func runOtelClient(path string) int {
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "unix", path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "wren-go-peer: dial %s: %v\n", path, err)
		return 1
	}
	started := make(chan trace.SpanContext, 1)
	client := ttrpc.NewClient(conn, ttrpc.WithUnaryClientInterceptor(clientInterceptor(newTracer(), started)))
	defer client.Close()
	svc := interop.NewEchoClient(client)

	ctx = ttrpc.WithMetadata(ctx, ttrpc.MD{"caller": []string{"go"}})
	callCtx, callCancel := context.WithTimeout(ctx, 10*time.Second)
	defer callCancel()
	resp, err := svc.Metadata(callCtx, &interop.EchoRequest{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "wren-go-peer: Metadata: %v\n", err)
		return 1
	}
	sc := <-started
	fmt.Printf("client-trace-id %s\n", sc.TraceID())
	fmt.Printf("client-span-id %s\n", sc.SpanID())
	pairs := resp.Pairs
	sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].Key < pairs[j].Key })
	for _, p := range pairs {
		fmt.Printf("pair %s %s\n", p.Key, p.Value)
	}
	return 0
}
