//! The functions' real bootstrap binaries behind cargo-lambda's Lambda emulator, invoked
//! as `make invoke` does: `cargo lambda watch --only-lambda-apis` serves the runtime API
//! (each function polls `/.rt/<function>`), the binary runs with its stack's environment,
//! and `cargo lambda invoke` sends an event file and prints the answer.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The repository (template.yaml, events/, .venv/).
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file of `events/`.
pub fn event_file(name: &str) -> PathBuf {
    repository_root().join("events").join(name)
}

/// cargo-lambda from the project's virtualenv (`make venv`).
pub fn cargo_lambda() -> PathBuf {
    repository_root().join(".venv/bin/cargo-lambda")
}

/// The emulator and the functions started behind it; all stopped when dropped.
pub struct Emulator {
    emulator: Child,
    port: u16,
    functions: Vec<Child>,
    /// Each function's log file (its stdout and stderr, as CloudWatch would hold them).
    logs: Vec<(String, PathBuf)>,
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

impl Emulator {
    /// Starts the emulator on a free port of 127.0.0.1 and waits until it listens.
    pub fn start() -> Result<Self, String> {
        let port = free_port()?;
        let tool = cargo_lambda();
        let emulator = Command::new(&tool)
            .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", &port.to_string()])
            // An invocation the function never answers (it crashed) ends with an error
            // instead of holding the test.
            .args(["--timeout", "300"])
            .current_dir(repository_root())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e} (run `make venv`)", tool.display()))?;
        let mut this = Emulator { emulator, port, functions: Vec::new(), logs: Vec::new() };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        // Readiness, not timing: poll until it accepts (it reads the workspace first).
        for _ in 0..600 {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(this);
            }
            if let Ok(Some(status)) = this.emulator.try_wait() {
                return Err(format!("cargo lambda watch exited with {status}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = this.emulator.kill();
        Err("cargo lambda watch did not listen within a minute".into())
    }

    /// Starts `binary` as the function `name`: `AWS_LAMBDA_RUNTIME_API` points at the
    /// emulator's `/.rt/<name>`, with Lambda's other variables and `env` (the function's
    /// environment). Its logs go to a file under `target/lambda-logs/` ([`Emulator::log`]).
    pub fn start_function(&mut self, name: &str, binary: &Path, env: &[(&str, String)]) -> Result<(), String> {
        let dir = repository_root().join("target/lambda-logs");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let path = dir.join(format!("{name}-{}-{}.log", std::process::id(), crate::unique_number()));
        let file = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let err = file.try_clone().map_err(|e| e.to_string())?;
        self.logs.push((name.to_string(), path));
        let child = Command::new(binary)
            .env("AWS_LAMBDA_RUNTIME_API", format!("http://127.0.0.1:{}/.rt/{name}", self.port))
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("{}: {e}", binary.display()))?;
        self.functions.push(child);
        Ok(())
    }

    /// `cargo lambda invoke <name> --data-file <event>`: the function's answer as JSON.
    /// A function error (the invocation failed) is `Err` with what the emulator said.
    pub fn invoke(&mut self, name: &str, event: &Path) -> Result<serde_json::Value, String> {
        for function in &mut self.functions {
            if let Ok(Some(status)) = function.try_wait() {
                return Err(format!("a function exited ({status}) before {name} was invoked:\n{}", self.log(name)));
            }
        }
        let out = Command::new(cargo_lambda())
            .args([
                "lambda",
                "invoke",
                name,
                "-A",
                "127.0.0.1",
                "-P",
                &self.port.to_string(),
                "--output-format",
                "json",
            ])
            .arg("--data-file")
            .arg(event)
            .current_dir(repository_root())
            .output()
            .map_err(|e| e.to_string())?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!(
                "{name} {}: {}{}\n{name}'s log:\n{}",
                event.display(),
                stdout,
                String::from_utf8_lossy(&out.stderr),
                self.log(name)
            ));
        }
        serde_json::from_str(&stdout).map_err(|e| format!("{name} answered {stdout:?}: {e}"))
    }

    /// As [`Emulator::invoke`] with a payload written to a temporary file.
    pub fn invoke_json(&mut self, name: &str, payload: &serde_json::Value) -> Result<serde_json::Value, String> {
        let path = std::env::temp_dir().join(format!(
            "stravasync-invoke-{}-{}.json",
            std::process::id(),
            crate::unique_number()
        ));
        std::fs::write(&path, payload.to_string()).map_err(|e| e.to_string())?;
        let answer = self.invoke(name, &path);
        let _ = std::fs::remove_file(&path);
        answer
    }
}

impl Emulator {
    /// What the function `name` has logged so far.
    pub fn log(&self, name: &str) -> String {
        self.logs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, path)| std::fs::read_to_string(path).unwrap_or_default())
            .collect()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        for child in self.functions.iter_mut().chain(std::iter::once(&mut self.emulator)) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// An HTTP answer: status, headers (names in lower case, cookies as `set-cookie`) and body.
pub type HttpAnswer = (u16, Vec<(String, String)>, String);

/// An HTTP function's answer in API Gateway v2's response format. A base64 body is
/// refused: every fixture's answer is text.
pub fn http_answer(answer: &serde_json::Value) -> Result<HttpAnswer, String> {
    let status = answer["statusCode"].as_u64().ok_or_else(|| format!("no statusCode in {answer}"))? as u16;
    if answer["isBase64Encoded"].as_bool() == Some(true) {
        return Err(format!("a base64 body: {answer}"));
    }
    let mut headers: Vec<(String, String)> = answer["headers"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    for cookie in answer["cookies"].as_array().into_iter().flatten() {
        headers.push(("set-cookie".into(), cookie.as_str().unwrap_or_default().to_string()));
    }
    Ok((status, headers, answer["body"].as_str().unwrap_or_default().to_string()))
}
