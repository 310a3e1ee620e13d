//! Init cost of the Lambda binaries: each binary is started against a stub Lambda
//! runtime API on 127.0.0.1 and stopped at its first `GET .../runtime/invocation/next`,
//! the moment Lambda's init phase ends. Reports the median over `--runs` starts of
//!
//! - init CPU: user + system time of all the process's threads up to that poll
//!   (`/proc/<pid>/task/*/schedstat`, nanoseconds), and
//! - wall time from `spawn` to the poll.
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

/// Reads one request head from `stream`; its first line.
fn request_line(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&head).lines().next().unwrap_or_default().to_string()
}

struct Sample {
    cpu: Duration,
    wall: Duration,
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
    let result = loop {
        match listener.accept() {
            Ok((mut stream, _)) => {
                stream.set_nonblocking(false).map_err(|e| e.to_string())?;
                let line = request_line(&mut stream);
                if line.starts_with(NEXT) {
                    // The process is blocked on this poll: its CPU time is its init.
                    break Ok(Sample { cpu: Duration::from_nanos(cpu_ns(pid)), wall: started.elapsed() });
                }
                let _ = stream.write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n");
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
    println!("{:<12} {:>14} {:>14} {:>10}", "binary", "init CPU (ms)", "wall (ms)", "size (KiB)");
    for binary in &binaries {
        let mut cpu = Vec::new();
        let mut wall = Vec::new();
        for _ in 0..runs {
            let s = measure(binary, &env)?;
            cpu.push(s.cpu);
            wall.push(s.wall);
        }
        let name = binary.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let size = std::fs::metadata(binary)?.len() / 1024;
        println!(
            "{name:<12} {:>14.2} {:>14.2} {size:>10}",
            median(cpu).as_secs_f64() * 1e3,
            median(wall).as_secs_f64() * 1e3
        );
    }
    Ok(())
}
