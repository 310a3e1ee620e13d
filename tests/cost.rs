//! `stravasync-dev cost`'s measurement on the local stack, for both token stores: what each
//! store's calls are, and that the bill follows from them. In a test binary of its own:
//! the request meter counts every SDK call of the process.

use stravasync_devtools::cost::{Prices, bill, measure};

#[tokio::test]
async fn the_measured_calls_of_each_token_store_and_their_bills() {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(endpoint.starts_with("http://127.0.0.1"), "run through `make test` (needs the local moto server)");
    let now = 1_795_300_000;
    let secrets = measure(false, 3, now).await.expect("measured on Secrets Manager");
    let kms = measure(true, 3, now).await.expect("measured on DynamoDB + KMS");

    for m in [&secrets, &kms] {
        // Each new activity: its webhook event sent to the queue, its writes, the rollup's reads.
        let calls = |op: &str| m.calls.get(op).map_or(0, |c| c.requests);
        assert_eq!(calls("sqs:SendMessage"), 3, "{:?}", m.calls);
        assert!(calls("dynamodb:BatchWriteItem") >= 3, "{:?}", m.calls);
        assert!(m.calls.values().map(|c| c.write_units).sum::<f64>() >= 3.0 * 5.0, "{:?}", m.calls);
        assert!(m.stored_bytes > 1_000.0, "{}", m.stored_bytes);
        assert!(m.consumer_ms > 0.0 && m.webhook_ms > 0.0);
    }
    // The rotation: a fresh read and a write, in each store's own service.
    let ops = |m: &stravasync_devtools::cost::Measured| m.per_refresh.keys().cloned().collect::<Vec<_>>();
    assert_eq!(ops(&secrets), ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"]);
    assert_eq!(ops(&kms), ["dynamodb:GetItem", "dynamodb:UpdateItem", "kms:Decrypt", "kms:GenerateDataKey"]);

    let p = Prices::LIST;
    let (a, b) = (bill(&secrets, 1000, 20.0, &p), bill(&kms, 1000, 20.0, &p));
    assert!(a.total() > 0.40 && a.total() < 0.45, "{a:?}");
    assert!(b.total() < 0.02, "{b:?}");
}
