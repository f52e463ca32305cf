// wren-go-peer is the Go side of wren's ttrpc interop tests. It is built
// against Debian's Go ttrpc 1.1.1 (GOPATH mode, see ../build.sh) and runs
// either as a server of the wren.interop.v1.Echo service or as a client that
// checks a server of that service case by case.
//
//	wren-go-peer server <unix-socket-path>
//	wren-go-peer client <unix-socket-path> <case>... | all
//	wren-go-peer otel-server <unix-socket-path>
//	wren-go-peer otel-client <unix-socket-path>
package main

import (
	"fmt"
	"os"

	"github.com/containerd/ttrpc"
)

func usage() {
	fmt.Fprintf(os.Stderr, "usage:\n"+
		"  wren-go-peer server <unix-socket-path>\n"+
		"  wren-go-peer client <unix-socket-path> <case>...\n"+
		"  wren-go-peer otel-server <unix-socket-path>\n"+
		"  wren-go-peer otel-client <unix-socket-path>\n"+
		"cases: %v, or all\n", caseNames())
	os.Exit(2)
}

func main() {
	if len(os.Args) < 3 {
		usage()
	}
	mode, path := os.Args[1], os.Args[2]
	switch mode {
	case "server":
		if len(os.Args) != 3 {
			usage()
		}
		os.Exit(runServer(path))
	case "otel-server":
		if len(os.Args) != 3 {
			usage()
		}
		os.Exit(runServer(path, ttrpc.WithUnaryServerInterceptor(serverInterceptor(newTracer()))))
	case "otel-client":
		if len(os.Args) != 3 {
			usage()
		}
		os.Exit(runOtelClient(path))
	case "client":
		if len(os.Args) < 4 {
			usage()
		}
		os.Exit(runClient(path, os.Args[3:]))
	default:
		usage()
	}
}
