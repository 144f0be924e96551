"""What the template promises: the function's shape, its triggers, its limits, and a deploy guide
whose parameter table matches the template."""

import json
import re
import unittest
from pathlib import Path

from sam_transform import load_sample_parameters, load_template, transform_template

REPO = Path(__file__).resolve().parents[2]
DEPLOY_GUIDE = REPO / "docs" / "deploy.md"

REQUIRED_ONLY = {
    "HostedZoneIds": "Z0123456789ABCDEFGHIJ",
    "RecordNames": "payments.example.com,a-payments.example.com,_cutover.payments.example.com",
    "ClusterOneName": "blue",
    "ClusterTwoName": "green",
}


def resources_of_type(template, kind):
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def only_resource_of_type(template, kind):
    found = resources_of_type(template, kind)
    if len(found) != 1:
        raise AssertionError(f"expected one {kind}, found {sorted(found)}")
    return next(iter(found.values()))


class TransformedTemplate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.template = load_template()
        cls.transformed = transform_template(cls.template, load_sample_parameters())

    def test_transform_also_passes_with_only_the_required_parameters(self):
        output = transform_template(load_template(), REQUIRED_ONLY)
        self.assertIn("CutoverFunction", output["Resources"])

    def test_every_parameter_without_default_is_in_the_minimal_set(self):
        required = {n for n, p in self.template["Parameters"].items() if "Default" not in p}
        self.assertEqual(required, set(REQUIRED_ONLY))

    def test_function_shape(self):
        function = only_resource_of_type(self.transformed, "AWS::Lambda::Function")["Properties"]
        self.assertEqual(function["Runtime"], "provided.al2023")
        self.assertEqual(function["Architectures"], ["arm64"])
        self.assertEqual(function["Handler"], "bootstrap")
        self.assertEqual(function["MemorySize"], 128)
        self.assertEqual(function["Timeout"], {"Ref": "TimeoutSeconds"})
        self.assertEqual(function["ReservedConcurrentExecutions"], {"Ref": "ReservedConcurrency"})
        self.assertEqual(function["LoggingConfig"]["LogFormat"], "JSON")
        self.assertEqual(function["LoggingConfig"]["LogGroup"], {"Ref": "CutoverLogGroup"})
        self.assertEqual(function["Role"], {"Fn::GetAtt": ["CutoverRole", "Arn"]})

    def test_code_is_the_cargo_lambda_output_directory(self):
        code_uri = self.template["Resources"]["CutoverFunction"]["Properties"]["CodeUri"]
        # cargo-lambda writes target/lambda/<binary>/bootstrap; the binary is `cutover`.
        self.assertEqual(code_uri, "../target/lambda/cutover/")

    def test_environment(self):
        function = only_resource_of_type(self.transformed, "AWS::Lambda::Function")["Properties"]
        variables = function["Environment"]["Variables"]
        self.assertEqual(variables["CUTOVER_CONFIG"], "/var/task/cutover.toml")
        self.assertEqual(variables["CUTOVER_ACCEPTED_TOPIC_ARNS"], {"Ref": "DeployEventsTopic"})

    def test_defaults(self):
        parameters = self.template["Parameters"]
        self.assertEqual(parameters["TimeoutSeconds"]["Default"], 60)
        self.assertEqual(parameters["ReservedConcurrency"]["Default"], 1)
        self.assertEqual(parameters["LogRetentionDays"]["Default"], 30)
        self.assertEqual(parameters["TickSchedule"]["Default"], "rate(1 minute)")

    def test_schedule_sends_a_tick_command(self):
        schedule = only_resource_of_type(self.transformed, "AWS::Scheduler::Schedule")["Properties"]
        self.assertEqual(schedule["ScheduleExpression"], {"Ref": "TickSchedule"})
        self.assertEqual(schedule["Target"]["Arn"], {"Fn::GetAtt": ["CutoverFunction", "Arn"]})
        self.assertEqual(json.loads(schedule["Target"]["Input"]), {"action": "tick", "actor": "schedule"})

    def test_sns_topic_is_subscribed_and_may_invoke(self):
        subscription = only_resource_of_type(self.transformed, "AWS::SNS::Subscription")["Properties"]
        self.assertEqual(subscription["Protocol"], "lambda")
        self.assertEqual(subscription["TopicArn"], {"Ref": "DeployEventsTopic"})
        permission = only_resource_of_type(self.transformed, "AWS::Lambda::Permission")["Properties"]
        self.assertEqual(permission["Principal"], "sns.amazonaws.com")
        self.assertEqual(permission["SourceArn"], {"Ref": "DeployEventsTopic"})

    def test_failed_async_events_go_to_the_queue(self):
        config = only_resource_of_type(self.transformed, "AWS::Lambda::EventInvokeConfig")["Properties"]
        destination = config["DestinationConfig"]["OnFailure"]["Destination"]
        self.assertEqual(destination, {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]})
        # The sample leaves MaximumRetryAttempts at its default, which SAM resolves.
        self.assertEqual(config["MaximumRetryAttempts"], self.template["Parameters"]["MaximumRetryAttempts"]["Default"])

    def test_log_group_is_the_functions(self):
        group = only_resource_of_type(self.transformed, "AWS::Logs::LogGroup")["Properties"]
        self.assertEqual(group["LogGroupName"], {"Fn::Sub": "/aws/lambda/${FunctionName}"})
        self.assertEqual(group["RetentionInDays"], {"Ref": "LogRetentionDays"})

    def test_access_entries_are_view_only_at_cluster_scope(self):
        entries = resources_of_type(self.transformed, "AWS::EKS::AccessEntry")
        self.assertEqual(
            sorted(e["Properties"]["ClusterName"]["Ref"] for e in entries.values()),
            ["ClusterOneName", "ClusterTwoName"],
        )
        for entry in entries.values():
            properties = entry["Properties"]
            self.assertEqual(properties["PrincipalArn"], {"Fn::GetAtt": ["CutoverRole", "Arn"]})
            self.assertEqual(
                properties["AccessPolicies"],
                [
                    {
                        "PolicyArn": {
                            "Fn::Sub": "arn:${AWS::Partition}:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
                        },
                        "AccessScope": {"Type": "cluster"},
                    }
                ],
            )

    def test_vpc_is_conditional(self):
        function = only_resource_of_type(self.transformed, "AWS::Lambda::Function")["Properties"]
        self.assertEqual(function["VpcConfig"]["Fn::If"][0], "InVpc")
        self.assertEqual(function["VpcConfig"]["Fn::If"][2], {"Ref": "AWS::NoValue"})
        role = self.template["Resources"]["CutoverRole"]["Properties"]
        self.assertEqual(role["ManagedPolicyArns"]["Fn::If"][0], "InVpc")

    def test_outputs(self):
        self.assertLessEqual({"FunctionArn", "DeployEventsTopicArn", "FailedEventsQueueUrl"}, set(self.template["Outputs"]))


