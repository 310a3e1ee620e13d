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
    let exports = |out: &str| -> Vec<(String, String)> {
        out.lines()
            .filter_map(|l| l.strip_prefix("export ")?.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
            .collect()
    };
    // The code's own bootstrap: the variables it knows.
    let (ok, out, err) = stravasync(&["local", "up", "--from-code", "--name", &format!("{name}-code")], &[]);
    assert!(ok, "{err}");
    assert_eq!(exports(&out).len(), 11, "{out}");
    // One function's environment, from the stack made from the template.
    let (ok, out, err) = stravasync(&["local", "up", "--name", &format!("{name}-fn"), "--function", "rollup"], &[]);
    assert!(ok, "{err}");
    let keys: Vec<String> = exports(&out).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["BACKGROUND_QUEUE_URL", "QUEUE_URL", "RECONCILE_EVERY_DAYS", "TABLE_NAME"], "{out}");
    // With the endpoints of a local run (`make invoke`'s), named by the manifest.
    let endpoints = ["--strava", "http://127.0.0.1:9", "--site", "https://site.test"];
    let (ok, out, err) = stravasync(
        &[&["local", "up", "--name", &format!("{name}-ep"), "--function", "consumer"][..], &endpoints].concat(),
        &[],
    );
    assert!(ok, "{err}");
    let env = exports(&out);
    for (key, value) in [
        ("STRAVA_API_URL", "http://127.0.0.1:9/api/v3"),
        ("STRAVA_OAUTH_URL", "http://127.0.0.1:9/oauth"),
        ("PUBLIC_BASE_URL", "https://site.test"),
        ("PACE_BACKGROUND", "false"),
    ] {
        assert!(env.contains(&(key.to_string(), value.to_string())), "{key}={value}: {out}");
    }
    // By default, from the template: every function's variables but the endpoints.
    let (ok, out, err) = stravasync(&["local", "up", "--name", &name], &[]);
    assert!(ok, "{err}");
    let mut env = exports(&out);
    for key in
        ["APP_SECRET_ID", "DLQ_URL", "SESSION_SECRET_ID", "RATE_LIMIT_DAILY", "WEBHOOK_PATH_SECRET", "SUPPORT_EMAIL"]
    {
        assert!(env.iter().any(|(k, _)| k == key), "{key}: {out}");
    }
    assert!(!env.iter().any(|(k, _)| k == "STRAVA_API_URL"), "the endpoints are the caller's: {out}");
    assert!(env.iter().any(|(k, v)| k == "PACE_BACKGROUND" && v == "false"), "a local stack runs on the wall clock");
    assert!(env.iter().any(|(k, v)| k == "QUEUE_URL" && v.ends_with(".fifo")));
    assert!(
        env.iter().any(|(k, v)| k == "BACKGROUND_QUEUE_URL" && v.contains("BackgroundQueue") && v.ends_with(".fifo"))
    );

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

fn exit_code(args: &[&str], env: &[(&str, &str)], remove: &[&str]) -> (Option<i32>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stravasync"));
    cmd.args(args).envs(env.iter().copied());
    for var in remove {
        cmd.env_remove(var);
    }
    let out = cmd.output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn local_up_refuses_a_real_account_unless_told() {
    // No endpoint: the real AWS of whatever credentials are around. Refused before any call.
    let (code, err) = exit_code(&["local", "up", "--name", "x"], &[], &["AWS_ENDPOINT_URL"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--yes-real-aws") && err.contains("unset"), "{err}");
    let (code, err) = exit_code(&["local", "up"], &[("AWS_ENDPOINT_URL", "https://sqs.eu-west-1.amazonaws.com")], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(stravasync_cli::ops::endpoint_is_local(Some("http://127.0.0.1:5000")));
    assert!(stravasync_cli::ops::endpoint_is_local(Some("http://localhost:5000")));
    assert!(!stravasync_cli::ops::endpoint_is_local(Some("http://127.example.com")));
    assert!(stravasync_cli::ops::endpoint_is_local(Some("http://[::1]:5000")));
    assert!(!stravasync_cli::ops::endpoint_is_local(Some("http://10.0.0.5:5000")));
    assert!(!stravasync_cli::ops::endpoint_is_local(None));
}

#[test]
fn bad_input_exits_2_and_a_failure_of_the_work_exits_1() {
    let (code, err) = exit_code(&["rollup"], &[], &["TABLE_NAME", "QUEUE_URL"]);
    assert_eq!(code, Some(2), "{err}");
    // Nothing listens on port 9: the input is fine, the stack is not there.
    let env = [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("TABLE_NAME", "t"),
        ("QUEUE_URL", "http://127.0.0.1:9/q.fifo"),
        ("AWS_MAX_ATTEMPTS", "1"),
    ];
    let (code, err) = exit_code(&["rollup"], &env, &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.starts_with("error: rollup: "), "{err}");
}
