//! Reading a function's metrics as CloudWatch would: the Embedded Metric Format lines of its
//! log (`_aws.CloudWatchMetrics`), checked against the catalog
//! (`stravasync_core::telemetry`).

use std::collections::BTreeMap;

use serde_json::Value;
use stravasync_core::telemetry::{self, FUNCTION_DIMENSION, NAMESPACE};

/// One metric as CloudWatch keys it: name and dimensions (`Function` included).
pub type MetricKey = (String, BTreeMap<String, String>);

/// The EMF documents among a log's lines.
pub fn documents(log: &str) -> Vec<Value> {
    log.lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect()
}

/// The bytes of a log's EMF lines (newlines included): what they add to CloudWatch Logs.
pub fn bytes(log: &str) -> usize {
    log.lines().filter(|l| l.starts_with("{\"_aws\"")).map(|l| l.len() + 1).sum()
}

/// Every value recorded, per metric, in the order logged; checks each document's shape and
/// each metric against the catalog (name, unit, dimensions), and fails naming what differs.
pub fn values(log: &str) -> Result<BTreeMap<MetricKey, Vec<f64>>, String> {
    let mut out: BTreeMap<MetricKey, Vec<f64>> = BTreeMap::new();
    for doc in documents(log) {
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        if directive["Namespace"] != NAMESPACE || doc["_aws"]["Timestamp"].as_u64().is_none() {
            return Err(format!("not a {NAMESPACE} document: {doc}"));
        }
        let names: Vec<String> = directive["Dimensions"][0]
            .as_array()
            .ok_or_else(|| format!("no dimension set: {doc}"))?
            .iter()
            .map(|d| d.as_str().unwrap_or_default().to_string())
            .collect();
        let dims: BTreeMap<String, String> =
            names.iter().map(|n| (n.clone(), doc[n].as_str().unwrap_or_default().to_string())).collect();
        if !dims.contains_key(FUNCTION_DIMENSION) {
            return Err(format!("no {FUNCTION_DIMENSION} dimension: {doc}"));
        }
        for metric in directive["Metrics"].as_array().into_iter().flatten() {
            let name = metric["Name"].as_str().unwrap_or_default();
            let spec = telemetry::metric(name).ok_or_else(|| format!("{name} is not in the catalog"))?;
            let mut expected: Vec<&str> = spec.dimensions.iter().map(|d| d.name).collect();
            expected.push(FUNCTION_DIMENSION);
            expected.sort_unstable();
            let mut got: Vec<&str> = names.iter().map(String::as_str).collect();
            got.sort_unstable();
            if got != expected {
                return Err(format!("{name} has dimensions {got:?}, the catalog {expected:?}"));
            }
            if let Some((k, v)) = dims.iter().find(|(k, v)| *k != FUNCTION_DIMENSION && !spec.allows(k, v)) {
                return Err(format!("{name}'s {k} is {v}, not a value of the catalog's"));
            }
            if metric["Unit"].as_str() != Some(spec.unit) {
                return Err(format!("{name} has unit {}, the catalog {}", metric["Unit"], spec.unit));
            }
            let recorded = match &doc[name] {
                Value::Array(items) => items.iter().filter_map(Value::as_f64).collect(),
                v => v.as_f64().into_iter().collect::<Vec<_>>(),
            };
            out.entry((name.to_string(), dims.clone())).or_default().extend(recorded);
        }
    }
    Ok(out)
}

/// The key of metric `name` of `function` with `dims` (besides `Function`).
pub fn key(name: &str, function: &str, dims: &[(&str, &str)]) -> MetricKey {
    let mut all: BTreeMap<String, String> = dims.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    all.insert(FUNCTION_DIMENSION.to_string(), function.to_string());
    (name.to_string(), all)
}

/// The sum of what metric `name` of `function` with `dims` recorded (0 when nothing).
pub fn total(values: &BTreeMap<MetricKey, Vec<f64>>, name: &str, function: &str, dims: &[(&str, &str)]) -> f64 {
    values.get(&key(name, function, dims)).map_or(0.0, |v| v.iter().sum())
}
