#!/usr/bin/env python3
"""Checks template.yaml against the resource definitions the local bootstrap uses
(crates/aws/src/resources.rs) and against the deployment manifest, every environment
variable the code reads (crates/core/src/config/manifest.rs), both printed by `stravasync
resources`, so that none of them can drift.

Usage: infra/check_template.py template.yaml spec.json

The manifest's checks (check_environment) first run on broken copies of the two inputs,
each of which they must catch (self_test): a report of no differences cannot come from a
check that lets everything through.
"""
import copy
import json
from pathlib import Path
import re
import sys

import yaml


class CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node, deep=True)}
    return {suffix: loader.construct_mapping(node, deep=True)}


CfnLoader.add_multi_constructor("!", _tag)


def statements(policy):
    """A policy's statements, both branches of each `!If` (a condition's two stacks)."""
    for st in policy.get("Statement", []):
        branches = st["If"][1:] if "If" in st else [st]
        yield from (b for b in branches if isinstance(b, dict) and "Action" in b)


FUNCTIONS = ("WebhookFunction", "ConsumerFunction", "RollupFunction", "ApiFunction", "ExportFunction")


def sub_text(value):
    """The text of a string or a `!Sub` of one."""
    return value.get("Sub") if isinstance(value, dict) else value


def check_http_api(res, params, spec, errors):
    """The public HTTP API (docs/design.md §9): routes as the code serves them, Strava's
    callback a literal route from a NoEcho parameter with the stage's default limits, every
    other route limits of its own, strangers under /webhook/ a bucket smaller than both."""
    routes = {k: r["Properties"] for k, r in res.items() if r["Type"] == "AWS::ApiGatewayV2::Route"}
    target = lambda r: sub_text(r["Target"]).removeprefix("integrations/${").removesuffix("}")
    keys = lambda integration: sorted(sub_text(r["RouteKey"]) for r in routes.values() if target(r) == integration)
    api_keys = keys("ApiIntegration")
    want = sorted(f"{r['method']} {r['path']}" for r in spec["api"]["routes"])
    if api_keys != want:
        errors.append(f"ApiFunction routes: template has {api_keys}, resources.rs has {want}")
    strava = ["GET /webhook/${WebhookPathSecret}", "POST /webhook/${WebhookPathSecret}"]
    webhook_keys = keys("WebhookIntegration")
    expected_webhook = sorted(strava + ["ANY /webhook/{proxy+}", "GET /connect", "GET /oauth/callback"])
    if webhook_keys != expected_webhook:
        errors.append(f"WebhookFunction routes: template has {webhook_keys}, expected {expected_webhook}")
    for name, integration, function in (("WebhookIntegration", "WebhookFunction", None), ("ApiIntegration", "ApiFunction", None)):
        props = res.get(name, {}).get("Properties", {})
        if props.get("IntegrationUri") != {"GetAtt": f"{integration}.Arn"} or props.get("PayloadFormatVersion") != "2.0":
            errors.append(f"{name} must proxy to {integration} with payload format 2.0")
    secret = params.get("WebhookPathSecret", {})
    if not secret.get("NoEcho") or secret.get("MinLength", 0) < 16 or "Default" in secret:
        errors.append("WebhookPathSecret must be NoEcho, without a default, at least 16 characters")
    stage = next((r["Properties"] for r in res.values() if r["Type"] == "AWS::ApiGatewayV2::Stage"), {})
    default = stage.get("DefaultRouteSettings", {})
    if default != {"ThrottlingBurstLimit": {"Ref": "WebhookRouteBurstLimit"}, "ThrottlingRateLimit": {"Ref": "WebhookRouteRateLimit"}}:
        errors.append(f"the stage's default limits must be Strava's callback's (WebhookRoute*): {default}")
    settings = stage.get("RouteSettings", {})
    others = sorted(set(api_keys + webhook_keys) - set(strava))
    missing = [k for k in others if k not in settings]
    if missing:
        errors.append(f"routes without limits of their own (they would share Strava's): {missing}")
    unknown = settings.get("ANY /webhook/{proxy+}", {})
    value = lambda v: params[v["Ref"]]["Default"] if isinstance(v, dict) else v
    for limit in ("ThrottlingBurstLimit", "ThrottlingRateLimit"):
        small = unknown.get(limit)
        public = value(settings.get("GET /connect", {}).get(limit, 0))
        if not isinstance(small, int) or small >= value(default.get(limit, 0)) or small >= public:
            errors.append(f"ANY /webhook/{{proxy+}} {limit} must be a small fixed bucket: {small}")
    depends = set(res_of_stage(res).get("DependsOn", []))
    if depends != set(routes):
        errors.append(f"the stage must depend on every route (its RouteSettings name them): missing {sorted(set(routes) - depends)}")


