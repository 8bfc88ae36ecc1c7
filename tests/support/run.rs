// What a run of a binary left behind, and running one: shared by the
// planner's test harness (`cli.rs` beside this file) and the lab's
// (`lab/tests/support/cli.rs`), each of which `include!`s it and names its
// own binary.

/// What a run of the binary left behind.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str::<serde_json::Value>(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }

    /// Asserts the exit code and that nothing panicked, showing everything
    /// on failure.
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(self.code, code, "exit code\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        assert!(!self.stderr.contains("panicked"), "panic:\n{}", self.stderr);
        self
    }
}

/// Runs `binary` with `args` as a user would.
pub fn run_binary<S: AsRef<std::ffi::OsStr>>(binary: &str, args: &[S]) -> Run {
    let out = std::process::Command::new(binary).args(args).output().expect("the binary runs");
    Run {
        code: out.status.code().expect("exited, not killed"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
