//! The deployment manifest: every environment variable a function reads, stated once.
//!
//! Each [`Var`] says who reads it ([`Reader`]: the five Lambda functions, by their binary's
//! name, and the operator commands), what a reader does when it is unset ([`Unset`]: refuse
//! to start, do without, or take the default given here, which is the one the code uses),
//! and where `template.yaml` gets its value ([`Source`]: a parameter, a resource, or
//! nowhere, with the reason the template leaves it to the default). The code reads a
//! variable only through [`super::Env`], which takes a `Var`, and a `Var` can only be made
//! here: a variable outside this table cannot be read.
//!
//! Checked against it:
//! - each reader's `from_lookup` asks for exactly its variables, and refuses to start
//!   without exactly the required ones ([`check_reader`], a test beside each reader);
//! - `template.yaml` sets, for each function, exactly the variables it reads but the
//!   default-only ones, each from the source named here, with parameters whose defaults are
//!   these, and the operator's resources are stack outputs (`infra/check_template.py`, on
//!   the JSON of [`to_json`] that `stravasync resources` prints);
//! - the local stack's parameters and a local run's endpoints are keyed by these variables
//!   (`stravasync_aws::local`), and its functions' environments hold only theirs;
//! - docs/design.md §3 carries [`markdown_table`] (a test).
//!
//! Not here: what Lambda itself sets (`AWS_REGION`, the role's keys,
//! `AWS_LAMBDA_FUNCTION_NAME`: `stravasync_aws::http`, `stravasync_aws::emf`) and what the
//! tools and tests set (`AWS_ENDPOINT_URL` for moto, `STRAVASYNC_*`, `STRAVA_FIXTURES`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::{ConfigError, TokenStore};

/// Who reads a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reader {
    Webhook,
    Api,
    /// The export function: the API's binary crate and configuration (`ApiConfig`).
    Export,
    Consumer,
    Rollup,
    /// The operator commands (`stravasync status`, `subscribe`, `dlq`, `backfill` …), with
    /// the values of the stack's outputs; not a function of the template.
    Operator,
}

impl Reader {
    /// The Lambda functions of the template.
    pub const FUNCTIONS: [Reader; 5] = [Reader::Webhook, Reader::Api, Reader::Export, Reader::Consumer, Reader::Rollup];
    pub const ALL: [Reader; 6] =
        [Reader::Webhook, Reader::Api, Reader::Export, Reader::Consumer, Reader::Rollup, Reader::Operator];

    /// A function's binary (the template's `Metadata.BuildProperties.Binary`), or `operator`.
    pub const fn name(self) -> &'static str {
        match self {
            Reader::Webhook => "webhook",
            Reader::Api => "api",
            Reader::Export => "export",
            Reader::Consumer => "consumer",
            Reader::Rollup => "rollup",
            Reader::Operator => "operator",
        }
    }

    pub fn from_name(name: &str) -> Option<Reader> {
        Reader::ALL.into_iter().find(|r| r.name() == name)
    }

    pub const fn is_function(self) -> bool {
        !matches!(self, Reader::Operator)
    }
}