def same_default(parameter_default, code_default) -> bool:
    """Whether a parameter's Default (as YAML reads it) is the code's default (as JSON)."""
    if isinstance(code_default, bool):
        return str(parameter_default).lower() == str(code_default).lower()
    if isinstance(code_default, (int, float)):
        try:
            return float(parameter_default) == float(code_default)
        except (TypeError, ValueError):
            return False
    return parameter_default == code_default


def check_environment(template, manifest) -> list[str]:
    """Every function's Environment.Variables against the deployment manifest: exactly
    the variables the function reads but those the manifest leaves to the code's default
    (default-only, with its reason), each with the manifest's value (a parameter, a
    resource, a `!Sub`); no variable the manifest does not list for the function. Each
    parameter a variable comes from exists, with the code's default as its `Default` where
    the code has one; each resource exists; the operator's resources are stack outputs."""
    errors = []
    res, params = template["Resources"], template.get("Parameters", {})
    variables = {v["name"]: v for v in manifest["variables"]}
    functions = {r["Metadata"]["BuildProperties"]["Binary"]: logical for logical, r in res.items()
                 if r["Type"] == "AWS::Serverless::Function"}
    if sorted(functions) != sorted(manifest["functions"]):
        errors.append(f"the template's functions {sorted(functions)} are not the manifest's {sorted(manifest['functions'])}")
    for binary, logical in sorted(functions.items()):
        env = res[logical]["Properties"].get("Environment", {}).get("Variables", {})
        for name, v in variables.items():
            if binary not in v["read_by"]:
                continue
            if binary in v["template"]:
                want = v["template"][binary]
                if name not in env:
                    errors.append(f"{logical} does not set {name}, which the {binary} function reads: set it to "
                                  f"{want!r}, or declare it default-only in the manifest, with the reason")
                elif env[name] != want:
                    errors.append(f"{logical} sets {name} to {env[name]!r}; the manifest says {want!r}")
            elif name in env:
                errors.append(f"{logical} sets {name}, which the manifest leaves to the code's default for the "
                              f"{binary} function: {v['default_only'].get(binary)}")
        for name in sorted(env):
            if name not in variables:
                errors.append(f"{logical} sets {name}, which is not in the manifest: no function reads it")
            elif binary not in variables[name]["read_by"]:
                errors.append(f"{logical} sets {name}, which the {binary} function does not read "
                              f"(the manifest: {', '.join(variables[name]['read_by'])})")
    outputs = [o.get("Value") for o in template.get("Outputs", {}).values()]
    # SAM makes a function's URL itself, as `<Function>Url`.
    resources = set(res) | {f"{logical}Url" for logical, r in res.items()
                            if r["Type"] == "AWS::Serverless::Function" and "FunctionUrlConfig" in r["Properties"]}
    for name, v in variables.items():
        parameter = v["parameter"]
        if parameter is not None:
            if parameter not in params:
                errors.append(f"{name} comes from the parameter {parameter}, which the template does not have")
            elif v["default"] is not None and not same_default(params[parameter].get("Default"), v["default"]):
                errors.append(f"the parameter {parameter} defaults to {params[parameter].get('Default')!r}; "
                              f"the code's default of {name} is {v['default']!r}")
        for resource in v["resources"]:
            if resource not in resources:
                errors.append(f"{name} comes from the resource {resource}, which the template does not have")
            elif "operator" in v["read_by"] and {"Ref": resource} not in outputs:
                errors.append(f"{name} is an operator variable, the resource {resource}, which no output of the stack gives")
    return errors


