//! `stravasync local up`, `local pump` and `rollup` against the moto server of `make test`.

use std::process::Command;

fn stravasync(args: &[&str], env: &[(String, String)]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stravasync")).args(args).envs(env.iter().cloned()).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn local_up_pump_and_rollup() {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(endpoint.starts_with("http://127.0.0.1"), "run through `make test` (needs the local moto server)");
    let name = format!("cli-{}", std::process::id());
    let (ok, out, err) = stravasync(&["local", "up", "--name", &name], &[]);
    assert!(ok, "{err}");
    let mut env: Vec<(String, String)> = out
        .lines()
        .filter_map(|l| l.strip_prefix("export ")?.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    assert_eq!(env.len(), 5, "{out}");
    assert!(env.iter().any(|(k, v)| k == "QUEUE_URL" && v.ends_with(".fifo")));

    let (ok, out, err) = stravasync(&["rollup"], &env);
    assert!(ok, "{err}");
    assert!(out.contains("\"rows_written\":0"), "{out}");

    env.push(("STRAVA_API_URL".into(), "http://127.0.0.1:9/api/v3".into()));
    env.push(("STRAVA_OAUTH_URL".into(), "http://127.0.0.1:9/oauth".into()));
    let (ok, out, err) = stravasync(&["local", "pump"], &env);
    assert!(ok, "{err}");
    assert!(out.contains("received 0"), "{out}");

    // A missing variable is named.
    let (ok, _, err) = stravasync(&["rollup"], &[]);
    assert!(!ok && err.contains("TABLE_NAME"), "{err}");
}
