//! The life cycle every benchmark server follows.

use std::path::PathBuf;

/// A server's command line: `--socket PATH [--inline]`.
#[derive(Clone, Debug)]
pub struct ServerArgs {
    /// The unix socket to bind.
    pub socket: PathBuf,
    /// wren only: run handlers inline on the connection task
    /// (`Server::inline_handlers(true)`) instead of a task per call.
    pub inline: bool,
}

impl ServerArgs {
    /// Parses the process's arguments by hand (a server links nothing it
    /// does not serve with); exits with a usage line on an error.
    pub fn from_env() -> ServerArgs {
        let mut socket = None;
        let mut inline = false;
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--socket" => socket = args.next().map(PathBuf::from),
                "--inline" => inline = true,
                _ => usage(),
            }
        }
        match socket {
            Some(socket) => ServerArgs { socket, inline },
            None => usage(),
        }
    }
}

fn usage() -> ! {
    eprintln!("usage: <server> --socket PATH [--inline]");
    std::process::exit(2)
}

/// Tells the harness the socket is bound (prints `ready`), and exits the
/// process when stdin reaches EOF: the harness closes it to stop the server.
/// Call it after binding, before serving.
pub fn ready() {
    println!("ready");
    std::thread::spawn(|| {
        crate::wait_for_stdin_eof();
        std::process::exit(0);
    });
}
