//! Least privilege by running: under `infra/with-moto.sh --iam` (make test's second run,
//! `infra/least_privilege.sh`) every function reaches moto as an IAM user holding exactly its
//! role's policies, so a call its role does not grant fails the flow that makes it. This
//! test shows that it does: the consumer's work, done under the rollup's role (no secrets,
//! no PutItem), is refused by IAM and reported as a failure, not done; under its own role
//! the same record is done.

use crate::common::*;
use stravasync_aws::local::LocalStack;
use stravasync_aws::template_stack::iam_enforced;
use stravasync_consumer::{Consumer, Outcome};
use stravasync_core::ports::roles::*;
use stravasync_testkit::FENIX2;

#[tokio::test]
#[ignore = "needs a moto server enforcing IAM: `make test` runs it through infra/least_privilege.sh"]
async fn least_privilege_a_call_outside_the_role_fails_the_record() {
    assert!(iam_enforced(), "run under infra/with-moto.sh --iam (STRAVASYNC_IAM=enforced)");
    let stack = LocalStack::from_template("iam-denied", false).await.expect("the template's stack on moto");
    let h = harness_on(stack, "read,activity:read_all", fake_config(), |_| {}).await;
    let job = event_job("activity", FENIX2, "create", serde_json::json!({}), 1_763_755_200);

    let as_role = |binary: &str| {
        let stack = h.stack.as_function(binary).expect("a function of the template");
        Consumer::new(
            h.consumer.policy.clone(),
            strava_client(&h.fake),
            stack.store(),
            stack.token_vault(),
            queue_of(&stack),
        )
    };
    let denied = as_role("rollup").process(&record(&job, "m-1", 1)).await;
    // Refused by IAM: the record is not done (it goes to the DLQ with the reason, for a
    // redrive once the role is mended), and the reason names the refusal.
    match &denied {
        Outcome::Retry { reason } | Outcome::Poison { reason } => {
            assert!(reason.contains("AccessDenied") && reason.contains("secretsmanager:GetSecretValue"), "{reason}")
        }
        other => panic!("the rollup's role cannot read the app secret, yet: {other:?}"),
    }
    assert!(h.consumer.store.get_activity(ATHLETE, FENIX2).await.unwrap().is_none(), "nothing written");

    let granted = as_role("consumer").process(&record(&job, "m-1", 1)).await;
    assert!(matches!(granted, Outcome::Done), "{granted:?}");
    assert!(h.consumer.store.get_activity(ATHLETE, FENIX2).await.unwrap().is_some());
}