def self_test(template, manifest) -> list[str]:
    """Breaks the real inputs one way at a time and checks that check_environment names
    what broke (the variable and the function): the checks that cannot pass when they
    should not. Returns what went uncaught."""
    variables = manifest["variables"]
    consumer = next(logical for logical, r in template["Resources"].items()
                    if r["Type"] == "AWS::Serverless::Function"
                    and r["Metadata"]["BuildProperties"]["Binary"] == "consumer")
    def consumer_env(t):
        return t["Resources"][consumer]["Properties"]["Environment"]["Variables"]

    cases = []
    # A variable the consumer reads, which the template does not set and the manifest does
    # not declare default-only (as BACKFILL_BATCH was).
    m = copy.deepcopy(manifest)
    m["variables"].append({"name": "SELF_TEST_READ", "about": "", "read_by": ["consumer"], "required": "always",
                           "default": None, "parameter": None, "resources": [],
                           "template": {"consumer": {"Ref": "AWS::StackName"}}, "default_only": {}})
    cases.append(("a variable the consumer reads and the template does not set", template, m, ["SELF_TEST_READ", consumer]))
    # One of the consumer's variables taken out of the template.
    taken = next(v["name"] for v in variables if "consumer" in v["template"])
    t = copy.deepcopy(template)
    del consumer_env(t)[taken]
    cases.append((f"{taken} taken out of {consumer}", t, manifest, [taken, consumer]))
    # A variable the manifest does not list.
    t = copy.deepcopy(template)
    consumer_env(t)["SELF_TEST_UNLISTED"] = "1"
    cases.append(("a variable the manifest does not list", t, manifest, ["SELF_TEST_UNLISTED", consumer]))
    # A default-only variable set after all.
    default_only = next(v["name"] for v in variables if "consumer" in v["default_only"])
    t = copy.deepcopy(template)
    consumer_env(t)[default_only] = "1"
    cases.append((f"default-only {default_only} set", t, manifest, [default_only, consumer]))
    # A variable from another source.
    t = copy.deepcopy(template)
    consumer_env(t)[taken] = {"Ref": "SelfTestElsewhere"}
    cases.append((f"{taken} from another source", t, manifest, [taken, "SelfTestElsewhere"]))
    # A parameter whose default is not the code's.
    defaulted = next(v for v in variables if v["parameter"] and v["default"] is not None)
    t = copy.deepcopy(template)
    t["Parameters"][defaulted["parameter"]]["Default"] = "self-test"
    cases.append((f"{defaulted['parameter']}'s default changed", t, manifest, [defaulted["parameter"], defaulted["name"]]))
    # An operator's resource without an output.
    operator = next(v for v in variables if "operator" in v["read_by"] and v["resources"])
    t = copy.deepcopy(template)
    t["Outputs"] = {k: o for k, o in t["Outputs"].items() if o.get("Value") != {"Ref": operator["resources"][0]}}
    cases.append((f"no output of {operator['name']}", t, manifest, [operator["name"], operator["resources"][0]]))

    uncaught = []
    for what, t, m, names in cases:
        if not any(all(n in e for n in names) for e in check_environment(t, m)):
            uncaught.append(f"{what}: no error names {' and '.join(names)}")
    return uncaught


