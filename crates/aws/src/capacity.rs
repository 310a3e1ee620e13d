//! DynamoDB capacity units of a request, from its wire JSON, as on-demand billing counts
//! them: one write unit per started KB of each item written, one read unit per started
//! 4 KB read (half for an eventually consistent read). For the request meter of
//! [`crate::http::meter`] (the `stravasync-dev cost` measurement), not for the data path.
//!
//! Approximations, each on the side the pipeline's items make small: an `UpdateItem`
//! counts its key and new values (the item it updates is not in the request); a delete
//! counts one unit (the size of the deleted item is not in the request either).

use serde_json::Value;

/// Bytes DynamoDB counts for one attribute value in its wire form (`{"S": "…"}` …).
fn value_bytes(v: &Value) -> usize {
    let Some((kind, inner)) = v.as_object().and_then(|o| o.iter().next()) else { return 0 };
    match (kind.as_str(), inner) {
        ("S", Value::String(s)) => s.len(),
        ("N", Value::String(n)) => n.trim_start_matches('-').len().div_ceil(2) + 1,
        ("B", Value::String(b)) => b.len() / 4 * 3 - b.chars().rev().take_while(|c| *c == '=').count(),
        ("BOOL" | "NULL", _) => 1,
        ("SS" | "NS" | "BS", Value::Array(items)) => {
            items.iter().map(|i| value_bytes(&serde_json::json!({ &kind[..1]: i }))).sum()
        }
        ("L", Value::Array(items)) => 3 + items.iter().map(|i| 1 + value_bytes(i)).sum::<usize>(),
        ("M", Value::Object(_)) => 3 + item_bytes(inner) + inner.as_object().map_or(0, |m| m.len()),
        _ => 0,
    }
}

/// Bytes of an item (a map of attribute name to wire value).
pub fn item_bytes(item: &Value) -> usize {
    item.as_object().map_or(0, |m| m.iter().map(|(name, v)| name.len() + value_bytes(v)).sum())
}

fn write_units(item: &Value) -> f64 {
    item_bytes(item).div_ceil(1024).max(1) as f64
}

fn read_units(bytes: usize, consistent: bool) -> f64 {
    let units = bytes.div_ceil(4096).max(1) as f64;
    if consistent { units } else { units / 2.0 }
}

/// `(write units, read units)` of one DynamoDB call, from the operation's name (the
/// `X-Amz-Target` suffix), its request body and its response body.
pub fn units(operation: &str, request: &Value, response: &Value) -> (f64, f64) {
    let consistent = request.get("ConsistentRead").and_then(Value::as_bool).unwrap_or(false);
    match operation {
        "PutItem" => (request.get("Item").map_or(1.0, write_units), 0.0),
        "UpdateItem" => {
            let mut touched = request.get("Key").cloned().unwrap_or_default();
            if let (Some(t), Some(values)) =
                (touched.as_object_mut(), request.get("ExpressionAttributeValues").and_then(Value::as_object))
            {
                t.extend(values.clone());
            }
            (write_units(&touched), 0.0)
        }
        "DeleteItem" => (1.0, 0.0),
        "BatchWriteItem" => {
            let requests = request.get("RequestItems").and_then(Value::as_object);
            let units = requests
                .into_iter()
                .flat_map(|tables| tables.values())
                .filter_map(Value::as_array)
                .flatten()
                .map(|r| match r.get("PutRequest").and_then(|p| p.get("Item")) {
                    Some(item) => write_units(item),
                    None => 1.0,
                })
                .sum();
            (units, 0.0)
        }
        "GetItem" => (0.0, read_units(response.get("Item").map_or(0, item_bytes), consistent)),
        "Query" | "Scan" => {
            let items = response.get("Items").and_then(Value::as_array);
            let bytes = items.into_iter().flatten().map(item_bytes).sum();
            (0.0, read_units(bytes, consistent))
        }
        _ => (0.0, 0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sizes_follow_dynamodbs_rules() {
        // Names count; strings by their bytes; numbers about a byte per two digits plus one;
        // binaries by their decoded length.
        assert_eq!(item_bytes(&json!({"pk": {"S": "ATH#1"}})), 2 + 5);
        assert_eq!(item_bytes(&json!({"v": {"N": "1234"}})), 1 + 3);
        assert_eq!(item_bytes(&json!({"b": {"B": "AAECAw=="}})), 1 + 4);
        assert_eq!(item_bytes(&json!({"ok": {"BOOL": true}})), 2 + 1);
    }

    #[test]
    fn units_of_the_calls_the_pipeline_makes() {
        let big = "x".repeat(2500);
        let put = json!({"Item": {"pk": {"S": "ATH#1"}, "data": {"S": big}}});
        assert_eq!(units("PutItem", &put, &json!({})), (3.0, 0.0));
        let batch = json!({"RequestItems": {"t": [
            {"PutRequest": {"Item": {"pk": {"S": "a"}}}},
            {"PutRequest": {"Item": {"pk": {"S": "a"}, "data": {"S": big}}}},
            {"DeleteRequest": {"Key": {"pk": {"S": "a"}}}}
        ]}});
        assert_eq!(units("BatchWriteItem", &batch, &json!({})), (1.0 + 3.0 + 1.0, 0.0));
        let get = json!({"ConsistentRead": true});
        assert_eq!(units("GetItem", &get, &json!({"Item": {"pk": {"S": "a"}}})), (0.0, 1.0));
        assert_eq!(units("GetItem", &json!({}), &json!({})), (0.0, 0.5));
        let items: Vec<Value> = (0..10).map(|_| json!({"data": {"S": "y".repeat(1000)}})).collect();
        assert_eq!(units("Query", &json!({}), &json!({ "Items": items })), (0.0, 1.5));
        assert_eq!(units("SendMessage", &json!({}), &json!({})), (0.0, 0.0));
    }
}
