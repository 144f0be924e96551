"""Checks of the IAM policies in a CloudFormation/SAM template that cfn-lint does not make.

Each check returns a list of problems (strings naming the resource and the reason); an empty
list means the template passes. The checks read botocore's service models from the installed
package, never from the network.
"""

from functools import lru_cache

import botocore.loaders

# IAM actions whose name differs from the API operation they authorise. Only the ones the
# template (or what SAM generates from it) uses; anything else must match an operation name.
IAM_ACTION_TO_OPERATION = {
    # The Invoke API is authorised by the IAM action lambda:InvokeFunction.
    "lambda:InvokeFunction": "Invoke",
}

# docs/reference/route53.md "IAM for record-level least privilege": the multi-valued condition keys
# of route53:ChangeResourceRecordSets.
ROUTE53_NAMES_KEY = "route53:ChangeResourceRecordSetsNormalizedRecordNames"
ROUTE53_TYPES_KEY = "route53:ChangeResourceRecordSetsRecordTypes"
ROUTE53_ACTIONS_KEY = "route53:ChangeResourceRecordSetsActions"
ROUTE53_CONDITION_KEYS = {ROUTE53_NAMES_KEY, ROUTE53_TYPES_KEY, ROUTE53_ACTIONS_KEY}

# cutover edits alias A/AAAA records and TXT records (registry entries, state records) only.
ALLOWED_RECORD_TYPES = {"A", "AAAA", "TXT"}
# cutover never UPSERTs: DELETE (with the exact current values) + CREATE is its compare-and-swap.
ALLOWED_CHANGE_ACTIONS = {"CREATE", "DELETE"}

CHANGE_RECORDS_ACTION = "route53:ChangeResourceRecordSets"

# Actions allowed on Resource "*": read-only, and documented to need it.
ACTIONS_ALLOWED_ON_ANY_RESOURCE = {
    # DescribeAlarms returns composite alarms only when the permission is scoped to "*".
    "cloudwatch:DescribeAlarms",
    # GetMetricData supports no resource-level permissions (docs/reference/cloudwatch.md
    # "GetMetricData").
    "cloudwatch:GetMetricData",
}


@lru_cache(maxsize=None)
def _loader():
    return botocore.loaders.Loader()


@lru_cache(maxsize=None)
def known_services():
    return frozenset(_loader().list_available_services("service-2"))


@lru_cache(maxsize=None)
def operations_of(service):
    """The operation names of a botocore service model (`data/<service>/<version>/service-2.json`)."""
    model = _loader().load_service_model(service, "service-2")
    return frozenset(model.get("operations", {}))


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _expand_if(node):
    """Both branches of a Fn::If (each may hold a policy); any other node as it is."""
    if isinstance(node, dict) and set(node) == {"Fn::If"}:
        args = node["Fn::If"]
        if isinstance(args, list) and len(args) == 3:
            return [branch for arg in args[1:] for branch in _expand_if(arg)]
    if isinstance(node, dict) and set(node) == {"Ref"} and node["Ref"] == "AWS::NoValue":
        return []
    return [node]


def policy_statements(template):
    """Yield (resource id, statement) for every IAM statement anywhere in the template's
    resources: role and policy documents, SAM function policies, resource policies."""
    for logical_id, resource in template.get("Resources", {}).items():
        yield from ((logical_id, s) for s in _statements_in(resource.get("Properties", {})))


def _statements_in(node):
    if isinstance(node, list):
        for item in node:
            yield from _statements_in(item)
    elif isinstance(node, dict):
        if "Statement" in node and ("Version" in node or isinstance(node["Statement"], list)):
            for raw in _as_list(node["Statement"]):
                for statement in _expand_if(raw):
                    if isinstance(statement, dict):
                        yield statement
            return
        for value in node.values():
            yield from _statements_in(value)


def statement_actions(statement):
    return _as_list(statement.get("Action", []))


def action_problems(template):
    """Every IAM action must exist: `service:Operation` with a botocore model for the service
    and the operation in it (cfn-lint does not catch misspelled actions)."""
    problems = []
    for logical_id, statement in policy_statements(template):
        if "NotAction" in statement:
            problems.append(f"{logical_id}: NotAction grants everything else; name the actions")
        for action in statement_actions(statement):
            problem = _action_problem(action)
            if problem:
                problems.append(f"{logical_id}: {problem}")
    return problems