def parameter_table(markdown):
    """Rows `| `Name` | meaning | default |` of the guide's parameter table, as {name: default}."""
    rows = {}
    for line in markdown.splitlines():
        match = re.match(r"^\|\s*`([A-Za-z0-9]+)`\s*\|.*\|\s*(.*?)\s*\|\s*$", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def section(markdown, heading):
    """The lines under `heading` up to the next heading of any level."""
    lines = markdown.splitlines()
    start = lines.index(heading) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("#")), len(lines))
    return "\n".join(lines[start:end])


def documented_default(parameter):
    """How the guide writes a parameter's default."""
    if "Default" not in parameter:
        return "required"
    default = parameter["Default"]
    return "(empty)" if default == "" else f"`{default}`"


class DeployGuide(unittest.TestCase):
    def test_parameter_table_matches_the_template(self):
        template = load_template()
        table = parameter_table(section(DEPLOY_GUIDE.read_text(), "### Parameters"))
        self.assertEqual(sorted(table), sorted(template["Parameters"]))
        for name, parameter in template["Parameters"].items():
            self.assertEqual(table[name], documented_default(parameter), f"default of {name} in docs/deploy.md")

    def test_table_parser_sees_a_mismatch(self):
        table = parameter_table("| `TimeoutSeconds` | timeout | `30` |\n| `Other` | x | required |")
        self.assertNotEqual(table["TimeoutSeconds"], documented_default({"Default": 60}))
        self.assertEqual(table["Other"], "required")


if __name__ == "__main__":
    unittest.main()
