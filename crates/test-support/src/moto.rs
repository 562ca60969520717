//! A moto server on a free loopback port, for tests of the AWS adapters.
//!
//! It is found as `$OUTLAY_MOTO_SERVER`, or `.venv/bin/moto_server` in the workspace (which
//! `.ci/run` creates). A test that needs it is `#[ignore]`d with that reason, so that
//! `cargo test` lists it as not run; `.ci/run` runs it with `--include-ignored`, and a test that
//! runs without moto fails.

use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A running moto server; stopped when dropped.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    /// Its standard input: `scripts/moto-serial.py` stops when it closes, that is when this
    /// process ends, even if `Drop` never runs (a server kept in a `static`).
    _stdin: Option<ChildStdin>,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The command that starts moto: `$OUTLAY_MOTO_SERVER`, or the workspace's
/// `scripts/moto-serial.py` (moto answering one request at a time, as isolated as DynamoDB's
/// transactions are; see the script) with the `.venv` Python that has moto.
fn binary() -> Option<(PathBuf, Vec<String>)> {
    if let Ok(p) = std::env::var("OUTLAY_MOTO_SERVER") {
        return Some((PathBuf::from(p), vec![]));
    }
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = workspace.join(".venv/bin/python");
    let script = workspace.join("scripts/moto-serial.py");
    (python.exists() && workspace.join(".venv/bin/moto_server").exists())
        .then(|| (python, vec![script.display().to_string()]))
}

impl Moto {
    /// Starts moto; fails the test if it is not installed.
    pub fn start(test: &str) -> Moto {
        let Some((bin, first)) = binary() else {
            panic!(
                "{test} needs moto_server: run `bash .ci/run`, or `python3 -m venv .venv && .venv/bin/pip install -r .ci/requirements.txt`"
            );
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut child = Command::new(bin)
            .args(first)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let moto = Moto {
            _stdin: child.stdin.take(),
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// One server for every test of this process, started by the first that asks; it stops
    /// when the process ends.
    pub fn shared(test: &str) -> &'static Moto {
        static SHARED: OnceLock<Moto> = OnceLock::new();
        SHARED.get_or_init(|| Moto::start(test))
    }
}
