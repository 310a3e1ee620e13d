//! The template check of `make test` (`infra/check_template.py` on `stravasync resources`)
//! against the deployment manifest: it passes on template.yaml, and fails, naming the
//! variable and the function, on a template that does not set a variable the code reads
//! (that the code reads it: each reader's `check_reader` test).

use std::path::{Path, PathBuf};
use std::process::Command;

use stravasync_aws::template_stack::repository_root;

/// Runs the check on `template` (the text of a template.yaml) and the binary's manifest:
/// its exit code and what it printed.
fn check(dir: &Path, template: &str) -> (Option<i32>, String) {
    let spec = Command::new(env!("CARGO_BIN_EXE_stravasync")).arg("resources").output().unwrap();
    assert!(spec.status.success(), "{}", String::from_utf8_lossy(&spec.stderr));
    let (template_path, spec_path) = (dir.join("template.yaml"), dir.join("resources.json"));
    std::fs::write(&template_path, template).unwrap();
    std::fs::write(&spec_path, &spec.stdout).unwrap();
    let python = repository_root().join(".venv/bin/python");
    assert!(python.exists(), "{} is missing: run `make venv`", python.display());
    let out = Command::new(python)
        .arg(repository_root().join("infra/check_template.py"))
        .args([&template_path, &spec_path])
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text)
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stravasync-manifest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_template_check_fails_on_a_variable_the_code_reads_and_the_template_does_not_set() {
    let dir = scratch();
    let template = std::fs::read_to_string(repository_root().join("template.yaml")).unwrap();
    let (code, out) = check(&dir, &template);
    assert_eq!(code, Some(0), "template.yaml: {out}");
    assert!(out.contains(" 0 difference(s)"), "{out}");

    // The rollup reads RECONCILE_EVERY_DAYS (RollupConfig), which the manifest sets from
    // the ReconcileEveryDays parameter; a template without it fails, naming both.
    let line = "          RECONCILE_EVERY_DAYS: !Ref ReconcileEveryDays\n";
    assert!(template.contains(line));
    let (code, out) = check(&dir, &template.replacen(line, "", 1));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(
            "check_template: RollupFunction does not set RECONCILE_EVERY_DAYS, which the rollup function reads"
        ),
        "{out}"
    );
    assert!(out.contains(" 1 difference(s)"), "only that: {out}");

    // And a variable the manifest does not list.
    let line = "          PACE_BACKGROUND: !Ref PaceBackground\n";
    let (code, out) = check(&dir, &template.replacen(line, &format!("{line}          PACE_FOREGROUND: \"true\"\n"), 1));
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("ConsumerFunction sets PACE_FOREGROUND, which is not in the manifest"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}
