//! A stack made from `template.yaml` on a moto server: SAM's own transform, then moto's
//! CloudFormation (`infra/local_stack.py`, which lists and explains its few patches). What
//! the functions find here is what `sam deploy` gives them: the tables, queues and secrets
//! the template defines, and each function's environment as its `AWS::Lambda::Function`
//! holds it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One resource of the created stack.
#[derive(Debug, Clone, Deserialize)]
pub struct StackResource {
    #[serde(rename = "type")]
    pub kind: String,
    /// Its physical id (a table's name, a queue's URL, a secret's ARN, a function's name).
    pub id: String,
}

/// A function as the created stack holds it.
#[derive(Debug, Clone, Deserialize)]
pub struct DeployedFunction {
    pub logical_id: String,
    /// The function's name in the stack (`<stack>-ConsumerFunction-…`).
    pub name: String,
    /// Its execution role's ARN.
    pub role: String,
    /// Its environment, exactly as the template sets it for a local deployment.
    pub environment: BTreeMap<String, String>,
    /// Its role's inline policies (IAM policy documents).
    pub policies: Vec<serde_json::Value>,
    /// On a server enforcing IAM (`infra/with-moto.sh --iam`): the key of an IAM user
    /// holding exactly the role's policies, which the function runs under.
    #[serde(default)]
    pub credentials: Option<FunctionCredentials>,
}

/// An IAM user's access key standing for a function's execution role on moto
/// (`infra/local_stack.py --function-users`).
#[derive(Debug, Clone, Deserialize)]
pub struct FunctionCredentials {
    pub access_key_id: String,
    pub secret_access_key: stravasync_core::Secret,
}

/// Whether the server of `AWS_ENDPOINT_URL` enforces IAM (`infra/with-moto.sh --iam` says
/// so in `STRAVASYNC_IAM`): then every stack made from the template gives each function an
/// IAM user of its own, and the functions run under those users' keys.
pub fn iam_enforced() -> bool {
    std::env::var("STRAVASYNC_IAM").is_ok_and(|v| v == "enforced")
}

/// What `infra/local_stack.py up` reports.
#[derive(Debug, Clone, Deserialize)]
pub struct TemplateStack {
    /// The stack's name (also the prefix of athletes' token secrets).
    pub stack: String,
    /// Each patch applied to the translated template, with the resources it touched.
    pub patches: BTreeMap<String, Vec<String>>,
    /// The template parameters of the local deployment.
    pub parameters: BTreeMap<String, String>,
    /// Every resource by logical id.
    pub resources: BTreeMap<String, StackResource>,
    pub outputs: BTreeMap<String, String>,
    /// The functions by their binary's name (`webhook`, `api`, `export`, `consumer`, `rollup`).
    pub functions: BTreeMap<String, DeployedFunction>,
}

impl TemplateStack {
    /// The physical id of the resource `logical`.
    pub fn id(&self, logical: &str) -> Result<&str, String> {
        self.resources
            .get(logical)
            .map(|r| r.id.as_str())
            .ok_or_else(|| format!("the stack {} has no resource {logical}", self.stack))
    }

    /// The function whose binary is `binary`.
    pub fn function(&self, binary: &str) -> Result<&DeployedFunction, String> {
        self.functions.get(binary).ok_or_else(|| format!("the stack {} has no function {binary}", self.stack))
    }
}

/// The repository this crate was built from (`template.yaml`, `infra/`, `.venv/`).
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Creates the stack `name` from template.yaml on the server of `AWS_ENDPOINT_URL`, with
/// the template `parameters` of a local deployment (`crate::local`: the support contact,
/// the webhook's path secret, the token store …). Needs the project's virtualenv (`make venv`).
pub async fn create(name: &str, parameters: &[(&str, String)]) -> Result<TemplateStack, String> {
    let root = repository_root();
    let python = root.join(".venv/bin/python");
    if !python.exists() {
        return Err(format!("{} is missing: run `make venv` first", python.display()));
    }
    let mut command = std::process::Command::new(&python);
    command.arg(root.join("infra/local_stack.py")).args(["up", "--name", name]);
    for (parameter, value) in parameters {
        command.args(["--parameter", &format!("{parameter}={value}")]);
    }
    if iam_enforced() {
        command.arg("--function-users");
    }
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("{}: {e}", python.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("no message");
        return Err(format!("creating the stack {name} from template.yaml failed: {last}"));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("infra/local_stack.py printed no stack: {e}"))
}
