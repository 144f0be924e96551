"""IAM of the template: every action exists in botocore's models, the Route53 write permission
is record-level (docs/reference/route53.md "IAM for record-level least privilege"), and each
check can fail."""

import copy
import json
import unittest

import iam_checks
from sam_transform import INFRA_DIR, load_sample_parameters, load_template, transform_template

ZONE_ROLE_TEMPLATE = INFRA_DIR / "zone-account-role.yaml"


def inline_template(statements):
    """A minimal template with one role holding the given statements."""
    return {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "lambda.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    },
                    "Policies": [
                        {
                            "PolicyName": "p",
                            "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                        }
                    ],
                },
            }
        }
    }


def good_change_statement():
    return {
        "Effect": "Allow",
        "Action": "route53:ChangeResourceRecordSets",
        "Resource": "arn:aws:route53:::hostedzone/Z1",
        "Condition": {
            "Null": {iam_checks.ROUTE53_NAMES_KEY: "false"},
            "ForAllValues:StringEquals": {
                iam_checks.ROUTE53_NAMES_KEY: {"Ref": "RecordNames"},
                iam_checks.ROUTE53_TYPES_KEY: ["A", "AAAA", "TXT"],
                iam_checks.ROUTE53_ACTIONS_KEY: ["CREATE", "DELETE"],
            },
        },
    }


class TemplateIam(unittest.TestCase):
    """The real template, as written and as CloudFormation sees it after the SAM transform
    (which adds the schedule's role and the SNS permission)."""

    @classmethod
    def setUpClass(cls):
        cls.template = load_template()
        cls.transformed = transform_template(cls.template, load_sample_parameters())

    def test_every_action_exists_in_botocore(self):
        for template in (self.template, self.transformed):
            self.assertEqual(iam_checks.action_problems(template), [])

    def test_checks_cover_the_expected_actions(self):
        # Guards the walker itself: if it found no statements, the checks above would pass vacuously.
        actions = {
            action
            for _, statement in iam_checks.policy_statements(self.transformed)
            for action in iam_checks.statement_actions(statement)
        }
        expected = {
            "route53:ChangeResourceRecordSets",
            "route53:ListResourceRecordSets",
            "route53:GetChange",
            "eks:DescribeCluster",
            "cloudwatch:DescribeAlarms",
            "cloudwatch:GetMetricData",
            "sns:Publish",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "sqs:SendMessage",
            "sts:AssumeRole",
            "lambda:InvokeFunction",
        }
        self.assertEqual(actions, expected)

    def test_only_describe_alarms_is_on_any_resource(self):
        for template in (self.template, self.transformed):
            self.assertEqual(iam_checks.any_resource_problems(template), [])

    def test_condition_keys_are_the_route53_ones(self):
        for template in (self.template, self.transformed):
            self.assertEqual(iam_checks.condition_key_problems(template), [])

    def test_change_record_sets_is_record_level(self):
        for template in (self.template, self.transformed):
            self.assertEqual(iam_checks.change_records_problems(template), [])
        changes = [
            s
            for _, s in iam_checks.policy_statements(self.template)
            if iam_checks.CHANGE_RECORDS_ACTION in iam_checks.statement_actions(s)
        ]
        self.assertEqual(len(changes), 1)
        restriction = changes[0]["Condition"]["ForAllValues:StringEquals"]
        self.assertEqual(restriction[iam_checks.ROUTE53_ACTIONS_KEY], ["CREATE", "DELETE"])
        self.assertEqual(restriction[iam_checks.ROUTE53_TYPES_KEY], ["A", "AAAA", "TXT"])

    def test_publish_is_on_the_notification_topic_only(self):
        for logical_id, statement in iam_checks.policy_statements(self.template):
            if "sns:Publish" in iam_checks.statement_actions(statement):
                self.assertNotIn("*", iam_checks._as_list(statement.get("Resource")), logical_id)

    def test_no_write_action_outside_route53_records_logs_and_queue(self):
        writes = {
            "route53:ChangeResourceRecordSets",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "sqs:SendMessage",
            "sns:Publish",
        }
        for logical_id, statement in iam_checks.policy_statements(self.template):
            for action in iam_checks.statement_actions(statement):
                service, _, name = action.partition(":")
                is_read = name.startswith(("Describe", "List", "Get")) or action == "sts:AssumeRole"
                self.assertTrue(is_read or action in writes, f"{logical_id}: unexpected write {action}")


