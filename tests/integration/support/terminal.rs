//! A command on a real terminal: `script` (util-linux) gives it a pseudo-terminal for
//! stdin and stderr, so the confirmation prompt and the progress bar appear. The test
//! reads the screen as it is written and types an answer once the prompt shows.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a prompt or the end of a run may take on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(30);

/// A running `script -qec COMMAND /dev/null` and what it has shown so far.
pub struct Terminal {
    child: Child,
    screen: Arc<Mutex<Vec<u8>>>,
    reader: std::thread::JoinHandle<()>,
}

impl Terminal {
    /// Runs the shell command `line` on a terminal, in `like`'s directory and with
    /// `like`'s environment: the caller's environment cleared of what could change the
    /// result (`BORUTA_*`, `RUST_LOG`, `NO_COLOR`, proxies: [`super::isolate`]), then
    /// `like`'s own variables set or removed.
    pub fn spawn(like: &Command, line: &str) -> Terminal {
        let mut script = Command::new("script");
        script.args(["-qec", line, "/dev/null"]);
        if let Some(dir) = like.get_current_dir() {
            script.current_dir(dir);
        }
        super::isolate(&mut script);
        for (key, value) in like.get_envs() {
            match value {
                Some(value) => script.env(key, value),
                None => script.env_remove(key),
            };
        }
        let mut child = script
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("script(1) from util-linux");
        let screen = Arc::new(Mutex::new(Vec::new()));
        let mut stdout = child.stdout.take().unwrap();
        let shown = screen.clone();
        let reader = std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n @ 1..) = stdout.read(&mut chunk) {
                shown.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        Terminal {
            child,
            screen,
            reader,
        }
    }

    /// What the terminal has shown so far.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    /// Waits until `text` is on the screen (the prompt), then types `answer`.
    #[track_caller]
    pub fn answer(&mut self, text: &str, answer: &str) {
        let shown = super::poll_until(PATIENCE, || self.screen().contains(text));
        assert!(shown, "`{text}` never appeared:\n{}", self.screen());
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(answer.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for the command to end; its exit code and the whole screen.
    pub fn finish(mut self) -> (i32, String) {
        drop(self.child.stdin.take());
        let ended = super::poll_until(PATIENCE, || self.child.try_wait().unwrap().is_some());
        if !ended {
            let _ = self.child.kill();
        }
        let status = self.child.wait().unwrap();
        self.reader.join().unwrap();
        let screen = String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned();
        assert!(ended, "still running after {PATIENCE:?}; killed:\n{screen}");
        (status.code().unwrap_or(-1), screen)
    }
}