impl std::fmt::Display for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a reader does when the variable is unset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unset {
    /// Refuses to start, naming the variable.
    Fails,
    /// Reads it only when the condition holds, and then refuses to start without it.
    FailsWhen(&'static str),
    /// Does without it, as said.
    Means(&'static str),
    /// Takes this default.
    Text(&'static str),
    Whole(u32),
    Share(f64),
    Flag(bool),
}

impl Unset {
    /// The default, as the value of the variable would be written.
    pub fn default_text(self) -> Option<String> {
        match self {
            Unset::Text(t) => Some(t.to_string()),
            Unset::Whole(n) => Some(n.to_string()),
            Unset::Share(x) => Some(x.to_string()),
            Unset::Flag(b) => Some(b.to_string()),
            Unset::Fails | Unset::FailsWhen(_) | Unset::Means(_) => None,
        }
    }

    fn default_json(self) -> Value {
        match self {
            Unset::Text(t) => json!(t),
            Unset::Whole(n) => json!(n),
            Unset::Share(x) => json!(x),
            Unset::Flag(b) => json!(b),
            Unset::Fails | Unset::FailsWhen(_) | Unset::Means(_) => Value::Null,
        }
    }

    /// Whether a reader may start without it.
    pub const fn is_optional(self) -> bool {
        !matches!(self, Unset::Fails | Unset::FailsWhen(_))
    }
}

/// Where `template.yaml` gets a variable's value for the functions that read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `!Ref <Parameter>`; the parameter's `Default` is the variable's, where it has one.
    Parameter(&'static str),
    /// `!Ref <LogicalId>`: a resource's name, URL or ARN.
    Ref(&'static str),
    /// `!GetAtt <LogicalId>.<Attribute>`.
    GetAtt(&'static str),
    /// `!If [condition, !GetAtt attribute, ""]`: a resource that exists under `condition` only.
    GetAttIf { condition: &'static str, attribute: &'static str },
    /// `!Sub <text>`.
    Sub(&'static str),
    /// Not set: every reader takes the default, for the reason given.
    DefaultOnly(&'static str),
    /// `source` for the functions listed; the others that read it take the default, for
    /// the reason `others`.
    Only { functions: &'static [Reader], source: &'static Source, others: &'static str },
}

impl Source {
    /// What the template sets for `function`, or why it sets nothing.
    pub fn for_function(self, function: Reader) -> Result<Source, &'static str> {
        match self {
            Source::DefaultOnly(why) => Err(why),
            Source::Only { functions, source, others } => {
                if functions.contains(&function) {
                    source.for_function(function)
                } else {
                    Err(others)
                }
            }
            source => Ok(source),
        }
    }

    /// The value as the template holds it, YAML's short forms read as their long ones
    /// (`!Ref X` as `{"Ref": "X"}`, as `infra/check_template.py` loads them).
    fn template_json(self) -> Value {
        match self {
            Source::Parameter(name) | Source::Ref(name) => json!({ "Ref": name }),
            Source::GetAtt(attribute) => json!({ "GetAtt": attribute }),
            Source::GetAttIf { condition, attribute } => {
                json!({ "If": [condition, { "GetAtt": attribute }, ""] })
            }
            Source::Sub(text) => json!({ "Sub": text }),
            Source::DefaultOnly(_) | Source::Only { .. } => Value::Null,
        }
    }

    /// The template parameter it comes from.
    pub const fn parameter(self) -> Option<&'static str> {
        match self {
            Source::Parameter(name) => Some(name),
            Source::Only { source, .. } => source.parameter(),
            _ => None,
        }
    }

    /// The resources (logical ids) it names.
    fn resources(self) -> Vec<&'static str> {
        let logical = |attribute: &'static str| attribute.split('.').next().unwrap_or(attribute);
        match self {
            Source::Ref(name) => vec![name],
            Source::GetAtt(attribute) | Source::GetAttIf { attribute, .. } => vec![logical(attribute)],
            Source::Only { source, .. } => source.resources(),
            Source::Parameter(_) | Source::Sub(_) | Source::DefaultOnly(_) => Vec::new(),
        }
    }

    fn markdown(self) -> String {
        match self {
            Source::Parameter(name) => format!("parameter `{name}`"),
            Source::Ref(name) => format!("`!Ref {name}`"),
            Source::GetAtt(attribute) => format!("`!GetAtt {attribute}`"),
            Source::GetAttIf { condition, attribute } => format!("`!GetAtt {attribute}` if `{condition}`, else empty"),
            Source::Sub(text) => format!("`!Sub {text}`"),
            Source::DefaultOnly(why) => format!("not set: {why}"),
            Source::Only { functions, source, others } => {
                let names: Vec<&str> = functions.iter().map(|f| f.name()).collect();
                format!("{} ({} only); not set for the others: {others}", source.markdown(), names.join(", "))
            }
        }
    }
}

/// One environment variable of the deployment. Made only here: the code reads variables
/// through [`super::Env`], which takes a `Var`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Var {
    name: &'static str,
    read_by: &'static [Reader],
    unset: Unset,
    source: Source,
    /// A valid value (not the default): what the checks give the readers.
    example: &'static str,
    about: &'static str,
}

impl Var {
    pub const fn name(&self) -> &'static str {
        self.name
    }

    pub const fn read_by(&self) -> &'static [Reader] {
        self.read_by
    }

    pub fn is_read_by(&self, reader: Reader) -> bool {
        self.read_by.contains(&reader)
    }

    pub const fn unset(&self) -> Unset {
        self.unset
    }

    pub const fn source(&self) -> Source {
        self.source
    }

    pub const fn about(&self) -> &'static str {
        self.about
    }

    /// The default of a whole-number variable (a compile error on any other, in a const).
    pub const fn whole_default(&self) -> u32 {
        match self.unset {
            Unset::Whole(n) => n,
            _ => panic!("not a whole-number variable with a default"),
        }
    }

    /// The default of a share (a compile error on any other variable, in a const).
    pub const fn share_default(&self) -> f64 {
        match self.unset {
            Unset::Share(x) => x,
            _ => panic!("not a share with a default"),
        }
    }

    /// The default of a flag (a compile error on any other variable, in a const).
    pub const fn flag_default(&self) -> bool {
        match self.unset {
            Unset::Flag(b) => b,
            _ => panic!("not a flag with a default"),
        }
    }
}

use Reader::{Api, Consumer, Export, Operator, Rollup, Webhook};

pub const TABLE_NAME: Var = Var {
    name: "TABLE_NAME",
    read_by: &[Webhook, Api, Export, Consumer, Rollup, Operator],
    unset: Unset::Fails,
    source: Source::Ref("Table"),
    example: "stravasync-Table-ABC",
    about: "The one DynamoDB table (docs/design.md §7).",
};

pub const QUEUE_URL: Var = Var {
    name: "QUEUE_URL",
    read_by: &[Webhook, Api, Export, Consumer, Rollup, Operator],
    unset: Unset::Fails,
    source: Source::Ref("EventsQueue"),
    example: "https://sqs.eu-west-1.amazonaws.com/1/stravasync-EventsQueue.fifo",
    about: "The events lane's FIFO queue: webhook events, threshold changes, disconnects.",
};

pub const BACKGROUND_QUEUE_URL: Var = Var {
    name: "BACKGROUND_QUEUE_URL",
    read_by: &[Webhook, Api, Export, Consumer, Rollup, Operator],
    unset: Unset::Means("background jobs go to the events queue, in message groups of their own"),
    source: Source::Ref("BackgroundQueue"),
    example: "https://sqs.eu-west-1.amazonaws.com/1/stravasync-BackgroundQueue.fifo",
    about: "The background lane's FIFO queue: backfill, reconcile and rescores (docs/design.md §5).",
};

pub const IMPORT_QUEUE_URL: Var = Var {
    name: "IMPORT_QUEUE_URL",
    read_by: &[Consumer, Operator],
    unset: Unset::Means("no import queue: the consumer takes no import records, and `stravasync import` cannot run"),
    source: Source::Ref("ImportQueue"),
    example: "https://sqs.eu-west-1.amazonaws.com/1/stravasync-ImportQueue.fifo",
    about: "The import queue (FIFO, a group per athlete): one message per file of an athlete's own files (docs/design.md §4b).",
};

pub const DLQ_URL: Var = Var {
    name: "DLQ_URL",
    read_by: &[Consumer, Operator],
    unset: Unset::Means("poison records wait for the queues' redrive policy"),
    source: Source::Ref("EventsDlq"),
    example: "https://sqs.eu-west-1.amazonaws.com/1/stravasync-EventsDlq.fifo",
    about: "The dead-letter queue of both lanes: the consumer moves poison records there at once.",
};

pub const APP_SECRET_ID: Var = Var {
    name: "APP_SECRET_ID",
    read_by: &[Webhook, Consumer, Operator],
    unset: Unset::Fails,
    source: Source::Ref("AppSecret"),
    example: "arn:aws:secretsmanager:eu-west-1:1:secret:AppSecret-abc",
    about: "The secret of the Strava app's credentials, verify token and subscription id.",
};

pub const TOKEN_SECRET_PREFIX: Var = Var {
    name: "TOKEN_SECRET_PREFIX",
    read_by: &[Webhook, Consumer],
    unset: Unset::Fails,
    source: Source::Sub("${AWS::StackName}"),
    example: "stravasync",
    about: "Athletes' token secrets are `<prefix>/athlete/<id>` (`TOKEN_STORE=secretsmanager`).",
};

pub const SESSION_SECRET_ID: Var = Var {
    name: "SESSION_SECRET_ID",
    read_by: &[Webhook, Api, Export],
    unset: Unset::Fails,
    source: Source::Ref("SessionSecret"),
    example: "arn:aws:secretsmanager:eu-west-1:1:secret:SessionSecret-abc",
    about: "The secret holding the key that signs session cookies (the webhook signs, the API checks).",
};

pub const TOKEN_STORE: Var = Var {
    name: "TOKEN_STORE",
    read_by: &[Webhook, Consumer],
    unset: Unset::Text(TokenStore::SECRETS_MANAGER),
    source: Source::Parameter("TokenStore"),
    example: TokenStore::DYNAMODB_KMS,
    about: "Where athletes' OAuth tokens are kept: `secretsmanager` or `dynamodb-kms` (README, Deploying).",
};

pub const TOKEN_KEY_ID: Var = Var {
    name: "TOKEN_KEY_ID",
    read_by: &[Webhook, Consumer],
    unset: Unset::FailsWhen("`TOKEN_STORE` is `dynamodb-kms`"),
    source: Source::GetAttIf { condition: "TokensInTable", attribute: "TokenKey.Arn" },
    example: "arn:aws:kms:eu-west-1:1:key/k",
    about: "The KMS key whose data keys seal athletes' tokens in the table.",
};

pub const STRAVA_API_URL: Var = Var {
    name: "STRAVA_API_URL",
    read_by: &[Webhook, Consumer, Operator],
    unset: Unset::Fails,
    source: Source::Parameter("StravaApiUrl"),
    example: "http://127.0.0.1:8787/api/v3",
    about: "Strava's API (fake-strava's locally); the operator commands take Strava's unless it is set.",
};

pub const STRAVA_OAUTH_URL: Var = Var {
    name: "STRAVA_OAUTH_URL",
    read_by: &[Webhook, Consumer, Operator],
    unset: Unset::Fails,
    source: Source::Parameter("StravaOauthUrl"),
    example: "http://127.0.0.1:8787/oauth",
    about: "Strava's OAuth endpoints (fake-strava's locally); the operator commands take Strava's unless it is set.",
};

pub const PUBLIC_BASE_URL: Var = Var {
    name: "PUBLIC_BASE_URL",
    read_by: &[Webhook, Api, Export],
    unset: Unset::Fails,
    source: Source::Sub("https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"),
    example: "https://abc123.execute-api.eu-west-1.amazonaws.com",
    about: "The site's own URL: the OAuth redirect, the cookie's attributes, the origin state changes must come from.",
};

pub const EXPORT_URL: Var = Var {
    name: "EXPORT_URL",
    read_by: &[Api, Export],
    unset: Unset::Means("exports are served by this site, under `PUBLIC_BASE_URL`"),
    source: Source::Only {
        functions: &[Api],
        source: &Source::GetAtt("ExportFunctionUrl.FunctionUrl"),
        others: "the export function's own URL, which the template cannot give it (a circular reference); it hands out no export links",
    },
    example: "https://abc123.lambda-url.eu-west-1.on.aws/",
    about: "Where `/api/export`'s one-time links point: the export function's URL.",
};

pub const SUPPORT_EMAIL: Var = Var {
    name: "SUPPORT_EMAIL",
    read_by: &[Webhook, Api, Export],
    unset: Unset::Fails,
    source: Source::Parameter("SupportEmail"),
    example: "support@example.test",
    about: "Where athletes write for support and data requests; every page shows it.",
};

pub const WEBHOOK_PATH_SECRET: Var = Var {
    name: "WEBHOOK_PATH_SECRET",
    read_by: &[Webhook],
    unset: Unset::Fails,
    source: Source::Parameter("WebhookPathSecret"),
    example: "0123456789abcdef",
    about: "The secret path segment of Strava's push callback (16+ of `[A-Za-z0-9_-]`).",
};

pub const STRAVA_SCOPE: Var = Var {
    name: "STRAVA_SCOPE",
    read_by: &[Webhook, Api, Export],
    unset: Unset::Text(crate::model::DEFAULT_SCOPE),
    source: Source::DefaultOnly(
        "the scopes the stored data needs, which the privacy page names and Strava's review checks; only tests ask for others",
    ),
    example: "read,activity:read",
    about: "The scopes `/connect` asks Strava for.",
};

pub const BACKFILL_COUNT: Var = Var {
    name: "BACKFILL_COUNT",
    read_by: &[Webhook],
    unset: Unset::Whole(30),
    source: Source::Parameter("BackfillCount"),
    example: "50",
    about: "Activities imported when an athlete connects.",
};

pub const BACKFILL_DAILY_LIMIT: Var = Var {
    name: "BACKFILL_DAILY_LIMIT",
    read_by: &[Api, Export],
    unset: Unset::Whole(crate::ration::BACKFILL_DAILY_ACTIVITIES),
    source: Source::Parameter("BackfillDailyLimit"),
    example: "200",
    about: "Activities one athlete's history imports may ask for per UTC day.",
};

pub const RATE_LIMIT_15MIN: Var = Var {
    name: "RATE_LIMIT_15MIN",
    read_by: &[Consumer, Operator],
    unset: Unset::Whole(100),
    source: Source::Parameter("StravaReadLimit15Min"),
    example: "600",
    about: "The app's Strava read limit per 15 minutes, shared by all athletes.",
};

pub const RATE_LIMIT_DAILY: Var = Var {
    name: "RATE_LIMIT_DAILY",
    read_by: &[Consumer, Operator],
    unset: Unset::Whole(1000),
    source: Source::Parameter("StravaReadLimitDaily"),
    example: "30000",
    about: "The app's Strava read limit per UTC day.",
};

pub const BACKGROUND_SHARE: Var = Var {
    name: "BACKGROUND_SHARE",
    read_by: &[Consumer],
    unset: Unset::Share(0.7),
    source: Source::Parameter("BackgroundShare"),
    example: "0.5",
    about: "Share of each window (and, paced, of the day) backfill and reconcile may use.",
};

pub const PACE_BACKGROUND: Var = Var {
    name: "PACE_BACKGROUND",
    read_by: &[Consumer],
    unset: Unset::Flag(true),
    source: Source::Parameter("PaceBackground"),
    example: "false",
    about: "Whether background's share of the day grows hour by hour; local stacks, on the wall clock, turn it off.",
};

/// Why the consumer's receive counts are no parameters.
const BELOW_MAX_RECEIVE_COUNT: &str = "kept below the queue's maxReceiveCount (20, `resources::QUEUE`), \
     which a deployment cannot change either; a compile-time assertion holds them there";

pub const MAX_RECEIVES: Var = Var {
    name: "MAX_RECEIVES",
    read_by: &[Consumer],
    unset: Unset::Whole(5),
    source: Source::DefaultOnly(BELOW_MAX_RECEIVE_COUNT),
    example: "4",
    about: "Receives after which a transient failure is dead-lettered.",
};

pub const RESEND_AFTER: Var = Var {
    name: "RESEND_AFTER",
    read_by: &[Consumer],
    unset: Unset::Whole(10),
    source: Source::DefaultOnly(BELOW_MAX_RECEIVE_COUNT),
    example: "8",
    about: "Receives after which a record waiting for the budget is re-sent as a fresh copy.",
};

pub const RETRY_BASE_SECONDS: Var = Var {
    name: "RETRY_BASE_SECONDS",
    read_by: &[Consumer],
    unset: Unset::Whole(10),
    source: Source::DefaultOnly(
        "with `MAX_RECEIVES` it decides how long a transient failure is retried before the DLQ (10, 20, 40, 80 s); \
         the two are changed together, in the code",
    ),
    example: "5",
    about: "First retry delay of a transient failure, doubled on every receive.",
};

pub const BACKFILL_BATCH: Var = Var {
    name: "BACKFILL_BATCH",
    read_by: &[Consumer],
    unset: Unset::Whole(10),
    source: Source::DefaultOnly(
        "the background lane's fairness slice, chosen with the simulation (`stravasync-dev simulate --backfill-batch`, \
         docs/design.md §5); a property of the scheduling, not of a deployment",
    ),
    example: "20",
    about: "Activities a backfill message imports before handing over to a continuation.",
};

pub const RECONCILE_EVERY_DAYS: Var = Var {
    name: "RECONCILE_EVERY_DAYS",
    read_by: &[Rollup],
    unset: Unset::Whole(7),
    source: Source::Parameter("ReconcileEveryDays"),
    example: "1",
    about: "Each athlete's activities are listed against Strava's every this many days (missed webhooks).",
};

/// Every variable, in the order of the docs' table.
pub const VARS: &[Var] = &[
    TABLE_NAME,
    QUEUE_URL,
    BACKGROUND_QUEUE_URL,
    IMPORT_QUEUE_URL,
    DLQ_URL,
    APP_SECRET_ID,
    TOKEN_SECRET_PREFIX,
    SESSION_SECRET_ID,
    TOKEN_STORE,
    TOKEN_KEY_ID,
    STRAVA_API_URL,
    STRAVA_OAUTH_URL,
    PUBLIC_BASE_URL,
    EXPORT_URL,
    SUPPORT_EMAIL,
    WEBHOOK_PATH_SECRET,
    STRAVA_SCOPE,
    BACKFILL_COUNT,
    BACKFILL_DAILY_LIMIT,
    RATE_LIMIT_15MIN,
    RATE_LIMIT_DAILY,
    BACKGROUND_SHARE,
    PACE_BACKGROUND,
    MAX_RECEIVES,
    RESEND_AFTER,
    RETRY_BASE_SECONDS,
    BACKFILL_BATCH,
    RECONCILE_EVERY_DAYS,
];

/// The variable called `name`.
pub fn var(name: &str) -> Option<&'static Var> {
    VARS.iter().find(|v| v.name == name)
}

