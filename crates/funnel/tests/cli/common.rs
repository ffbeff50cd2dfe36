//! Driving the real `funnel` binary: `funnel up` as a child process, and
//! CLI calls against it.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

/// The binary under test, built fresh by cargo for this test.
pub fn funnel_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_funnel"))
}

pub fn repo_root() -> PathBuf {
    // crates/funnel → the repository.
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/funnel has a grandparent")
        .to_path_buf()
}

/// The credentials file of each server started here, by endpoint.
static CREDENTIALS: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());

/// Remembers where the server at `endpoint` keeps its operator's
/// credentials, for [`funnel`] calls to it.
pub fn register(endpoint: &str, data_dir: &Path) {
    CREDENTIALS
        .lock()
        .unwrap()
        .insert(endpoint.to_string(), data_dir.join("credentials"));
}

/// `funnel ARGS` against the server at `endpoint`, as its operator.
pub fn funnel(endpoint: &str, args: &[&str]) -> Output {
    let mut command = Command::new(funnel_bin());
    command.args(args).env("FUNNEL_ENDPOINT", endpoint);
    if let Some(file) = CREDENTIALS.lock().unwrap().get(endpoint) {
        command.env("FUNNEL_SHARED_CREDENTIALS_FILE", file);
    }
    command.stdin(Stdio::null()).output().expect("run funnel")
}

/// The operator's key of the server whose data dir is `data_dir`.
pub fn operator(data_dir: &Path) -> funnel_client::Credentials {
    funnel_tests::operator_credentials(&data_dir.join("credentials"))
}

/// A `funnel up` child whose stderr is drained into a channel.
pub struct Up {
    pub child: Child,
    data_dir: PathBuf,
    lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Up {
    pub fn start(data_dir: &std::path::Path) -> Up {
        Up::start_with(data_dir, &[])
    }

    /// `funnel up` with more flags (e.g. `--clock virtual`).
    pub fn start_with(data_dir: &std::path::Path, flags: &[&str]) -> Up {
        let root = repo_root();
        let mut child = Command::new(funnel_bin())
            .current_dir(&root)
            .args(["up", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            // Never the default port: tests run side by side.
            .args(if flags.contains(&"--http-listen") {
                &[][..]
            } else {
                &["--http-listen", "127.0.0.1:0"][..]
            })
            .args(if flags.contains(&"--aws-listen") {
                &[][..]
            } else {
                &["--aws-listen", "127.0.0.1:0"][..]
            })
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start funnel up");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Up {
            child,
            data_dir: data_dir.to_path_buf(),
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits until the server is up; returns its endpoint.
    pub fn endpoint(&mut self) -> String {
        let ready = self.wait_for("funnel is up at ");
        let endpoint = ready
            .split("funnel is up at ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .expect("endpoint in the ready line")
            .to_string();
        register(&endpoint, &self.data_dir);
        endpoint
    }

    /// Waits until the HTTP listener is announced; returns its address.
    pub fn http_addr(&mut self) -> String {
        let line = self.wait_for("function URLs are served at http://");
        line.split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .expect("the HTTP address")
            .to_string()
    }

    /// Waits for a stderr line containing `needle` (building the guests may
    /// take a while on a cold machine).
    pub fn wait_for(&mut self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(600)) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no {needle:?} from funnel up; it said:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// The stdout of a CLI call that must have succeeded (its stderr if not).
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
