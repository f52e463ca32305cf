//! The command line, as clap parses it.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

const ABOUT: &str = "Call, inspect and debug ttrpc services.";

const LONG_ABOUT: &str = "\
Call, inspect and debug ttrpc services: containerd's shims, Kata's agent, \
any ttrpc server in any language.

Messages are written and printed as JSON in the standard proto3 JSON \
mapping. The services' types come from .proto files (--proto, -I), from a \
compiled descriptor set (--descriptor-set), or, when neither is given, from \
the server itself through gRPC server reflection (which wren servers can \
serve).";

const AFTER_HELP: &str = "\
Examples:
  wren call unix:///run/demo.sock hello.v1.Greeter/SayHello -d '{\"name\": \"wren\"}'
  wren call unix:///run/containerd/s/abc containerd.task.v2.Task/State \\
      -I /usr/share/gocode/src -I /usr/share/gocode/src/github.com/gogo/protobuf \\
      --proto github.com/containerd/containerd/runtime/v2/task/shim.proto \\
      -H containerd-namespace-ttrpc=default -d '{\"id\": \"redis\"}'
  wren list unix:///run/demo.sock
  wren describe unix:///run/demo.sock hello.v1.HelloRequest
  wren health unix:///run/demo.sock hello.v1.Greeter
  xxd -p capture.bin | wren decode --proto hello.proto

Exit status: 0 on success; 1 for an error of wren itself; 2 for bad usage or \
input (arguments, .proto files, JSON); 3 when the endpoint cannot be \
connected to; 4 when `wren health` finds the service not serving; 10 + the \
status code when a call fails with a status (11 CANCELLED, 14 \
DEADLINE_EXCEEDED, 15 NOT_FOUND, 22 UNIMPLEMENTED, 23 INTERNAL, 24 \
UNAVAILABLE, ...). docs/cli.md describes every command.";

/// `wren`: the command line.
#[derive(Debug, Parser)]
#[command(
    name = "wren",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP,
    propagate_version = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,

    /// Print what wren is doing (connecting, calling, messages sent) to stderr.
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Call a method with JSON messages and print the replies as JSON.
    #[command(after_help = CALL_HELP)]
    Call(CallArgs),
    /// List the services (or one service's methods).
    #[command(after_help = LIST_HELP)]
    List(ListArgs),
    /// Describe a service, method, message, enum or field, in .proto syntax.
    #[command(after_help = DESCRIBE_HELP)]
    Describe(DescribeArgs),
    /// Check a server's health (grpc.health.v1.Health/Check).
    #[command(after_help = HEALTH_HELP)]
    Health(HealthArgs),
    /// Decode captured ttrpc bytes frame by frame.
    #[command(after_help = DECODE_HELP)]
    Decode(DecodeArgs),
}

const CALL_HELP: &str = "\
ENDPOINT is a URI: unix:///path/to.sock (or a bare absolute path), \
unix://@abstract-name, tcp://host:port, vsock://CID:PORT, or \
hvsock:///path/to/vmm.sock:PORT (Firecracker and Cloud Hypervisor's hybrid \
vsock).

A unary or server-streaming method sends one request: -d JSON, -d @FILE, \
-d @- (stdin), or {} without -d. A client-streaming or bidirectional method \
sends one JSON message per line, from -d @FILE, -d @- or, without -d, stdin, \
until end of input. Replies are printed one JSON message per line as they \
arrive (a unary reply is pretty-printed). A failed call prints its status \
(code, message and details, decoded where the type is known) to stderr and \
exits with 10 + the code.

Examples:
  wren call unix:///run/demo.sock hello.v1.Greeter/SayHello -d '{\"name\": \"wren\"}'
  wren call tcp://127.0.0.1:1234 demo.v1.Log/Tail -d '{\"lines\": 10}' --timeout 30s
  printf '{\"n\": 1}\\n{\"n\": 2}\\n' | wren call unix:///run/demo.sock demo.v1.Sum/Add
  wren call unix:///run/shim.sock containerd.task.v2.Task/Connect --proto shim.proto \\
      -I /usr/share/gocode/src -H containerd-namespace-ttrpc=default -d '{\"id\": \"c1\"}'";

const LIST_HELP: &str = "\
Arguments: [ENDPOINT] [SERVICE]. Without SERVICE, lists every service; with \
it, that service's methods, each with its request and reply types. Without \
ENDPOINT, lists what the --proto or --descriptor-set files declare.

Examples:
  wren list unix:///run/demo.sock
  wren list unix:///run/demo.sock hello.v1.Greeter
  wren list --proto shim.proto -I /usr/share/gocode/src";

const DESCRIBE_HELP: &str = "\
Arguments: [ENDPOINT] SYMBOL, a fully-qualified name such as \
hello.v1.Greeter, hello.v1.Greeter.SayHello, hello.v1.HelloRequest or \
hello.v1.HelloRequest.name.

Examples:
  wren describe unix:///run/demo.sock hello.v1.Greeter
  wren describe --proto hello.proto hello.v1.HelloRequest";

const HEALTH_HELP: &str = "\
Prints the status (SERVING, NOT_SERVING, ...) and exits 0 for SERVING, 4 for \
any other status, and 10 + the code when the call fails (15 NOT_FOUND for a \
service the server does not know, 22 UNIMPLEMENTED for a server without the \
health service). Without SERVICE, checks the server as a whole.

Examples:
  wren health unix:///run/demo.sock
  wren health unix:///run/demo.sock hello.v1.Greeter --timeout 2s";