/// The variables `reader` reads.
pub fn read_by(reader: Reader) -> impl Iterator<Item = &'static Var> {
    VARS.iter().filter(move |v| v.is_read_by(reader))
}

/// The manifest as JSON, for `stravasync resources` and `infra/check_template.py`: per
/// variable, its readers, whether it is required, its default, the parameter and resources
/// it comes from, and per function the value the template must give it (`template`) or
/// the reason it gives none (`default_only`).
pub fn to_json() -> Value {
    let variables: Vec<Value> = VARS
        .iter()
        .map(|v| {
            let mut template = serde_json::Map::new();
            let mut default_only = serde_json::Map::new();
            for function in v.read_by.iter().filter(|r| r.is_function()) {
                match v.source.for_function(*function) {
                    Ok(source) => template.insert(function.name().into(), source.template_json()),
                    Err(why) => default_only.insert(function.name().into(), json!(why)),
                };
            }
            json!({
                "name": v.name,
                "about": v.about,
                "read_by": v.read_by.iter().map(|r| r.name()).collect::<Vec<_>>(),
                "required": match v.unset {
                    Unset::Fails => json!("always"),
                    Unset::FailsWhen(condition) => json!(condition),
                    _ => Value::Null,
                },
                "default": v.unset.default_json(),
                "parameter": v.source.parameter(),
                "resources": v.source.resources(),
                "template": template,
                "default_only": default_only,
            })
        })
        .collect();
    json!({
        "functions": Reader::FUNCTIONS.iter().map(|r| r.name()).collect::<Vec<_>>(),
        "variables": variables,
    })
}

