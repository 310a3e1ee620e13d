"""What each function's role grants and what its calls used, from a least-privilege run.

    python infra/iam_report.py RECORDING

RECORDING is the moto server's record of every request of the run (infra/with-moto.sh
--iam, infra/least_privilege.sh). Each function ran under an IAM user standing for its role
(infra/local_stack.py --function-users, tagged with the function, its stack and its role).
This reads the users back from the server, attributes each recorded request to a function
by its access key, and checks every call against the statements of the role as the
template made it, further than moto's enforcement goes:

- action: the call's service and operation (moto checks this too);
- resource: the queue, table or index, secret or key the request names, as an ARN (moto
  checks only SQS's);
- condition: `dynamodb:LeadingKeys` under ForAllValues:StringLike, from the request's
  partition key values (moto skips it). Other condition keys (`dynamodb:Attributes`) are not
  evaluated here; infra/check_template.py checks them as text.

It reports per function the calls made, each grant (action pattern on resource pattern of
one statement) that no call used, and every call no statement allows. It writes the report
to target/least-privilege.md and exits 1 when a call is not allowed, when an unused grant
is not explained in EXPLAINED_UNUSED, or when an explained one was used after all (stale).
Managed policies (Lambda's logging, the event source mapping's reads) are the platform's: a
call only they allow is marked so, and what they grant is not reported.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import os
import re
import sys
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "infra"))
from local_stack import as_list, policy_document  # noqa: E402

# moto's account.
ACCOUNT = "123456789012"

# Granted, never used by the flows of the run, and kept: (function, action, resource): why.
EXPLAINED_UNUSED: dict[tuple[str, str, str], str] = {
    (
        "consumer",
        "sqs:SendMessage*",
        "arn:aws:sqs:us-east-1:123456789012:<stack>-EventsQueue.fifo",
    ): "the consumer re-sends an event that waited for Strava's budget through RESEND_AFTER receives "
    "(crates/consumer/src/batch.rs, `resend`; tested on moto in the lanes tests); the flows of this run never "
    "wait that long, and since rescores moved to the background lane nothing else the consumer sends goes there",
}

# The stacks of the test that runs one function's work under another's role on purpose, to
# show that IAM refuses it (crates/consumer/tests/consumer/least_privilege.rs): its refused
# calls are the point, not a finding.
DELIBERATELY_REFUSED = "-iam-denied-"


@dataclass
class Call:
    key: str
    action: str
    # ARNs the request names; None when it names none that a policy could scope.
    resources: list[str] | None
    # Partition key values (dynamodb:LeadingKeys); None when not a DynamoDB item call.
    leading_keys: list[str] | None


def request_call(entry: dict) -> Call | None:
    """The call a recorded request makes; None when it is unsigned or not a JSON-protocol
    call (S3 and Lambda's REST calls: only the operator's set-up makes them)."""
    headers = {k.lower(): v for k, v in entry["headers"].items()}
    found = re.search(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/", headers.get("authorization", ""))
    target = headers.get("x-amz-target")
    if not found or not target:
        return None
    key, region, service = found.groups()
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    try:
        request = json.loads(body) if body else {}
    except json.JSONDecodeError:
        request = {}
    operation = target.rsplit(".", 1)[-1]
    return Call(key, f"{service}:{operation}", resources_of(service, region, request), leading_keys(service, request))


def resources_of(service: str, region: str, request: dict) -> list[str] | None:
    if service == "sqs" and "QueueUrl" in request:
        return [f"arn:aws:sqs:{region}:{ACCOUNT}:{request['QueueUrl'].rstrip('/').rsplit('/', 1)[-1]}"]
    if service == "dynamodb":
        tables = [request["TableName"]] if "TableName" in request else list(request.get("RequestItems", {}))
        index = f"/index/{request['IndexName']}" if "IndexName" in request else ""
        return [f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{t}{index}" for t in tables] or None
    if service == "secretsmanager":
        secret = request.get("SecretId") or request.get("Name")
        if not secret:
            return None
        return [secret if secret.startswith("arn:") else f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{secret}"]
    if service == "kms" and "KeyId" in request:
        key = request["KeyId"]
        return [key if key.startswith("arn:") else f"arn:aws:kms:{region}:{ACCOUNT}:key/{key}"]
    return None


def leading_keys(service: str, request: dict) -> list[str] | None:
    """The partition key values of a DynamoDB item call (the table's `pk`, or for a query
    the value its key condition sets the partition key to)."""
    if service != "dynamodb":
        return None
    values = []
    for item in [request.get("Key"), request.get("Item")]:
        if item and "pk" in item:
            values.append(item["pk"].get("S"))
    for writes in request.get("RequestItems", {}).values():
        for write in writes:
            item = write.get("PutRequest", {}).get("Item") or write.get("DeleteRequest", {}).get("Key") or {}
            if "pk" in item:
                values.append(item["pk"].get("S"))
    condition = request.get("KeyConditionExpression")
    if condition:
        found = re.match(r"\s*[#\w]+\s*=\s*(:\w+)", condition)
        if found:
            values.append(request.get("ExpressionAttributeValues", {}).get(found.group(1), {}).get("S"))
    return [v for v in values if v is not None] or None


def allows(statement: dict, call: Call) -> list[tuple[str, str]]:
    """The (action pattern, resource pattern) grants of `statement` that allow `call`."""
    if statement.get("Effect") != "Allow":
        return []
    actions = [a for a in as_list(statement.get("Action")) if fnmatch.fnmatchcase(call.action, a)]
    if not actions:
        return []
    patterns = as_list(statement.get("Resource", "*"))
    if call.resources is None:
        resources = patterns
    else:
        resources = [p for p in patterns if all(fnmatch.fnmatchcase(r, p) for r in call.resources)]
    if not resources:
        return []
    for operator, keys in statement.get("Condition", {}).items():
        wanted = keys.get("dynamodb:LeadingKeys")
        if operator == "ForAllValues:StringLike" and wanted is not None and call.leading_keys is not None:
            if not all(any(fnmatch.fnmatchcase(v, w) for w in as_list(wanted)) for v in call.leading_keys):
                return []
    return [(a, r) for a in actions for r in resources]


def function_users(iam) -> dict[str, dict]:
    """Each function user: its function, keys, role statements and managed actions."""
    users = {}
    for page in iam.get_paginator("list_users").paginate():
        for user in page["Users"]:
            name = user["UserName"]
            tags = {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=name)["Tags"]}
            binary = tags.get("stravasync:function")
            if not binary or DELIBERATELY_REFUSED in tags.get("stravasync:stack", ""):
                continue
            role = tags["stravasync:role"]
            statements = []
            for policy in iam.list_role_policies(RoleName=role)["PolicyNames"]:
                document = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
                statements += policy_document(document)["Statement"]
            managed = set()
            for attached in iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]:
                arn = attached["PolicyArn"]
                version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
                document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
                if isinstance(document, str):
                    document = json.loads(urllib.parse.unquote(document))
                for statement in as_list(document["Statement"]):
                    managed.update(as_list(statement.get("Action")))
            keys = [k["AccessKeyId"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]]
            users[name] = {"binary": binary, "keys": keys, "statements": statements, "managed": managed}
    return users


def check_rules() -> None:
    """The checks this report makes, on calls whose answer is known: run before every
    report, so that a report of no problems cannot come from a check that allows all."""
    table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/s-x-1-2-3-Table-ABCDEFGH"
    statement = {
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem"],
        "Resource": table,
        "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["ATH#*"]}},
    }
    call = request_call({
        "headers": {
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIA1/20261205/us-east-1/dynamodb/aws4_request, ...",
            "X-Amz-Target": "DynamoDB_20120810.GetItem",
        },
        "body": json.dumps({"TableName": "s-x-1-2-3-Table-ABCDEFGH", "Key": {"pk": {"S": "ATH#7"}, "sk": {"S": "P"}}}),
        "method": "POST",
        "url": "/",
    })
    assert call and call.action == "dynamodb:GetItem" and call.resources == [table], call
    assert call.leading_keys == ["ATH#7"], call
    assert allows(statement, call) == [("dynamodb:GetItem", table)]
    for changed in [
        Call(call.key, "dynamodb:PutItem", call.resources, call.leading_keys),  # another action
        Call(call.key, call.action, [table + "/index/by_date"], call.leading_keys),  # an index
        Call(call.key, call.action, [table.replace("ABCDEFGH", "OTHER123")], call.leading_keys),  # another table
        Call(call.key, call.action, call.resources, ["RATE"]),  # another partition
        Call(call.key, call.action, call.resources, ["ATH#7", "RATE"]),  # one of two outside
    ]:
        assert allows(statement, changed) == [], changed
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:s-x-1-2-3-EventsQueue.fifo"
    send = {"Effect": "Allow", "Action": ["sqs:SendMessage*"], "Resource": queue}
    sent = Call("k", "sqs:SendMessage", resources_of("sqs", "us-east-1", {"QueueUrl": f"http://h/{ACCOUNT}/s-x-1-2-3-EventsQueue.fifo"}), None)
    assert allows(send, sent) == [("sqs:SendMessage*", queue)], sent
    assert allows(send, Call("k", "sqs:SendMessage", [queue.replace("EventsQueue", "EventsDlq")], None)) == []
    assert generic(queue) == f"arn:aws:sqs:us-east-1:{ACCOUNT}:<stack>-EventsQueue.fifo", generic(queue)
    assert generic(table) == f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/<stack>-Table", generic(table)


def main() -> int:
    import boto3

    check_rules()
    recording = Path(sys.argv[1])
    iam = boto3.client("iam", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
    users = function_users(iam)
    user_of_key = {key: u for u in users.values() for key in u["keys"]}

    # Per function: every grant of every stack's role, how often each was used, the calls.
    grants: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
    for u in users.values():
        for statement in u["statements"]:
            if statement.get("Effect") == "Allow":
                for action in as_list(statement.get("Action")):
                    for resource in as_list(statement.get("Resource", "*")):
                        grants[u["binary"]].setdefault((action, generic(resource)), 0)
    calls: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_managed: dict[str, set[str]] = defaultdict(set)
    problems = []
    for n, line in enumerate(recording.read_text().splitlines(), 1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as e:
            sys.exit(f"iam_report: line {n} of {recording} is not one request ({e}): was it written by two at once?")
        call = request_call(entry)
        user = call and user_of_key.get(call.key)
        if not user:
            continue
        binary = user["binary"]
        calls[binary][call.action] += 1
        allowed = [g for s in user["statements"] for g in allows(s, call)]
        for action, resource in allowed:
            grants[binary][(action, generic(resource))] += 1
        if not allowed:
            if any(fnmatch.fnmatchcase(call.action, a) for a in user["managed"]):
                by_managed[binary].add(call.action)
            else:
                problems.append(
                    f"{binary}: {call.action} on {call.resources} (partition keys {call.leading_keys}) "
                    "is allowed by no statement of its role"
                )

    lines = [
        "# Least privilege: what each function's role grants, and what its calls used",
        "",
        f"From `{recording.name}`: {len(users)} function users (a function's role in each stack "
        "of the run). Resources are shown with the stack's names as `<stack>`.",
    ]
    for binary in sorted(grants):
        lines += ["", f"## {binary}", "", "| call | count |", "|---|---|"]
        for action, n in sorted(calls.get(binary, {}).items()):
            note = " (only a managed policy allows it)" if action in by_managed[binary] else ""
            lines.append(f"| `{action}`{note} | {n} |")
        lines += ["", "| grant | resource | calls |", "|---|---|---|"]
        lines += [f"| `{a}` | `{r}` | {n} |" for (a, r), n in sorted(grants[binary].items())]
        for (action, resource), n in sorted(grants[binary].items()):
            if n:
                continue
            reason = EXPLAINED_UNUSED.get((binary, action, resource))
            if reason:
                lines.append(f"- unused `{action}` on `{resource}`, kept: {reason}")
            else:
                problems.append(f"{binary}: `{action}` on `{resource}` is granted and no call used it")
    for (binary, action, resource) in EXPLAINED_UNUSED:
        if grants.get(binary, {}).get((action, resource)):
            problems.append(f"{binary}: `{action}` on `{resource}` is explained as unused, yet calls used it")
    lines += ["", "## Problems", ""] + ([f"- {p}" for p in sorted(set(problems))] or ["None."])
    report = "\n".join(lines) + "\n"
    out = ROOT / "target" / "least-privilege.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    print(report)
    print(f"iam_report: written to {out}", file=sys.stderr)
    return 1 if problems else 0


def generic(resource: str) -> str:
    """A resource ARN with its stack's own names replaced by `<stack>`, so that the grants of
    every stack of the run add up: `arn:aws:sqs:us-east-1:…:<stack>-EventsQueue.fifo`."""
    resource = re.sub(r"\bs-[a-z0-9-]*?-\d+-\d+-\d+(?=-[A-Z]|/)", "<stack>", resource)
    resource = re.sub(r"<stack>-([A-Za-z]+)-[A-Za-z0-9]{6,13}\b", r"<stack>-\1", resource)
    resource = re.sub(r"key/[0-9a-f-]{36}", "key/<key>", resource)
    return resource


if __name__ == "__main__":
    sys.exit(main())
