// go-server is the benchmark's Go ttrpc 1.1.1 server: the generated
// BenchService (Echo only: Go ttrpc 1.1.1 has no streams) on a unix socket.
// It prints "ready" once listening and exits when stdin reaches EOF.
//
//	go-server --socket <path>
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/containerd/ttrpc"

	benchv1 "wren/bench/v1"
)

type benchService struct{}

func (benchService) Echo(ctx context.Context, req *benchv1.Payload) (*benchv1.Payload, error) {
	return req, nil
}

func main() {
	socket := flag.String("socket", "", "the unix socket to listen on")
	flag.Parse()
	if *socket == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	l, err := net.Listen("unix", *socket)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
	s, err := ttrpc.NewServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
	benchv1.RegisterBenchService(s, benchService{})
	fmt.Println("ready")
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	if err := s.Serve(context.Background(), l); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