/// The manifest as the Markdown table of docs/design.md §3.
pub fn markdown_table() -> String {
    let mut out =
        String::from("| variable | read by | when unset | in template.yaml | what it is |\n|---|---|---|---|---|\n");
    for v in VARS {
        let readers: Vec<&str> = v.read_by.iter().map(|r| r.name()).collect();
        let unset = match v.unset {
            Unset::Fails => "required".to_string(),
            Unset::FailsWhen(condition) => format!("required when {condition}"),
            Unset::Means(what) => what.to_string(),
            other => format!("`{}`", other.default_text().unwrap_or_default()),
        };
        out.push_str(&format!(
            "| `{}` | {} | {unset} | {} | {} |\n",
            v.name,
            readers.join(", "),
            v.source.markdown(),
            v.about
        ));
    }
    out
}

/// A complete environment: every variable at its example value, athletes' tokens in the
/// table (`kms`) or in Secrets Manager.
pub fn example_env(kms: bool) -> BTreeMap<&'static str, String> {
    VARS.iter()
        .map(|v| {
            let value = match (v.name == TOKEN_STORE.name, kms) {
                (true, true) => TokenStore::DYNAMODB_KMS,
                (true, false) => TokenStore::SECRETS_MANAGER,
                (false, _) => v.example,
            };
            (v.name, value.to_string())
        })
        .collect()
}

