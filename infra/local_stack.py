"""The local stack, made from template.yaml: what `sam deploy` would create, on a moto server.

    python infra/local_stack.py up --name NAME [--endpoint URL] [--parameter KEY=VALUE ...]
                                  [--function-users]

1. template.yaml is translated with samtranslator (SAM's own transform, offline), every
   function's `CodeUri` replaced by an S3 location as `sam package` does (a placeholder
   archive: the functions run on this machine, under cargo-lambda's emulator, not in moto).
2. The translated template gets the patches listed in PATCHES, and nothing else.
3. The stack is created on moto's CloudFormation (AWS_ENDPOINT_URL), with the parameters
   of a local deployment (`--parameter`, as `sam deploy --parameter-overrides`): the caller
   chooses them (crates/aws/src/local.rs, keyed by the deployment manifest's variables).
4. What moto's CloudFormation created short of its definition is completed from the
   template's own properties (FIXES).

It prints one JSON object: the stack's outputs, its resources' physical ids, and for each
function its name, role and environment exactly as the created AWS::Lambda::Function holds
them, and its role's policies. The caller overrides only the endpoints (AWS_ENDPOINT_URL,
Strava's URLs) before starting a function with them.

With --function-users (the least-privilege run, `infra/with-moto.sh --iam`), each function
also gets an IAM user holding exactly its role's policies (`function_user`) and an access key,
printed as the function's `credentials`: the tests run the function under them, on a moto
server that enforces IAM.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import io
import json
import os
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def patch_fifo_names(template: dict, ctx: "Context") -> list[str]:
    """moto names a FIFO queue without a QueueName `<stack>-<logical>-<random>`, which SQS
    refuses (a FIFO queue's name ends in `.fifo`); CloudFormation appends the suffix
    itself. Give each FIFO queue the name CloudFormation would: `<stack>-<logical>.fifo`."""
    done = []
    for logical, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::SQS::Queue" and props.get("FifoQueue") and "QueueName" not in props:
            props["QueueName"] = f"{ctx.stack}-{logical}.fifo"
            done.append(logical)
    return done


def patch_secrets(template: dict, ctx: "Context") -> list[str]:
    """moto's CloudFormation has no AWS::SecretsManager::Secret. Create each one through
    Secrets Manager's API from its own properties (Description, GenerateSecretString as
    CloudFormation reads it), named `<stack>-<logical>` as CloudFormation would, and put its
    ARN wherever the template refers to it."""
    done = []
    for logical, resource in list(template["Resources"].items()):
        if resource["Type"] != "AWS::SecretsManager::Secret":
            continue
        props = resource.get("Properties", {})
        generate = props.get("GenerateSecretString", {})
        password = ctx.client("secretsmanager").get_random_password(
            PasswordLength=generate.get("PasswordLength", 32),
            ExcludePunctuation=generate.get("ExcludePunctuation", False),
        )["RandomPassword"]
        if "SecretStringTemplate" in generate:
            value = json.loads(generate["SecretStringTemplate"])
            value[generate["GenerateStringKey"]] = password
            text = json.dumps(value)
        else:
            text = password
        arn = ctx.client("secretsmanager").create_secret(
            Name=f"{ctx.stack}-{logical}", Description=props.get("Description", ""), SecretString=text
        )["ARN"]
        ctx.replace(template, logical, ref=arn)
        ctx.created[logical] = {"type": resource["Type"], "id": arn}
        del template["Resources"][logical]
        done.append(logical)
    return done


def patch_http_api(template: dict, ctx: "Context") -> list[str]:
    """moto's CloudFormation has no AWS::ApiGatewayV2 resources and no AWS::Lambda::Url.
    Locally the functions' HTTP front is cargo-lambda's emulator and the CLI's server, so
    these are left out; where the template refers to them (the public base URL, the export
    function's URL) it gets the id `local` and a local URL, which a local run overrides."""
    done = []
    for logical, resource in list(template["Resources"].items()):
        if resource["Type"].startswith("AWS::ApiGatewayV2::") or resource["Type"] == "AWS::Lambda::Url":
            ctx.replace(template, logical, ref="local", attributes={"FunctionUrl": "http://127.0.0.1/export/"})
            del template["Resources"][logical]
            done.append(logical)
    return done


def patch_unreachable(template: dict, ctx: "Context") -> list[str]:
    """Left out, because moto would act where the local stack must not, or cannot:
    - the SQS event source mappings: moto would invoke the function itself (in Docker) and
      take the messages; locally `stravasync local pump` and `make invoke` play the mapping
      (its BatchSize and FunctionResponseTypes are the template's);
    - the rollup's schedules (AWS::Scheduler::Schedule, not in moto's CloudFormation): the
      `events/rollup-*.json` fixtures are their inputs, checked against the template;
    - the alarms and the alarm e-mail subscription (not in moto's CloudFormation)."""
    left_out = ("AWS::Lambda::EventSourceMapping", "AWS::Scheduler::Schedule", "AWS::CloudWatch::Alarm", "AWS::SNS::Subscription")
    done = []
    for logical, resource in list(template["Resources"].items()):
        if resource["Type"] in left_out:
            del template["Resources"][logical]
            done.append(logical)
    return done


# Every change made to the translated template before moto creates it, in order. Keep this
# list short: each entry is a difference between what we test and what `sam deploy` makes.
PATCHES = [patch_fifo_names, patch_secrets, patch_http_api, patch_unreachable]


def pseudo(value, ctx: "Context"):
    """`value` with the pseudo parameters of its `Fn::Sub`s put in (all a key policy uses)."""
    if isinstance(value, dict) and "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        text = value["Fn::Sub"]
        for name, v in {"AWS::Partition": "aws", "AWS::AccountId": ctx.account, "AWS::Region": ctx.region}.items():
            text = text.replace("${" + name + "}", v)
        return text
    if isinstance(value, dict):
        return {k: pseudo(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [pseudo(v, ctx) for v in value]
    return value


def fix_ttl(template: dict, ctx: "Context", resources: dict) -> list[str]:
    """moto's CloudFormation ignores a table's TimeToLiveSpecification: apply the template's
    own through DynamoDB's API (UpdateTimeToLive), as CloudFormation does."""
    done = []
    for logical, resource in template["Resources"].items():
        spec = resource.get("Properties", {}).get("TimeToLiveSpecification")
        if resource["Type"] == "AWS::DynamoDB::Table" and spec and logical in resources:
            ctx.client("dynamodb").update_time_to_live(
                TableName=resources[logical]["id"],
                TimeToLiveSpecification={"AttributeName": spec["AttributeName"], "Enabled": bool(spec["Enabled"])},
            )
            done.append(logical)
    return done


def fix_key_policies(template: dict, ctx: "Context", resources: dict) -> list[str]:
    """moto's CloudFormation keeps a KMS key's KeyPolicy as an object, which its KMS API
    then fails to read (DescribeKey answers 500): write the template's own policy back as
    JSON text (PutKeyPolicy)."""
    done = []
    for logical, resource in template["Resources"].items():
        policy = resource.get("Properties", {}).get("KeyPolicy")
        if resource["Type"] == "AWS::KMS::Key" and policy and logical in resources:
            ctx.client("kms").put_key_policy(
                KeyId=resources[logical]["id"], PolicyName="default", Policy=json.dumps(pseudo(policy, ctx))
            )
            done.append(logical)
    return done


# Every change made to the created stack where moto's CloudFormation creates a resource
# short of its definition, in order.
FIXES = [fix_ttl, fix_key_policies]


class Context:
    """What the patches share: the stack's name, clients of the local endpoint, and the
    resources created outside CloudFormation."""

    def __init__(self, stack: str, client) -> None:
        self.stack = stack
        self.client = client
        sts = client("sts")
        self.account = sts.get_caller_identity()["Account"]
        self.region = sts.meta.region_name
        self.created: dict[str, dict] = {}

    @staticmethod
    def replace(node, logical: str, ref: str, attributes: dict | None = None):
        """Puts `ref` for every `Ref` to `logical`, and `attributes[a]` for every
        `Fn::GetAtt [logical, a]` (and their `${...}` forms in `Fn::Sub`), in place."""
        attributes = attributes or {"Arn": ref, "Id": ref}

        def walk(node):
            if isinstance(node, dict):
                if node.get("Ref") == logical:
                    return ref
                getatt = node.get("Fn::GetAtt")
                if isinstance(getatt, list) and getatt[0] == logical:
                    return attributes[getatt[1]]
                if "Fn::Sub" in node:
                    sub = node["Fn::Sub"]
                    text = sub if isinstance(sub, str) else sub[0]
                    text = text.replace("${" + logical + "}", ref)
                    for name, value in attributes.items():
                        text = text.replace("${" + logical + "." + name + "}", value)
                    node = {"Fn::Sub": text if isinstance(sub, str) else [text, walk(sub[1])]}
                    return node
                return {k: walk(v) for k, v in node.items()}
            if isinstance(node, list):
                return [walk(v) for v in node]
            return node

        for key in ("Resources", "Outputs"):
            node[key] = walk(node.get(key, {}))


def translate(template_path: Path, bucket: str, key: str) -> dict:
    import samtranslator
    from samcli.yamlhelper import yaml_parse
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    sam = yaml_parse(template_path.read_text())
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://{bucket}/{key}"
    policies = json.loads((Path(samtranslator.__file__).parent / "internal/data/aws_managed_policies.json").read_text())
    translator = Translator(managed_policy_map=None, sam_parser=Parser())
    return translator.translate(
        sam, parameter_values={"AWS::Region": "us-east-1"}, get_managed_policy_map=lambda: policies["aws"]
    )


def placeholder_archive() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\necho 'local stack: run the function under cargo lambda' >&2\nexit 1\n")
    return buf.getvalue()


def policy_document(document) -> dict:
    """A role policy as IAM holds it. moto's CloudFormation stores an inline policy as the
    text of a Python dict, with `None` where the template has `!Ref AWS::NoValue`: read it
    back, and drop the statements that are not there."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError:
            document = ast.literal_eval(document)
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    return dict(document, Statement=[s for s in statements if s is not None])


def as_list(value) -> list:
    """A policy element that may be one value or a list of them, as a list."""
    return [value] if isinstance(value, (str, dict)) else list(value or [])


# What moto's IAM enforcement checks of a policy (moto 5.2.5, moto/iam/access_control.py):
# every call's action against the statements' Action; the Resource only where moto names
# the resource of a call, which among the services the functions call is SQS alone (the
# queue's ARN); for DynamoDB, Secrets Manager and KMS it evaluates the call as on "*", which
# no ARN-scoped statement matches. Conditions: only StringEquals on values the request
# itself carries (none of ours); ForAllValues:StringLike (dynamodb:LeadingKeys) is skipped.
RESOURCE_CHECKED = {"sqs"}


def function_user(iam, stack: str, binary: str, role: str, role_policies: list[dict], managed: list[str]) -> dict:
    """An IAM user with exactly the function's role's policies, and its access key.

    - The role's inline policies, statement for statement; a statement whose actions are all
      of services outside RESOURCE_CHECKED has its Resource read as "*" (moto could not
      match the ARN; infra/iam_report.py checks those resources against the role's own
      statement).
    - The role's managed policies (the template's ManagedPolicyArns: Lambda's logging and,
      for a queue's function, the event source mapping's reads), attached as they are:
      moto's CloudFormation drops them from the role it creates.
    The user is tagged with the function's binary, stack and role for the report
    (infra/iam_report.py), which checks each call against the role's own statements."""
    user = f"{stack}-{binary}"[:64]
    tags = {"stravasync:function": binary, "stravasync:stack": stack, "stravasync:role": role}
    iam.create_user(UserName=user, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    for n, document in enumerate(role_policies):
        statements = []
        for statement in document["Statement"]:
            services = {a.split(":", 1)[0] for a in as_list(statement.get("Action"))}
            if "Resource" in statement and not services & RESOURCE_CHECKED:
                statement = dict(statement, Resource="*")
            statements.append(statement)
        iam.put_user_policy(
            UserName=user,
            PolicyName=f"RolePolicy{n}",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )
    for arn in managed:
        iam.attach_user_policy(UserName=user, PolicyArn=arn)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return {"user": user, "access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}


def clients(endpoint: str):
    """boto3 clients of the moto server at `endpoint`.

    A Lambda client signs its payload's hash as a header: moto's IAM enforcement checks the
    signature of a GET without a query string as if its headers were its body, which only
    the signed hash makes it skip (moto 5.2.5, IAMRequestBase._create_aws_request)."""
    import boto3

    session = boto3.session.Session(region_name=os.environ.get("AWS_REGION", "us-east-1"))

    def signed_payload_hash(request, **_):
        request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(request.body or b"").hexdigest()

    def client(service: str):
        c = session.client(service, endpoint_url=endpoint)
        if service == "lambda":
            c.meta.events.register("before-sign.lambda.*", signed_payload_hash)
        return c

    return client


def operator(endpoint: str) -> None:
    """The operator of an IAM-enforcing moto server (infra/with-moto.sh --iam): a user
    allowed everything, made while the server still answers unsigned calls. Prints its
    access key id and secret."""
    iam = clients(endpoint)("iam")
    iam.create_user(UserName="operator")
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy(UserName="operator", PolicyName="everything", PolicyDocument=json.dumps(everything))
    key = iam.create_access_key(UserName="operator")["AccessKey"]
    print(key["AccessKeyId"], key["SecretAccessKey"])


def up(args: argparse.Namespace) -> dict:
    endpoint = args.endpoint or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        sys.exit("local_stack: AWS_ENDPOINT_URL is unset (run under infra/with-moto.sh)")
    client = clients(endpoint)
    stack = args.name
    bucket, key = f"{stack}-artifacts".lower(), "bootstrap.zip"
    s3 = client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=key, Body=placeholder_archive())

    template = translate(ROOT / "template.yaml", bucket, key)
    ctx = Context(stack, client)
    patched = {patch.__name__: patch(template, ctx) for patch in PATCHES}
    parameters = dict(p.split("=", 1) for p in args.parameter)
    cfn = client("cloudformation")
    cfn.create_stack(
        StackName=stack,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    for _ in range(600):
        status = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        if not status["StackStatus"].endswith("IN_PROGRESS"):
            break
        time.sleep(0.05)
    if status["StackStatus"] != "CREATE_COMPLETE":
        events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
        failed = [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}" for e in events if "FAILED" in e["ResourceStatus"]]
        sys.exit(f"local_stack: {stack} is {status['StackStatus']}: {'; '.join(failed)}")
    resources = {
        r.get("LogicalResourceId", ""): {"type": r.get("ResourceType", ""), "id": r.get("PhysicalResourceId", "")}
        for r in cfn.describe_stack_resources(StackName=stack)["StackResources"]
    }
    for fix in FIXES:
        patched[fix.__name__] = fix(template, ctx, resources)
    resources.update(ctx.created)
    lam, iam = client("lambda"), client("iam")
    functions = {}
    for logical, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        name = resources[logical]["id"]
        config = lam.get_function_configuration(FunctionName=name)
        binary = resource.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
        role = config["Role"].rsplit("/", 1)[-1]
        policies = [
            policy_document(iam.get_role_policy(RoleName=role, PolicyName=p)["PolicyDocument"])
            for p in iam.list_role_policies(RoleName=role)["PolicyNames"]
        ]
        functions[binary or logical] = {
            "logical_id": logical,
            "name": name,
            "role": config["Role"],
            # Lambda's variables are strings; moto keeps CloudFormation's resolved numbers.
            "environment": {k: str(v) for k, v in config.get("Environment", {}).get("Variables", {}).items()},
            "policies": policies,
        }
        if args.function_users:
            role_logical = resource["Properties"]["Role"]["Fn::GetAtt"][0]
            managed = template["Resources"][role_logical]["Properties"].get("ManagedPolicyArns", [])
            functions[binary or logical]["credentials"] = function_user(iam, stack, binary or logical, role, policies, managed)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in status.get("Outputs", [])}
    return {
        "stack": stack,
        "patches": patched,
        "parameters": parameters,
        "resources": resources,
        "outputs": outputs,
        "functions": functions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("up", help="create the stack and print it as JSON")
    p.add_argument("--name", required=True)
    p.add_argument("--endpoint")
    p.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE",
                   help="a template parameter of the local deployment (repeatable)")
    p.add_argument("--function-users", action="store_true", help="an IAM user per function with its role's policies")
    sub.add_parser("translate", help="print the translated template (before the patches)")
    sub.add_parser("operator", help="create the operator user of an IAM-enforcing server")
    args = parser.parse_args()
    if args.command == "up":
        print(json.dumps(up(args), indent=1, sort_keys=True))
    elif args.command == "operator":
        operator(os.environ["AWS_ENDPOINT_URL"])
    else:
        template = translate(ROOT / "template.yaml", "bucket", "bootstrap.zip")
        print(json.dumps(template, indent=1))


if __name__ == "__main__":
    main()
