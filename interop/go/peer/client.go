package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/containerd/ttrpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	interop "wren/interop/v1"
)

// caseTimeout bounds every case, so that a misbehaving server makes the case
// fail instead of hanging the client.
const caseTimeout = 30 * time.Second

type testCase struct {
	name string
	run  func(ctx context.Context, c *ttrpc.Client) error
}

var cases = []testCase{
	{"echo", caseEcho},
	{"metadata", caseMetadata},
	{"deadline", caseDeadline},
	{"error", caseError},
	{"unknown", caseUnknown},
	{"oversize", caseOversize},
	{"concurrent", caseConcurrent},
}

func caseNames() []string {
	var names []string
	for _, c := range cases {
		names = append(names, c.name)
	}
	return names
}

func runClient(path string, names []string) int {
	var todo []testCase
	failed := false
	for _, n := range names {
		if n == "all" {
			todo = append(todo, cases...)
			continue
		}
		found := false
		for _, c := range cases {
			if c.name == n {
				todo = append(todo, c)
				found = true
			}
		}
		if !found {
			fmt.Printf("FAIL %s: unknown case (known: %v, all)\n", n, caseNames())
			failed = true
		}
	}
	for _, c := range todo {
		if err := runCase(path, c); err != nil {
			fmt.Printf("FAIL %s: %v\n", c.name, err)
			failed = true
		} else {
			fmt.Printf("ok %s\n", c.name)
		}
	}
	if failed {
		return 1
	}
	return 0
}

// runCase runs one case on a connection of its own.
func runCase(path string, c testCase) error {
	conn, err := net.DialTimeout("unix", path, 10*time.Second)
	if err != nil {
		return fmt.Errorf("dial %s: %v", path, err)
	}
	client := ttrpc.NewClient(conn)
	defer client.Close()

	// A watchdog that cancels rather than a deadline: a deadline would be sent
	// to the server as the request timeout, and the deadline case needs calls
	// that carry none.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watchdog := time.AfterFunc(caseTimeout, cancel)
	defer watchdog.Stop()

	err = c.run(ctx, client)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("timed out after %v: %v", caseTimeout, err)
	}
	return err
}

func pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i % 251)
	}
	return p
}

func checkEcho(resp *interop.EchoResponse, req *interop.EchoRequest) error {
	if resp.Seq != req.Seq+1 {
		return fmt.Errorf("seq = %d, want %d", resp.Seq, req.Seq+1)
	}
	if resp.Msg != req.Msg {
		return fmt.Errorf("msg = %q, want %q", resp.Msg, req.Msg)
	}
	if !bytes.Equal(resp.Payload, req.Payload) {
		return fmt.Errorf("payload differs: got %d bytes, want %d", len(resp.Payload), len(req.Payload))
	}
	return nil
}

func caseEcho(ctx context.Context, c *ttrpc.Client) error {
	svc := interop.NewEchoClient(c)
	for _, req := range []*interop.EchoRequest{
		{Seq: 41, Msg: "hello", Payload: pattern(1000)},
		{},
	} {
		resp, err := svc.Echo(ctx, req)
		if err != nil {
			return fmt.Errorf("Echo(seq=%d): %v", req.Seq, err)
		}
		if err := checkEcho(resp, req); err != nil {
			return fmt.Errorf("Echo(seq=%d): %v", req.Seq, err)
		}
	}
	return nil
}

func caseMetadata(ctx context.Context, c *ttrpc.Client) error {
	md := ttrpc.MD{}
	md.Set("multi", "a")
	md.Append("multi", "b", "c")
	md.Set("single", "x")
	resp, err := interop.NewEchoClient(c).Metadata(ttrpc.WithMetadata(ctx, md), &interop.EchoRequest{})
	if err != nil {
		return fmt.Errorf("Metadata: %v", err)
	}
	want := [][2]string{{"multi", "a"}, {"multi", "b"}, {"multi", "c"}, {"single", "x"}}
	var got [][2]string
	for _, p := range resp.Pairs {
		got = append(got, [2]string{p.Key, p.Value})
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		return fmt.Errorf("pairs = %v, want %v", got, want)
	}
	return nil
}