/// A reader's way to its variables (a lookup that the checks record).
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Checks a reader's configuration (`read`: its `from_lookup`) against the manifest: on
/// complete environments (both token stores), through a lookup that records each name
/// asked for, it must ask for exactly the variables the manifest lists for `reader` and
/// start. Then, for a function, without each of its variables in turn: it must refuse to
/// start, naming the variable, exactly when the manifest says it is required. The error
/// names each variable and the reader.
pub fn check_reader<T>(reader: Reader, read: impl Fn(Lookup<'_>) -> Result<T, ConfigError>) -> Result<(), String> {
    let declared: BTreeSet<&str> = read_by(reader).map(|v| v.name).collect();
    let asked = std::cell::RefCell::new(BTreeSet::new());
    let mut problems = Vec::new();
    for kms in [false, true] {
        let env = example_env(kms);
        let lookup = |name: &str| {
            asked.borrow_mut().insert(name.to_string());
            env.get(name).cloned()
        };
        if let Err(e) = read(&lookup) {
            problems.push(format!("{reader} refuses a complete environment: {e}"));
        }
    }
    let asked = asked.into_inner();
    for name in &asked {
        if !declared.contains(name.as_str()) {
            let listed = var(name).map_or("is not in the manifest", |_| "the manifest does not list for it");
            problems.push(format!("{reader} reads {name}, which {listed}"));
        }
    }
    for name in &declared {
        if !asked.contains(*name) {
            problems.push(format!("the manifest lists {name} for {reader}, which does not read it"));
        }
    }
    if reader.is_function() {
        for v in read_by(reader) {
            let without = |kms: bool| {
                let mut env = example_env(kms);
                env.remove(v.name);
                read(&|name: &str| env.get(name).cloned()).err()
            };
            let missing = Some(ConfigError::Missing(v.name));
            let (secrets_manager, kms) = (without(false), without(true));
            let as_declared = match v.unset {
                Unset::Fails => secrets_manager == missing && kms == missing,
                Unset::FailsWhen(_) => (secrets_manager == missing) != (kms == missing),
                _ => secrets_manager.is_none() && kms.is_none(),
            };
            if !as_declared {
                let want = if v.unset.is_optional() { "starts without it" } else { "refuses to start without it" };
                problems.push(format!(
                    "{reader} without {}: the manifest says it {want}, but it gave {:?} (Secrets Manager) and {:?} (KMS)",
                    v.name, secrets_manager, kms
                ));
            }
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("\n")) }
}

#[cfg(test)]
mod tests {
    use super::super::Env;
    use super::*;

    #[test]
    fn every_variable_is_named_once_read_and_sourced() {
        let names: BTreeSet<&str> = VARS.iter().map(|v| v.name).collect();
        assert_eq!(names.len(), VARS.len(), "a variable listed twice");
        for v in VARS {
            assert!(!v.read_by.is_empty(), "{} has no reader", v.name);
            assert!(v.read_by.iter().any(|r| r.is_function()), "{}: the operator reads a function's variables", v.name);
            for function in v.read_by.iter().filter(|r| r.is_function()) {
                // A variable the template leaves unset must have a default, or no function
                // that reads it would start.
                if v.source.for_function(*function).is_err() {
                    assert!(v.unset.is_optional(), "{} is default-only for {function} but required", v.name);
                }
            }
            if let Source::Only { functions, .. } = v.source {
                assert!(
                    functions.iter().all(|f| v.is_read_by(*f)),
                    "{}: set for a function that does not read it",
                    v.name
                );
            }
            assert_ne!(Some(v.example.to_string()), v.unset.default_text(), "{}: its example is its default", v.name);
        }
    }

    #[test]
    fn the_json_names_each_functions_value_or_why_there_is_none() {
        let json = to_json();
        let vars = json["variables"].as_array().unwrap();
        let get = |name: &str| vars.iter().find(|v| v["name"] == name).unwrap().clone();
        let export_url = get("EXPORT_URL");
        assert_eq!(export_url["template"], json!({"api": {"GetAtt": "ExportFunctionUrl.FunctionUrl"}}));
        assert!(export_url["default_only"]["export"].as_str().unwrap().contains("circular"));
        assert_eq!(export_url["resources"], json!(["ExportFunctionUrl"]));
        let batch = get("BACKFILL_BATCH");
        assert_eq!((batch["default"].clone(), batch["template"].clone()), (json!(10), json!({})));
        assert!(batch["default_only"]["consumer"].is_string());
        let pace = get("PACE_BACKGROUND");
        assert_eq!((pace["parameter"].clone(), pace["default"].clone()), (json!("PaceBackground"), json!(true)));
        assert_eq!(
            get("TOKEN_KEY_ID")["template"]["webhook"],
            json!({"If": ["TokensInTable", {"GetAtt": "TokenKey.Arn"}, ""]})
        );
        assert_eq!(get("TABLE_NAME")["required"], "always");
        assert_eq!(get("TABLE_NAME")["read_by"].as_array().map(Vec::len), Some(6));
    }

    /// A reader of the rollup's variables, and `extra` besides.
    fn rollup_reading(extra: Option<&'static Var>) -> impl Fn(Lookup<'_>) -> Result<(), ConfigError> {
        move |get| {
            let env = Env::new(get);
            env.required(&TABLE_NAME)?;
            env.required(&QUEUE_URL)?;
            env.optional(&BACKGROUND_QUEUE_URL);
            env.parsed::<u32>(&RECONCILE_EVERY_DAYS)?;
            if let Some(extra) = extra {
                env.optional(extra);
            }
            Ok(())
        }
    }

    #[test]
    fn a_reader_that_agrees_with_the_manifest_passes() {
        check_reader(Reader::Rollup, rollup_reading(None)).unwrap();
    }

    #[test]
    fn a_variable_read_but_not_listed_for_the_reader_is_named_with_the_reader() {
        let e = check_reader(Reader::Rollup, rollup_reading(Some(&DLQ_URL))).unwrap_err();
        assert_eq!(e, "rollup reads DLQ_URL, which the manifest does not list for it");
        // A consumer that reads what the manifest lists for it, and one more.
        let e = check_reader(Reader::Consumer, |get| {
            let env = Env::new(get);
            for v in read_by(Reader::Consumer) {
                env.optional(v);
            }
            env.optional(&RECONCILE_EVERY_DAYS);
            Ok::<_, ConfigError>(())
        })
        .unwrap_err();
        assert!(e.starts_with("consumer reads RECONCILE_EVERY_DAYS, which the manifest does not list for it"), "{e}");
    }

    #[test]
    fn a_variable_listed_but_not_read_and_a_wrong_default_are_named() {
        let e = check_reader(Reader::Rollup, |get| {
            let env = Env::new(get);
            env.required(&TABLE_NAME)?;
            env.required(&QUEUE_URL)?;
            env.optional(&BACKGROUND_QUEUE_URL);
            Ok::<_, ConfigError>(())
        })
        .unwrap_err();
        assert!(e.contains("the manifest lists RECONCILE_EVERY_DAYS for rollup, which does not read it"), "{e}");
        // Read as required, though the manifest gives it a default.
        let e = check_reader(Reader::Rollup, |get| {
            let env = Env::new(get);
            env.required(&TABLE_NAME)?;
            env.required(&QUEUE_URL)?;
            env.optional(&BACKGROUND_QUEUE_URL);
            env.required(&RECONCILE_EVERY_DAYS)?;
            Ok::<_, ConfigError>(())
        })
        .unwrap_err();
        assert!(e.starts_with("rollup without RECONCILE_EVERY_DAYS: the manifest says it starts without it"), "{e}");
    }

    #[test]
    fn the_defaults_parse_as_the_code_reads_them() {
        let env = Env::new(|_: &str| None);
        assert_eq!(env.parsed::<u32>(&BACKFILL_BATCH), Ok(10));
        assert_eq!(env.parsed::<f64>(&BACKGROUND_SHARE), Ok(0.7));
        assert_eq!(env.parsed::<bool>(&PACE_BACKGROUND), Ok(true));
        assert_eq!(env.text(&STRAVA_SCOPE), Ok(crate::model::DEFAULT_SCOPE.to_string()));
        assert_eq!(env.parsed::<u32>(&TABLE_NAME), Err(ConfigError::Missing("TABLE_NAME")));
        assert_eq!(env.text(&TABLE_NAME), Err(ConfigError::Missing("TABLE_NAME")));
    }

    /// docs/design.md §3 carries the table between its markers; `STRAVASYNC_WRITE_DOCS=1`
    /// writes it there.
    #[test]
    fn the_design_document_carries_the_manifest() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/design.md");
        let design = std::fs::read_to_string(path).unwrap();
        let (begin, end) = (DOCS_BEGIN, DOCS_END);
        let start = design.find(begin).expect("docs/design.md has no manifest marker") + begin.len();
        let stop = start + design[start..].find(end).expect("docs/design.md has no end of the manifest");
        let table = format!("\n{}", markdown_table());
        if design[start..stop] != table && std::env::var("STRAVASYNC_WRITE_DOCS").is_ok_and(|v| v == "1") {
            std::fs::write(path, format!("{}{table}{}", &design[..start], &design[stop..])).unwrap();
            return;
        }
        assert!(
            design[start..stop] == table,
            "docs/design.md §3's table of variables is not the manifest's: run \
             STRAVASYNC_WRITE_DOCS=1 cargo test -p stravasync-core --lib manifest"
        );
    }

    const DOCS_BEGIN: &str = "<!-- the manifest's table (crates/core/src/config/manifest.rs; a test checks it) -->";
    const DOCS_END: &str = "<!-- end of the manifest's table -->";
}