def dashboard_metrics(body):
    """(namespace, name, {dimension: value}) of every metric a dashboard body graphs. The
    body is a `!Sub` text: a quoted `${X}` reads as "X" (a resource's logical id), an
    unquoted one (a number from a parameter) as 0."""
    body = re.sub(r'"\$\{([^}]+)\}"', r'"\1"', body)
    body = re.sub(r"\$\{[^}]+\}", "0", body)
    for widget in json.loads(body)["widgets"]:
        for row in widget.get("properties", {}).get("metrics", []):
            fields = [f for f in row if not isinstance(f, dict)]
            yield fields[0], fields[1], dict(zip(fields[2::2], fields[3::2]))


def alarm_metrics(alarm):
    """(namespace, name, {dimension: value}) of every metric an alarm reads."""
    props = alarm["Properties"]
    stats = [q["MetricStat"]["Metric"] for q in props.get("Metrics", []) if "MetricStat" in q]
    if "MetricName" in props:
        stats.append(props)
    for m in stats:
        dims = {d["Name"]: d["Value"]["Ref"] if isinstance(d["Value"], dict) and "Ref" in d["Value"] else d["Value"]
                for d in m.get("Dimensions", [])}
        yield m["Namespace"], m["MetricName"], dims


def check_metrics(res, spec, errors):
    """Every metric of our namespace that the dashboard or an alarm reads is one the code
    emits (`stravasync resources`, from core::telemetry): its name, exactly its dimensions,
    each value one the code gives (for a dimension with a list), and the Function dimension
    a function that emits it. AWS's own namespaces (AWS/SQS, AWS/ApiGateway) are AWS's."""
    catalog = {m["name"]: m for m in spec["metrics"]["metrics"]}
    namespace, function_dim = spec["metrics"]["namespace"], spec["metrics"]["every_metric_dimension"]
    binaries = {name: r["Metadata"]["BuildProperties"]["Binary"] for name, r in res.items()
                if r["Type"] == "AWS::Serverless::Function"}
    read = []
    for name, r in res.items():
        if r["Type"] == "AWS::CloudWatch::Dashboard":
            read += [(name, *m) for m in dashboard_metrics(sub_text(r["Properties"]["DashboardBody"]))]
        elif r["Type"] == "AWS::CloudWatch::Alarm":
            read += [(name, *m) for m in alarm_metrics(r)]
    ours = [m for m in read if m[1] == namespace]
    if not any(r["Type"] == "AWS::CloudWatch::Dashboard" for r in res.values()):
        errors.append("no AWS::CloudWatch::Dashboard")
    for where, _, metric, dims in ours:
        spec_metric = catalog.get(metric)
        if spec_metric is None:
            errors.append(f"{where} reads {namespace} {metric}, which the code does not emit")
            continue
        want = sorted([d["name"] for d in spec_metric["dimensions"]] + [function_dim])
        if sorted(dims) != want:
            errors.append(f"{where} reads {metric} by {sorted(dims)}; the code emits it by {want}")
            continue
        function = dims[function_dim]
        if binaries.get(function) not in spec_metric["functions"]:
            errors.append(f"{where} reads {metric} of {function}, which does not emit it ({spec_metric['functions']})")
        for d in spec_metric["dimensions"]:
            if d["values"] and dims[d["name"]] not in d["values"]:
                errors.append(f"{where} reads {metric} with {d['name']}={dims[d['name']]}, a value the code never gives")
    return len(ours)


def res_of_stage(res):
    return next((r for r in res.values() if r["Type"] == "AWS::ApiGatewayV2::Stage"), {})