def _action_problem(action):
    if not isinstance(action, str):
        return f"action {action!r} is not a literal string"
    if "*" in action or "?" in action:
        return f"action {action!r} is a wildcard; name each action"
    service, sep, name = action.partition(":")
    if not sep or not service or not name:
        return f"action {action!r} is not of the form service:Operation"
    if service not in known_services():
        return f"action {action!r}: no botocore service model named {service!r}"
    operation = IAM_ACTION_TO_OPERATION.get(action, name)
    if operation not in operations_of(service):
        return f"action {action!r}: {service} has no operation {operation!r}"
    return None


def any_resource_problems(template):
    """An Allow on Resource "*" is only for the few actions that need it."""
    problems = []
    for logical_id, statement in policy_statements(template):
        if statement.get("Effect") != "Allow" or "*" not in _as_list(statement.get("Resource")):
            continue
        for action in statement_actions(statement):
            if action not in ACTIONS_ALLOWED_ON_ANY_RESOURCE:
                problems.append(f"{logical_id}: {action} is allowed on Resource \"*\"")
    return problems


def condition_key_problems(template):
    """route53 condition keys must be the ones docs/reference/route53.md names; keys of other
    services are not used by these templates, so any is flagged (global aws: keys are allowed,
    and sts:ExternalId, which a trust policy checks when a role in another account is assumed)."""
    problems = []
    for logical_id, statement in policy_statements(template):
        for operator, keys in _conditions(statement):
            for key in keys:
                if key.startswith("aws:") or key == "sts:ExternalId":
                    continue
                if key.startswith("route53:") and key in ROUTE53_CONDITION_KEYS:
                    continue
                problems.append(f"{logical_id}: unknown condition key {key!r} (under {operator})")
    return problems


def _conditions(statement):
    condition = statement.get("Condition", {})
    if not isinstance(condition, dict):
        return []
    return [(op, body) for op, body in condition.items() if isinstance(body, dict)]


def change_records_problems(template, record_names_ref="RecordNames"):
    """Every statement allowing route53:ChangeResourceRecordSets is restricted, with
    ForAllValues:StringEquals, to the configured names, to A/AAAA/TXT and to CREATE/DELETE."""
    problems = []
    for logical_id, statement in policy_statements(template):
        if statement.get("Effect") != "Allow":
            continue
        if CHANGE_RECORDS_ACTION not in statement_actions(statement):
            continue
        where = f"{logical_id} ({statement.get('Sid', CHANGE_RECORDS_ACTION)})"
        problems.extend(f"{where}: {p}" for p in _change_records_statement_problems(statement, record_names_ref))
    return problems


def _change_records_statement_problems(statement, record_names_ref):
    problems = []
    for operator, keys in _conditions(statement):
        multi_valued = ROUTE53_CONDITION_KEYS & set(keys)
        if multi_valued and operator not in ("ForAllValues:StringEquals", "Null"):
            # ForAnyValue would allow a batch with one listed name and any others.
            problems.append(f"{sorted(multi_valued)} under {operator}: multi-valued keys need ForAllValues")
    restriction = dict(_conditions(statement)).get("ForAllValues:StringEquals")
    if restriction is None:
        return problems + ["no ForAllValues:StringEquals condition restricting the change"]
    missing = ROUTE53_CONDITION_KEYS - set(restriction)
    if missing:
        problems.append(f"condition keys missing: {sorted(missing)}")
    types = restriction.get(ROUTE53_TYPES_KEY)
    if types is not None and set(_as_list(types)) != ALLOWED_RECORD_TYPES:
        problems.append(f"record types {types!r}, expected exactly {sorted(ALLOWED_RECORD_TYPES)}")
    actions = restriction.get(ROUTE53_ACTIONS_KEY)
    if actions is not None and set(_as_list(actions)) != ALLOWED_CHANGE_ACTIONS:
        problems.append(f"change actions {actions!r}, expected exactly {sorted(ALLOWED_CHANGE_ACTIONS)}")
    names = restriction.get(ROUTE53_NAMES_KEY)
    if names is not None and names != {"Ref": record_names_ref}:
        problems.append(f"record names {names!r}, expected the {record_names_ref} parameter")
    null_check = dict(_conditions(statement)).get("Null", {})
    if null_check.get(ROUTE53_NAMES_KEY) != "false":
        problems.append(f"no Null check on {ROUTE53_NAMES_KEY} (ForAllValues is true for an empty set)")
    return problems


def all_problems(template):
    return (
        action_problems(template)
        + any_resource_problems(template)
        + condition_key_problems(template)
        + change_records_problems(template)
    )