class ChecksCanFail(unittest.TestCase):
    """Each check flags what it exists to catch, in a small inline template."""

    def test_good_inline_template_passes(self):
        self.assertEqual(iam_checks.all_problems(inline_template([good_change_statement()])), [])

    def test_misspelled_action_is_flagged(self):
        statement = good_change_statement()
        statement["Action"] = "route53:ChangeResourceRecordSet"
        problems = iam_checks.action_problems(inline_template([statement]))
        self.assertEqual(
            problems, ["Role: action 'route53:ChangeResourceRecordSet': route53 has no operation 'ChangeResourceRecordSet'"]
        )

    def test_unknown_service_is_flagged(self):
        statement = {"Effect": "Allow", "Action": "route54:GetChange", "Resource": "arn:aws:route53:::change/*"}
        problems = iam_checks.action_problems(inline_template([statement]))
        self.assertEqual(problems, ["Role: action 'route54:GetChange': no botocore service model named 'route54'"])

    def test_misspelled_action_in_a_list_and_in_a_conditional_policy_is_flagged(self):
        conditional = {
            "Fn::If": [
                "AlarmChecks",
                {"Effect": "Allow", "Action": ["cloudwatch:DescribeAlarm"], "Resource": "*"},
                {"Ref": "AWS::NoValue"},
            ]
        }
        problems = iam_checks.action_problems(inline_template([conditional]))
        self.assertEqual(len(problems), 1)
        self.assertIn("cloudwatch has no operation 'DescribeAlarm'", problems[0])

    def test_iam_name_of_invoke_is_accepted_but_api_name_is_not(self):
        ok = {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:us-east-1:1:function:f"}
        self.assertEqual(iam_checks.action_problems(inline_template([ok])), [])
        bad = dict(ok, Action="lambda:InvokeFunctions")
        self.assertEqual(len(iam_checks.action_problems(inline_template([bad]))), 1)

    def test_wildcard_and_not_action_are_flagged(self):
        wildcard = {"Effect": "Allow", "Action": "route53:*", "Resource": "*"}
        not_action = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
        problems = iam_checks.action_problems(inline_template([wildcard, not_action]))
        self.assertEqual(len(problems), 2)
        self.assertIn("wildcard", problems[0])
        self.assertIn("NotAction", problems[1])

    def test_write_on_any_resource_is_flagged(self):
        statement = good_change_statement()
        statement["Resource"] = "*"
        problems = iam_checks.any_resource_problems(inline_template([statement]))
        self.assertEqual(problems, ['Role: route53:ChangeResourceRecordSets is allowed on Resource "*"'])

    def test_misspelled_condition_key_is_flagged(self):
        statement = good_change_statement()
        restriction = statement["Condition"]["ForAllValues:StringEquals"]
        restriction["route53:ChangeResourceRecordSetsNormalizedRecordName"] = restriction.pop(
            iam_checks.ROUTE53_NAMES_KEY
        )
        template = inline_template([statement])
        self.assertEqual(
            iam_checks.condition_key_problems(template),
            [
                "Role: unknown condition key 'route53:ChangeResourceRecordSetsNormalizedRecordName'"
                " (under ForAllValues:StringEquals)"
            ],
        )
        self.assertIn(
            f"condition keys missing: ['{iam_checks.ROUTE53_NAMES_KEY}']",
            " ".join(iam_checks.change_records_problems(template)),
        )

    def test_upsert_is_flagged(self):
        statement = good_change_statement()
        statement["Condition"]["ForAllValues:StringEquals"][iam_checks.ROUTE53_ACTIONS_KEY] = [
            "CREATE",
            "DELETE",
            "UPSERT",
        ]
        problems = iam_checks.change_records_problems(inline_template([statement]))
        self.assertEqual(len(problems), 1)
        self.assertIn("change actions ['CREATE', 'DELETE', 'UPSERT'], expected exactly ['CREATE', 'DELETE']", problems[0])

    def test_extra_record_type_is_flagged(self):
        statement = good_change_statement()
        statement["Condition"]["ForAllValues:StringEquals"][iam_checks.ROUTE53_TYPES_KEY] = ["A", "AAAA", "TXT", "NS"]
        problems = iam_checks.change_records_problems(inline_template([statement]))
        self.assertEqual(len(problems), 1)
        self.assertIn("record types", problems[0])

    def test_unrestricted_change_is_flagged(self):
        statement = good_change_statement()
        del statement["Condition"]
        problems = iam_checks.change_records_problems(inline_template([statement]))
        self.assertEqual(
            problems,
            ["Role (route53:ChangeResourceRecordSets): no ForAllValues:StringEquals condition restricting the change"],
        )

    def test_for_any_value_is_flagged(self):
        statement = good_change_statement()
        condition = statement["Condition"]
        condition["ForAnyValue:StringEquals"] = condition.pop("ForAllValues:StringEquals")
        problems = iam_checks.change_records_problems(inline_template([statement]))
        self.assertTrue(any("multi-valued keys need ForAllValues" in p for p in problems), problems)

    def test_missing_null_guard_is_flagged(self):
        statement = good_change_statement()
        del statement["Condition"]["Null"]
        problems = iam_checks.change_records_problems(inline_template([statement]))
        self.assertEqual(len(problems), 1)
        self.assertIn("no Null check", problems[0])

    def test_record_names_not_from_the_parameter_are_flagged(self):
        statement = good_change_statement()
        statement["Condition"]["ForAllValues:StringEquals"][iam_checks.ROUTE53_NAMES_KEY] = "*"
        problems = iam_checks.change_records_problems(inline_template([statement]))
        self.assertEqual(len(problems), 1)
        self.assertIn("expected the RecordNames parameter", problems[0])

    def test_the_real_template_with_a_misspelled_action_is_flagged(self):
        template = copy.deepcopy(load_template())
        policies = template["Resources"]["CutoverRole"]["Properties"]["Policies"]
        eks = next(p for p in policies if isinstance(p, dict) and p.get("PolicyName") == "eks")
        eks["PolicyDocument"]["Statement"][0]["Action"] = "eks:DescribeClusters"
        self.assertEqual(
            iam_checks.action_problems(template),
            ["CutoverRole: action 'eks:DescribeClusters': eks has no operation 'DescribeClusters'"],
        )


if __name__ == "__main__":
    unittest.main()


class ZoneAccountRole(unittest.TestCase):
    """infra/zone-account-role.yaml, the role in the zones' account that cutover assumes: the same
    record-level Route53 policy, trusted by the function's role only, with the external id."""

    @classmethod
    def setUpClass(cls):
        cls.template = load_template(ZONE_ROLE_TEMPLATE)

    def test_every_check_passes(self):
        self.assertEqual(iam_checks.all_problems(self.template), [])

    def test_actions_are_route53_records_and_the_assume_role_trust(self):
        actions = {
            action
            for _, statement in iam_checks.policy_statements(self.template)
            for action in iam_checks.statement_actions(statement)
        }
        self.assertEqual(
            actions,
            {
                "route53:ChangeResourceRecordSets",
                "route53:ListResourceRecordSets",
                "route53:GetChange",
                "sts:AssumeRole",
            },
        )

    def test_trust_is_the_function_role_with_the_external_id(self):
        role = self.template["Resources"]["ZoneRecordsRole"]["Properties"]
        (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
        self.assertEqual(trust["Principal"], {"AWS": {"Ref": "CutoverRoleArn"}})
        condition = trust["Condition"]["Fn::If"]
        self.assertEqual(condition[0], "RequiresExternalId")
        self.assertEqual(condition[1], {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}})

    def test_another_condition_key_in_the_trust_is_still_flagged(self):
        template = json.loads(json.dumps(self.template))
        trust = template["Resources"]["ZoneRecordsRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
        trust["Condition"] = {"StringEquals": {"sts:ExternalID2": "x"}}
        self.assertEqual(
            iam_checks.condition_key_problems(template),
            ["ZoneRecordsRole: unknown condition key 'sts:ExternalID2' (under StringEquals)"],
        )
