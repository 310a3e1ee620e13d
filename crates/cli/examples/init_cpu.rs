//! Cold-start cost of the Lambda binaries: each binary is started against a stub Lambda
//! runtime API on 127.0.0.1. Its first `GET .../runtime/invocation/next` ends Lambda's
//! init phase; the stub answers it with one cheap event of the function's kind (the
//! webhook's subscription challenge, the API's `/api/me`, an empty SQS batch, a `dirty`
//! rollup), and the second poll ends the first invocation. Reports the median over
//! `--runs` starts of
//!
//! - init CPU: user + system time of all the process's threads up to the first poll
//!   (`/proc/<pid>/task/*/schedstat`, nanoseconds);
//! - first-invocation CPU: the same from the first to the second poll (work moved out of
//!   init to first use shows up here, not hidden);
//! - wall time from `spawn` to the second poll.
//!
//! Run under `infra/with-moto.sh` (the functions find a bootstrapped local stack, so one
//! that reads a secret during init can do so):
//!
//! ```text
//! cargo build --release --bin webhook --bin consumer --bin rollup --bin api
//! infra/with-moto.sh cargo run --release -p stravasync-cli --example init_cpu -- \
//!     target/release/webhook target/release/consumer target/release/rollup target/release/api
//! ```

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use stravasync_aws::local::{LocalStack, local_app_credentials, unique_suffix};
use stravasync_aws::resources::ResourceNames;

const NEXT: &str = "GET /2018-06-01/runtime/invocation/next ";

/// CPU time (ns) of every thread of `pid` so far.
fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return 0 };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|line| line.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Reads one whole request from `stream` (head and `content-length` body); its first line.
fn request_line(stream: &mut TcpStream) -> String {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let mut wanted = None;
    loop {
        if wanted.is_none()
            && let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n")
        {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            wanted = Some(end + 4 + length);
        }
        if wanted.is_some_and(|w| data.len() >= w) {
            break;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&data).lines().next().unwrap_or_default().to_string()
}

struct Sample {
    init_cpu: Duration,
    first_cpu: Duration,
    wall: Duration,
}

/// The first event the stub hands `binary` (by its name).
fn first_event(binary: &std::path::Path) -> Result<Vec<u8>, String> {
    let name = binary.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let fixture = |file: &str| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events").join(file);
        std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
    };
    match name.as_str() {
        "webhook" => fixture("webhook-challenge.json"),
        "api" => fixture("api-me.json"),
        "consumer" => Ok(br#"{"Records": []}"#.to_vec()),
        "rollup" => Ok(br#"{"mode": "dirty"}"#.to_vec()),
        other => Err(format!("no first event for a binary named {other:?}")),
    }
}

/// Starts `binary` once and measures it up to its first poll for an invocation.
fn measure(binary: &PathBuf, env: &[(&str, String)]) -> Result<Sample, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut child: Child = Command::new(binary)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", "init-cpu")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let pid = child.id();
    let event = first_event(binary)?;
    let mut init_cpu = None;
    let result = loop {
        match listener.accept() {
            Ok((mut stream, _)) => {
                stream.set_nonblocking(false).map_err(|e| e.to_string())?;
                let line = request_line(&mut stream);
                if line.starts_with(NEXT) {
                    // The process is blocked on this poll: its CPU time so far is its
                    // init, then its init and first invocation.
                    let cpu = Duration::from_nanos(cpu_ns(pid));
                    let Some(init) = init_cpu else {
                        init_cpu = Some(cpu);
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                             lambda-runtime-aws-request-id: init-cpu-1\r\nlambda-runtime-deadline-ms: {}\r\n\
                             lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:init-cpu\r\n\
                             lambda-runtime-trace-id: Root=1-00000000-000000000000000000000000\r\n\r\n",
                            event.len(),
                            std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .map(|d| d.as_millis() + 60_000)
                                .unwrap_or(0),
                        );
                        let _ = stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(&event));
                        continue;
                    };
                    break Ok(Sample { init_cpu: init, first_cpu: cpu.saturating_sub(init), wall: started.elapsed() });
                }
                if line.contains("/error ") {
                    break Err(format!("{} reported an error for its first event", binary.display()));
                }
                let _ = stream.write_all(b"HTTP/1.1 202 Accepted\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Ok(Some(status)) = child.try_wait() {
                    let mut err = String::new();
                    let _ = child.stderr.take().map(|mut s| s.read_to_string(&mut err));
                    break Err(format!("{} exited ({status}) before polling: {err}", binary.display()));
                }
                if started.elapsed() > Duration::from_secs(20) {
                    break Err(format!("{} did not poll within 20 s", binary.display()));
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            Err(e) => break Err(e.to_string()),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut runs = 20;
    let mut binaries = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().ok_or("--runs needs a number")?.parse()?,
            _ => binaries.push(PathBuf::from(arg)),
        }
    }
    if binaries.is_empty() {
        return Err("usage: init_cpu [--runs N] BINARY...".into());
    }
    let sdk = stravasync_aws::sdk_config_from_env()?;
    let stack = LocalStack::create(sdk, ResourceNames::local(&unique_suffix("init")), &local_app_credentials()).await?;
    let mut env = stack.handler_env();
    for key in ["AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"] {
        if let Ok(value) = std::env::var(key) {
            env.push((key, value));
        }
    }
    env.push(("PUBLIC_BASE_URL", "http://127.0.0.1:1".into()));
    env.push(("STRAVA_API_URL", "http://127.0.0.1:1/api/v3".into()));
    env.push(("STRAVA_OAUTH_URL", "http://127.0.0.1:1/oauth".into()));
    println!(
        "{:<24} {:>14} {:>18} {:>16} {:>10}",
        "binary", "init CPU (ms)", "1st invoke CPU (ms)", "wall to 2nd poll", "size (KiB)"
    );
    for binary in &binaries {
        let (mut init, mut first, mut wall) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let s = measure(binary, &env)?;
            init.push(s.init_cpu);
            first.push(s.first_cpu);
            wall.push(s.wall);
        }
        let size = std::fs::metadata(binary)?.len() / 1024;
        let ms = |v: Vec<Duration>| median(v).as_secs_f64() * 1e3;
        println!(
            "{:<24} {:>14.2} {:>18.2} {:>16.2} {size:>10}",
            binary.display().to_string(),
            ms(init),
            ms(first),
            ms(wall)
        );
    }
    Ok(())
}