func caseDeadline(ctx context.Context, c *ttrpc.Client) error {
	svc := interop.NewEchoClient(c)

	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := svc.Deadline(dctx, &interop.EchoRequest{})
	if err != nil {
		return fmt.Errorf("Deadline with 5s timeout: %v", err)
	}
	if !resp.HasDeadline {
		return errors.New("with 5s timeout: has_deadline = false")
	}
	if resp.RemainingMs < 3000 || resp.RemainingMs > 5000 {
		return fmt.Errorf("with 5s timeout: remaining_ms = %d, want 3000..5000", resp.RemainingMs)
	}

	resp, err = svc.Deadline(ctx, &interop.EchoRequest{})
	if err != nil {
		return fmt.Errorf("Deadline without timeout: %v", err)
	}
	if resp.HasDeadline {
		return fmt.Errorf("without timeout: has_deadline = true (remaining_ms %d)", resp.RemainingMs)
	}
	return nil
}

// wantStatus checks that err is a status error with the given code and message.
func wantStatus(err error, code codes.Code, msg string) (*status.Status, error) {
	if err == nil {
		return nil, fmt.Errorf("no error, want %v %q", code, msg)
	}
	st, ok := status.FromError(err)
	if !ok {
		return nil, fmt.Errorf("error %v (%T) is not a status", err, err)
	}
	if st.Code() != code {
		return nil, fmt.Errorf("code = %v (%d), want %v (%d); message %q", st.Code(), st.Code(), code, code, st.Message())
	}
	if msg != "" && st.Message() != msg {
		return nil, fmt.Errorf("message = %q, want %q", st.Message(), msg)
	}
	return st, nil
}

func caseError(ctx context.Context, c *ttrpc.Client) error {
	_, err := interop.NewEchoClient(c).Fail(ctx, &interop.FailRequest{
		Code:    int32(codes.FailedPrecondition),
		Message: "precondition not met",
		Detail:  "the detail",
	})
	st, err := wantStatus(err, codes.FailedPrecondition, "precondition not met")
	if err != nil {
		return err
	}
	details := st.Proto().GetDetails()
	if len(details) != 1 {
		return fmt.Errorf("%d details, want 1", len(details))
	}
	if details[0].TypeUrl != FailDetailTypeURL {
		return fmt.Errorf("detail type_url = %q, want %q", details[0].TypeUrl, FailDetailTypeURL)
	}
	// Decoded by hand: FailDetail lives in the gogo registry, which the
	// golang/protobuf Any helpers do not consult.
	var fd interop.FailDetail
	if err := fd.Unmarshal(details[0].Value); err != nil {
		return fmt.Errorf("decode FailDetail: %v", err)
	}
	if fd.Detail != "the detail" {
		return fmt.Errorf("FailDetail.detail = %q, want %q", fd.Detail, "the detail")
	}
	return nil
}

func caseUnknown(ctx context.Context, c *ttrpc.Client) error {
	for _, tc := range []struct{ service, method, msg string }{
		{"wren.interop.v1.Nope", "Echo", "service wren.interop.v1.Nope"},
		{"wren.interop.v1.Echo", "Nope", "method Nope"},
	} {
		err := c.Call(ctx, tc.service, tc.method, &interop.EchoRequest{}, &interop.EchoResponse{})
		if _, err := wantStatus(err, codes.Unimplemented, tc.msg); err != nil {
			return fmt.Errorf("%s/%s: %v", tc.service, tc.method, err)
		}
	}
	return nil
}

func caseOversize(ctx context.Context, c *ttrpc.Client) error {
	svc := interop.NewEchoClient(c)
	_, err := svc.Echo(ctx, &interop.EchoRequest{Seq: 1, Payload: make([]byte, 4*1024*1024+1)})
	if _, err := wantStatus(err, codes.ResourceExhausted, ""); err != nil {
		return fmt.Errorf("oversized Echo: %v", err)
	}
	req := &interop.EchoRequest{Seq: 7, Msg: "after oversize", Payload: pattern(100)}
	resp, err := svc.Echo(ctx, req)
	if err != nil {
		return fmt.Errorf("Echo after oversize: %v", err)
	}
	if err := checkEcho(resp, req); err != nil {
		return fmt.Errorf("Echo after oversize: %v", err)
	}
	return nil
}

func caseConcurrent(ctx context.Context, c *ttrpc.Client) error {
	const n = 100
	svc := interop.NewEchoClient(c)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req := &interop.EchoRequest{Seq: int64(i % 10), Msg: fmt.Sprint(i)}
			resp, err := svc.Sleep(ctx, req)
			if err == nil {
				err = checkEcho(resp, req)
			}
			if err != nil {
				errs[i] = fmt.Errorf("call %d: %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	failed := 0
	var first error
	for _, err := range errs {
		if err != nil {
			if first == nil {
				first = err
			}
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d calls failed; first: %v", failed, n, first)
	}
	return nil
}
