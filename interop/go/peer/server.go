package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	"github.com/containerd/ttrpc"
	"github.com/golang/protobuf/ptypes/any"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/status"

	interop "wren/interop/v1"
)

// FailDetailTypeURL is the type URL of the single detail Fail attaches.
const FailDetailTypeURL = "type.googleapis.com/wren.interop.v1.FailDetail"

type echoService struct{}

func echoReply(req *interop.EchoRequest) *interop.EchoResponse {
	return &interop.EchoResponse{Seq: req.Seq + 1, Msg: req.Msg, Payload: req.Payload}
}

func (echoService) Echo(ctx context.Context, req *interop.EchoRequest) (*interop.EchoResponse, error) {
	return echoReply(req), nil
}

func (echoService) Sleep(ctx context.Context, req *interop.EchoRequest) (*interop.EchoResponse, error) {
	if req.Seq > 0 {
		t := time.NewTimer(time.Duration(req.Seq) * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			// ttrpc maps context.Canceled / DeadlineExceeded to their codes.
			return nil, ctx.Err()
		}
	}
	return echoReply(req), nil
}

func (echoService) Metadata(ctx context.Context, req *interop.EchoRequest) (*interop.MetadataResponse, error) {
	resp := &interop.MetadataResponse{}
	md, ok := ttrpc.GetMetadata(ctx)
	if !ok {
		return resp, nil
	}
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range md[k] {
			resp.Pairs = append(resp.Pairs, &interop.Pair{Key: k, Value: v})
		}
	}
	// Only under otel-server: the span the interceptor started.
	resp.Pairs = append(resp.Pairs, traceDetails(ctx)...)
	return resp, nil
}

func (echoService) Deadline(ctx context.Context, req *interop.EchoRequest) (*interop.DeadlineResponse, error) {
	dl, ok := ctx.Deadline()
	if !ok {
		return &interop.DeadlineResponse{}, nil
	}
	left := time.Until(dl)
	ms := int64(left / time.Millisecond)
	if left < 0 && left%time.Millisecond != 0 {
		ms-- // round down, not toward zero
	}
	return &interop.DeadlineResponse{HasDeadline: true, RemainingMs: ms}, nil
}

func (echoService) Fail(ctx context.Context, req *interop.FailRequest) (*interop.EchoResponse, error) {
	if req.Code == 0 {
		// A status with code OK is not an error; answer with an empty success.
		return &interop.EchoResponse{}, nil
	}
	detail, err := (&interop.FailDetail{Detail: req.Detail}).Marshal()
	if err != nil {
		return nil, err
	}
	// Built by hand: the FailDetail type is registered with gogo, not with the
	// golang/protobuf registry that status.WithDetails would consult.
	return nil, status.ErrorProto(&spb.Status{
		Code:    req.Code,
		Message: req.Message,
		Details: []*any.Any{{TypeUrl: FailDetailTypeURL, Value: detail}},
	})
}

func runServer(path string, opts ...ttrpc.ServerOpt) int {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "wren-go-peer: remove stale socket %s: %v\n", path, err)
		return 1
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "wren-go-peer: listen %s: %v\n", path, err)
		return 1
	}
	s, err := ttrpc.NewServer(opts...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "wren-go-peer: new server: %v\n", err)
		return 1
	}
	interop.RegisterEchoService(s, echoService{})

	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background(), l) }()

	stop := make(chan string, 3)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() { stop <- (<-sigs).String() }()
	go func() {
		io.Copy(io.Discard, os.Stdin)
		stop <- "stdin closed"
	}()

	// os.Stdout is unbuffered: the line is written out at once.
	fmt.Fprintln(os.Stdout, "ready")

	select {
	case why := <-stop:
		fmt.Fprintf(os.Stderr, "wren-go-peer: shutting down (%s)\n", why)
	case err := <-served:
		fmt.Fprintf(os.Stderr, "wren-go-peer: serve: %v\n", err)
		return 1
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "wren-go-peer: shutdown: %v; closing\n", err)
		s.Close()
	}
	os.Remove(path)
	return 0
}
