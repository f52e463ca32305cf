// go-client is the benchmark's Go ttrpc 1.1.1 client: the generated
// BenchService client, running the same workloads with the same flags and
// result lines as the Rust clients (bench/support and bench/driver).
//
//	go-client --socket <path> --mode latency|throughput|hold [flags]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/ttrpc"

	benchv1 "wren/bench/v1"
)

type args struct {
	socket           string
	mode             string
	payload          int
	warmup, calls    uint64
	conns, inFlight  int
	warmupSecs, secs float64
	count, size      uint64
	callsSet         bool
}

func parseArgs() args {
	var a args
	flag.StringVar(&a.socket, "socket", "", "the server's unix socket")
	flag.StringVar(&a.mode, "mode", "", "latency, throughput or hold (stream: Go ttrpc 1.1.1 has none)")
	flag.IntVar(&a.payload, "payload", 0, "bytes echoed per call")
	flag.Uint64Var(&a.warmup, "warmup", 0, "warm-up calls (latency)")
	flag.Uint64Var(&a.calls, "calls", 20000, "timed calls (latency), or an exact call count (throughput)")
	flag.IntVar(&a.conns, "conns", 1, "connections")
	flag.IntVar(&a.inFlight, "in-flight", 1, "calls in flight per connection")
	flag.Float64Var(&a.warmupSecs, "warmup-secs", 1, "warm-up time (throughput), seconds")
	flag.Float64Var(&a.secs, "secs", 3, "measuring time (throughput), seconds")
	flag.Uint64Var(&a.count, "count", 200000, "messages in the timed stream")
	flag.Uint64Var(&a.size, "size", 64, "bytes per streamed message")
	flag.Parse()
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "calls" {
			a.callsSet = true
		}
	})
	if a.socket == "" || a.mode == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if a.conns < 1 {
		a.conns = 1
	}
	if a.inFlight < 1 {
		a.inFlight = 1
	}
	return a
}

func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

func connect(path string) (benchv1.BenchService, *ttrpc.Client, error) {
	conn, err := net.Dial("unix", path)
	if err != nil {
		return nil, nil, err
	}
	c := ttrpc.NewClient(conn)
	return benchv1.NewBenchClient(c), c, nil
}

func echo(c benchv1.BenchService, data []byte) error {
	reply, err := c.Echo(context.Background(), &benchv1.Payload{Data: data})
	if err != nil {
		return err
	}
	if len(reply.Data) != len(data) {
		return fmt.Errorf("echoed %d bytes, sent %d", len(reply.Data), len(data))
	}
	return nil
}

func report(fields ...interface{}) {
	var b strings.Builder
	b.WriteString("RESULT")
	for i := 0; i+1 < len(fields); i += 2 {
		b.WriteString(" " + fields[i].(string) + "=" + strconv.FormatFloat(fields[i+1].(float64), 'f', -1, 64))
	}
	fmt.Println(b.String())
}

func percentile(sorted []uint64, q float64) uint64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q*float64(len(sorted)) + 0.999999999)
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

func latency(a args) error {
	c, _, err := connect(a.socket)
	if err != nil {
		return err
	}
	data := payload(a.payload)
	for i := uint64(0); i < a.warmup; i++ {
		if err := echo(c, data); err != nil {
			return err
		}
	}
	calls := a.calls
	if calls < 1 {
		calls = 1
	}
	samples := make([]uint64, 0, calls)
	for i := uint64(0); i < calls; i++ {
		start := time.Now()
		err := echo(c, data)
		samples = append(samples, uint64(time.Since(start).Nanoseconds()))
		if err != nil {
			return err
		}
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	var sum float64
	for _, s := range samples {
		sum += float64(s)
	}
	report("calls", float64(len(samples)), "p50_ns", float64(percentile(samples, 0.5)),
		"p99_ns", float64(percentile(samples, 0.99)), "mean_ns", sum/float64(len(samples)))
	return nil
}

func throughput(a args) error {
	data := payload(a.payload)
	limit := uint64(1<<63 - 1)
	if a.callsSet {
		limit = a.calls
	}
	var done, issued uint64
	var stop int32
	var wg sync.WaitGroup
	errs := make(chan error, a.conns*a.inFlight)
	start := time.Now()
	for i := 0; i < a.conns; i++ {
		c, _, err := connect(a.socket)
		if err != nil {
			return err
		}
		for j := 0; j < a.inFlight; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for atomic.LoadInt32(&stop) == 0 && atomic.AddUint64(&issued, 1) <= limit {
					if err := echo(c, data); err != nil {
						errs <- err
						return
					}
					atomic.AddUint64(&done, 1)
				}
			}()
		}
	}
	var calls uint64
	var elapsed time.Duration
	if a.callsSet {
		wg.Wait()
		calls, elapsed = atomic.LoadUint64(&done), time.Since(start)
	} else {
		time.Sleep(time.Duration(a.warmupSecs * float64(time.Second)))
		c0, t0 := atomic.LoadUint64(&done), time.Now()
		time.Sleep(time.Duration(a.secs * float64(time.Second)))
		c1, t1 := atomic.LoadUint64(&done), time.Now()
		atomic.StoreInt32(&stop, 1)
		wg.Wait()
		calls, elapsed = c1-c0, t1.Sub(t0)
	}
	select {
	case err := <-errs:
		return err
	default:
	}
	if calls == 0 {
		return errors.New("no call completed while measuring")
	}
	report("calls", float64(calls), "secs", elapsed.Seconds(), "rps", float64(calls)/elapsed.Seconds())
	return nil
}

func hold(a args) error {
	clients := make([]*ttrpc.Client, 0, a.conns)
	for i := 0; i < a.conns; i++ {
		c, raw, err := connect(a.socket)
		if err != nil {
			return err
		}
		if err := echo(c, nil); err != nil {
			return err
		}
		clients = append(clients, raw)
	}
	fmt.Printf("HELD conns=%d\n", len(clients))
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

func main() {
	a := parseArgs()
	var err error
	switch a.mode {
	case "latency":
		err = latency(a)
	case "throughput":
		err = throughput(a)
	case "hold":
		err = hold(a)
	case "stream":
		err = errors.New("Go ttrpc 1.1.1 has no streams")
	default:
		err = fmt.Errorf("unknown mode %q", a.mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