def main() -> int:
    template = yaml.load(open(sys.argv[1]), Loader=CfnLoader)
    spec = json.load(open(sys.argv[2]))
    res = template["Resources"]
    manifest = spec["environment"]
    uncaught = self_test(template, manifest)
    for u in uncaught:
        print(f"check_template: self-test: {u}", file=sys.stderr)
    if uncaught:
        print("check_template: the environment checks let a broken template through; no report")
        return 2
    errors = check_environment(template, manifest)

    def expect(what, got, want):
        if got != want:
            errors.append(f"{what}: template has {got!r}, resources.rs has {want!r}")

    table = res["Table"]["Properties"]
    key = lambda schema: {"partition": next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH"),
                          "sort": next(k["AttributeName"] for k in schema if k["KeyType"] == "RANGE")}
    expect("table key", key(table["KeySchema"]), spec["table"]["key"])
    include = lambda p: None if p["ProjectionType"] == "ALL" else sorted(p.get("NonKeyAttributes", []))
    got_indexes = sorted(({"name": g["IndexName"], "key": key(g["KeySchema"]), "include": include(g["Projection"])}
                          for g in table.get("GlobalSecondaryIndexes", [])), key=lambda i: i["name"])
    want_indexes = sorted(({**i, "include": None if i["include"] is None else sorted(i["include"])}
                           for i in spec["table"]["indexes"]), key=lambda i: i["name"])
    expect("table indexes (keys and projections)", got_indexes, want_indexes)
    expect("billing", table["BillingMode"], "PAY_PER_REQUEST")
    expect("ttl attribute", table["TimeToLiveSpecification"]["AttributeName"], spec["table"]["ttl_attribute"])
    defined = {a["AttributeName"] for a in table["AttributeDefinitions"]}
    keys = {spec["table"]["key"]["partition"], spec["table"]["key"]["sort"]}
    for i in spec["table"]["indexes"]:
        keys |= {i["key"]["partition"], i["key"]["sort"]}
    expect("attribute definitions", defined, keys)

    queue = res["EventsQueue"]["Properties"]
    expect("queue FIFO", queue["FifoQueue"], True)
    expect("queue visibility", queue["VisibilityTimeout"], spec["queue"]["visibility_timeout_s"])
    expect("queue maxReceiveCount", queue["RedrivePolicy"]["maxReceiveCount"], spec["queue"]["max_receive_count"])
    # The background lane (docs/design.md §5): a queue like the events queue, into the same
    # DLQ, read by the consumer through its own event source at a bounded concurrency, so
    # the events lane always keeps invocations; every function that sends work knows it.
    background = res["BackgroundQueue"]["Properties"]
    for prop in ("FifoQueue", "ContentBasedDeduplication", "VisibilityTimeout"):
        expect(f"background queue {prop}", background.get(prop), queue.get(prop))
    expect("background queue DLQ", background["RedrivePolicy"]["deadLetterTargetArn"], queue["RedrivePolicy"]["deadLetterTargetArn"])
    expect("background queue maxReceiveCount", background["RedrivePolicy"]["maxReceiveCount"], spec["queue"]["background_max_receive_count"])
    # The import queue (docs/design.md §4b): like the lanes' queues, into the same DLQ, with
    # its own redrive count and a bounded event source of its own.
    imports = res["ImportQueue"]["Properties"]
    for prop in ("FifoQueue", "ContentBasedDeduplication", "VisibilityTimeout"):
        expect(f"import queue {prop}", imports.get(prop), queue.get(prop))
    expect("import queue DLQ", imports["RedrivePolicy"]["deadLetterTargetArn"], queue["RedrivePolicy"]["deadLetterTargetArn"])
    expect("import queue maxReceiveCount", imports["RedrivePolicy"]["maxReceiveCount"], spec["queue"]["import_max_receive_count"])
    lanes = res["ConsumerFunction"]["Properties"]["Events"]
    expect("consumer event sources", sorted(e["Properties"]["Queue"]["GetAtt"].split(".")[0] for e in lanes.values()), ["BackgroundQueue", "EventsQueue", "ImportQueue"])
    expect("import response types", lanes["Import"]["Properties"].get("FunctionResponseTypes"), ["ReportBatchItemFailures"])
    if lanes["Import"]["Properties"].get("ScalingConfig", {}).get("MaximumConcurrency") is None:
        errors.append("the import queue's event source has no MaximumConcurrency")
    background_max = lanes["Background"]["Properties"].get("ScalingConfig", {}).get("MaximumConcurrency")
    if background_max is None:
        errors.append("the background lane's event source has no MaximumConcurrency")
    elif template["Parameters"]["ConsumerReservedConcurrency"]["MinValue"] <= background_max + lanes["Import"]["Properties"].get("ScalingConfig", {}).get("MaximumConcurrency", 0):
        errors.append("ConsumerReservedConcurrency may not leave the events lane an invocation of its own")
    expect("background response types", lanes["Background"]["Properties"].get("FunctionResponseTypes"), ["ReportBatchItemFailures"])
    dlq = res["EventsDlq"]["Properties"]
    expect("dlq FIFO", dlq["FifoQueue"], True)
    expect("dlq retention", dlq["MessageRetentionPeriod"], spec["queue"]["dlq_retention_s"])
    expect("consumer timeout", res["ConsumerFunction"]["Properties"]["Timeout"], spec["consumer_timeout_s"])
    if queue["VisibilityTimeout"] < 6 * res["ConsumerFunction"]["Properties"]["Timeout"]:
        errors.append("queue visibility timeout is under 6x the consumer timeout")
    sqs = res["ConsumerFunction"]["Properties"]["Events"]["Queue"]["Properties"]
    expect("consumer response types", sqs.get("FunctionResponseTypes"), ["ReportBatchItemFailures"])
    for name in FUNCTIONS:
        expect(f"{name} binary", res[name]["Metadata"]["BuildProperties"]["Binary"], name.removesuffix("Function").lower())

    # Least privilege: no managed CRUD templates, no wildcard actions, secrets of athletes
    # reachable only by the functions that need them, alarms wired to the topic.
    for name in FUNCTIONS:
        for policy in res[name]["Properties"].get("Policies", []):
            if any(k.endswith("CrudPolicy") for k in policy):
                errors.append(f"{name}: broad managed policy {list(policy)[0]}")
            for st in statements(policy):
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                if any(a == "*" or a.endswith(":*") for a in actions):
                    errors.append(f"{name}: wildcard action in {actions}")
                if name == "WebhookFunction" and "secretsmanager:GetSecretValue" in actions and st["Resource"] != [{"Ref": "AppSecret"}, {"Ref": "SessionSecret"}]:
                    errors.append("WebhookFunction may read a secret other than the app secret and the session key")
                if name in ("ApiFunction", "ExportFunction"):
                    if any(a.startswith("secretsmanager:") for a in actions) and (actions != ["secretsmanager:GetSecretValue"] or st["Resource"] != {"Ref": "SessionSecret"}):
                        errors.append(f"{name}: secrets access beyond reading the session key: {actions} on {st['Resource']}")
                    writes = [a for a in actions if a.startswith("dynamodb:") and a not in ("dynamodb:GetItem", "dynamodb:Query")]
                    # The API's one write: its rations, attributes of the profile item.
                    rations = ["pk", "sk", *spec["api"]["ration_attributes"]]
                    attributes = st.get("Condition", {}).get("ForAllValues:StringEquals", {}).get("dynamodb:Attributes")
                    if writes and not (name == "ApiFunction" and writes == ["dynamodb:UpdateItem"] and sorted(attributes or []) == sorted(rations)):
                        errors.append(f"{name} may change the table beyond its rations: {writes} on attributes {attributes}")
                    if any(a.startswith("dynamodb:") for a in actions) and "dynamodb:LeadingKeys" not in json.dumps(st.get("Condition", {})):
                        errors.append(f"{name} reaches the table beyond athlete partitions")
    check_http_api(res, template["Parameters"], spec, errors)
    export = res["ExportFunction"]["Properties"]
    expect("ExportFunction URL", export.get("FunctionUrlConfig"), {"AuthType": "NONE", "InvokeMode": "RESPONSE_STREAM"})
    if "sqs" in json.dumps(export.get("Policies", [])).lower():
        errors.append("ExportFunction may use a queue")
    for name in ("ApiFunction", "ExportFunction"):
        policies = json.dumps(res[name]["Properties"].get("Policies", []))
        if "athlete/" in policies or "AppSecret" in policies:
            errors.append(f"{name} can reach token secrets or the app secret")
    params = template["Parameters"]
    # Strava's review: a support contact on every page; no stack deploys without one.
    support = params.get("SupportEmail", {})
    if "Default" in support or "AllowedPattern" not in support or "ConstraintDescription" not in support:
        errors.append("SupportEmail must have no default, an AllowedPattern and a ConstraintDescription")
    if "secretsmanager" in json.dumps(res["RollupFunction"]["Properties"].get("Policies", [])):
        errors.append("RollupFunction has access to secrets")
    # The consumer gives up and re-sends before the queue's redrive would act (a backstop):
    # the manifest's defaults, which the template leaves them at (default-only).
    defaults = {v["name"]: v["default"] for v in manifest["variables"]}
    for var in ("MAX_RECEIVES", "RESEND_AFTER"):
        if defaults[var] >= queue["RedrivePolicy"]["maxReceiveCount"]:
            errors.append(f"the consumer's {var} ({defaults[var]}) must stay below the queue's maxReceiveCount")
    alarms = [name for name, r in res.items() if r["Type"] == "AWS::CloudWatch::Alarm"]
    for alarm in alarms:
        expect(f"{alarm} actions", res[alarm]["Properties"].get("AlarmActions"), [{"Ref": "AlarmTopic"}])
    for alarm in ("DlqDepthAlarm", "ConsumerErrorsAlarm", "Webhook5xxAlarm", "NewActivityLatencyAlarm",
                  "EventsQueueAgeAlarm", "BudgetExhaustedAlarm"):
        if alarm not in alarms:
            errors.append(f"no {alarm}")
    check_metrics(res, spec, errors)

    # The token key (TokenStore=dynamodb-kms): the webhook seals only, the consumer seals and
    # opens, nothing else may use it (their TOKEN_STORE and TOKEN_KEY_ID: the manifest).
    kms_allowed = {"WebhookFunction": {"kms:GenerateDataKey"}, "ConsumerFunction": {"kms:GenerateDataKey", "kms:Decrypt"}}
    for name in FUNCTIONS:
        used = {a for policy in res[name]["Properties"].get("Policies", []) for st in statements(policy)
                for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]]) if a.startswith("kms:")}
        expect(f"{name} KMS actions", used, kms_allowed.get(name, set()))
    if res.get("TokenKey", {}).get("Condition") != "TokensInTable":
        errors.append("TokenKey must exist only with TokenStore=dynamodb-kms")

    # Every schedule of a function has its EventBridge Scheduler event in events/
    # (`<function>-<schedule>.json`, e.g. rollup-hourly.json): exactly the schedule's Input,
    # which is what the Scheduler delivers as the payload.
    events_dir = Path(__file__).resolve().parent.parent / "events"
    for name, resource in res.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        binary = resource.get("Metadata", {}).get("BuildProperties", {}).get("Binary", name)
        for event_name, event in resource["Properties"].get("Events", {}).items():
            if event.get("Type") not in ("Schedule", "ScheduleV2"):
                continue
            path = events_dir / f"{binary}-{event_name.lower()}.json"
            if not path.exists():
                errors.append(f"{name}'s schedule {event_name} has no event fixture {path.name}")
                continue
            fixture, schedule = json.loads(path.read_text()), json.loads(event["Properties"].get("Input", "{}"))
            if fixture != schedule:
                errors.append(f"events/{path.name} is {fixture!r}, {name}'s schedule {event_name} sends {schedule!r}")

    for e in errors:
        print(f"check_template: {e}", file=sys.stderr)
    print(f"check_template: {len(errors)} difference(s) between template.yaml and the code (resources.rs, the manifest)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