const DECODE_HELP: &str = "\
Reads a capture of the bytes one side of a ttrpc connection sent (binary, \
or hex digits with any whitespace, as `xxd -p` prints) from FILE or stdin, \
and prints every frame: its header (length, stream id, type, flags), the \
Request or Response envelope (service, method, timeout, metadata, status), \
and the payload, as JSON where the method's types are known (--proto, \
--descriptor-set), as hex otherwise.

A Request frame names its method. A Response or Data frame on a stream whose \
Request is not in the capture (the server's side of a connection) is decoded \
as --method's reply; a Data frame on a stream whose Request is in the \
capture is decoded as that method's request.

Examples:
  wren decode capture.bin
  xxd -p capture.bin | wren decode --proto hello.proto
  wren decode replies.hex --proto hello.proto --method hello.v1.Greeter/SayHello";

/// Where message types come from.
#[derive(Debug, Default, Args)]
pub(crate) struct Sources {
    /// A .proto file declaring the service and its messages (repeatable).
    /// Its imports are looked up in the -I directories (by default, the
    /// file's own directory). Google's well-known types are built in.
    #[arg(long = "proto", value_name = "FILE")]
    pub(crate) protos: Vec<PathBuf>,

    /// A directory to look up .proto files and their imports in (repeatable).
    #[arg(short = 'I', long = "import-path", value_name = "DIR")]
    pub(crate) import_paths: Vec<PathBuf>,

    /// An encoded google.protobuf.FileDescriptorSet, as `protoc
    /// --include_imports -o FILE` or wren-build write it (repeatable).
    #[arg(long = "descriptor-set", value_name = "FILE")]
    pub(crate) descriptor_sets: Vec<PathBuf>,
}

impl Sources {
    pub(crate) fn is_empty(&self) -> bool {
        self.protos.is_empty() && self.descriptor_sets.is_empty()
    }
}

/// How to reach the server.
#[derive(Debug, Args)]
pub(crate) struct Connect {
    /// How long to wait for the connection (and a hybrid vsock handshake).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub(crate) connect_timeout: Duration,

    /// The largest message sent or accepted, in bytes. Go ttrpc's limit is
    /// 4 MiB whatever this says.
    #[arg(long, value_name = "BYTES", default_value_t = wren_codec::DEFAULT_MAX_MESSAGE_SIZE)]
    pub(crate) max_message_size: usize,
}

#[derive(Debug, Args)]
pub(crate) struct CallArgs {
    /// The server: unix:///path, unix://@name, tcp://host:port, vsock://CID:PORT, hvsock:///path:PORT.
    pub(crate) endpoint: String,

    /// The method, as SERVICE/METHOD (for example containerd.task.v2.Task/State).
    pub(crate) method: String,

    /// The request as JSON, @FILE to read it from a file, or @- for stdin.
    /// Streaming requests: one JSON message per line.
    #[arg(short = 'd', long = "data", value_name = "JSON|@FILE|@-")]
    pub(crate) data: Option<String>,

    /// Request metadata as KEY=VALUE (repeatable; repeat a key for several values).
    #[arg(short = 'H', long = "header", value_name = "KEY=VALUE")]
    pub(crate) headers: Vec<String>,

    /// The call's deadline, sent to the server as its timeout (5s, 500ms, 1m).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub(crate) timeout: Option<Duration>,

    /// Print fields that hold their default value (0, "", false) too.
    #[arg(long)]
    pub(crate) emit_defaults: bool,

    #[command(flatten)]
    pub(crate) sources: Sources,

    #[command(flatten)]
    pub(crate) connect: Connect,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// An optional ENDPOINT (else the --proto files are listed), then an
    /// optional SERVICE whose methods to list.
    #[arg(value_name = "ENDPOINT|SERVICE", num_args = 0..=2)]
    pub(crate) args: Vec<String>,

    #[command(flatten)]
    pub(crate) sources: Sources,

    #[command(flatten)]
    pub(crate) connect: Connect,
}

#[derive(Debug, Args)]
pub(crate) struct DescribeArgs {
    /// An optional ENDPOINT (else the --proto files are read), then the
    /// SYMBOL to describe, fully qualified.
    #[arg(value_name = "ENDPOINT|SYMBOL", num_args = 1..=2, required = true)]
    pub(crate) args: Vec<String>,

    #[command(flatten)]
    pub(crate) sources: Sources,

    #[command(flatten)]
    pub(crate) connect: Connect,
}

#[derive(Debug, Args)]
pub(crate) struct HealthArgs {
    /// The server.
    pub(crate) endpoint: String,

    /// The service to check; the server as a whole when left out.
    pub(crate) service: Option<String>,

    /// The call's deadline.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub(crate) timeout: Duration,

    /// Request metadata as KEY=VALUE (repeatable).
    #[arg(short = 'H', long = "header", value_name = "KEY=VALUE")]
    pub(crate) headers: Vec<String>,

    #[command(flatten)]
    pub(crate) connect: Connect,
}

/// How a capture is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Hex if the input is only hex digits and whitespace, else binary.
    Auto,
    /// Hex digits, whitespace ignored.
    Hex,
    /// Raw bytes.
    Binary,
}

#[derive(Debug, Args)]
pub(crate) struct DecodeArgs {
    /// The capture; stdin when left out or `-`.
    pub(crate) input: Option<PathBuf>,

    /// How the capture is written.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub(crate) format: Format,

    /// SERVICE/METHOD of the frames whose Request is not in the capture.
    #[arg(long, value_name = "SERVICE/METHOD")]
    pub(crate) method: Option<String>,

    /// The largest frame payload accepted, in bytes; a larger frame is
    /// reported and skipped.
    #[arg(long, value_name = "BYTES", default_value_t = wren_codec::DEFAULT_MAX_MESSAGE_SIZE)]
    pub(crate) max_message_size: usize,

    #[command(flatten)]
    pub(crate) sources: Sources,
}
