"""The validators that scripts/validate-infra runs reject broken templates: a check that cannot
fail proves nothing."""

import copy
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import yaml

from sam_transform import TransformError, load_sample_parameters, load_template, transform_template

TESTS_DIR = Path(__file__).resolve().parent
# cfn-lint's own entry point, run with this interpreter (the package has no __main__).
CFN_LINT_MAIN = "import sys; from cfnlint.runner import main; sys.exit(main())"


def run_cfn_lint(template_text):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "template.yaml"
        path.write_text(template_text)
        return subprocess.run(
            [sys.executable, "-c", CFN_LINT_MAIN, str(path)], capture_output=True, text=True, check=False
        )


class CfnLintCanFail(unittest.TestCase):
    def test_unknown_runtime_is_an_error(self):
        template = copy.deepcopy(load_template())
        template["Resources"]["CutoverFunction"]["Properties"]["Runtime"] = "provided.al2099"
        result = run_cfn_lint(yaml.safe_dump(template))
        self.assertNotEqual(result.returncode, 0, result.stdout)
        self.assertIn("provided.al2099", result.stdout)

    def test_reference_to_a_missing_resource_is_an_error(self):
        template = copy.deepcopy(load_template())
        template["Outputs"]["DeployEventsTopicArn"]["Value"] = {"Ref": "NoSuchTopic"}
        result = run_cfn_lint(yaml.safe_dump(template))
        self.assertNotEqual(result.returncode, 0, result.stdout)
        self.assertIn("NoSuchTopic", result.stdout)

    def test_the_unchanged_template_dumped_the_same_way_is_clean(self):
        # The two failures above come from the change, not from the dump.
        result = run_cfn_lint(yaml.safe_dump(load_template()))
        self.assertEqual(result.returncode, 0, result.stdout)


class TransformCanFail(unittest.TestCase):
    def test_unknown_event_type_fails(self):
        template = copy.deepcopy(load_template())
        template["Resources"]["CutoverFunction"]["Properties"]["Events"]["Tick"]["Type"] = "Shedule"
        with self.assertRaises(TransformError) as caught:
            transform_template(template, load_sample_parameters())
        self.assertIn("CutoverFunction", str(caught.exception))

    def test_sns_event_without_topic_fails(self):
        template = copy.deepcopy(load_template())
        del template["Resources"]["CutoverFunction"]["Properties"]["Events"]["DeployEvent"]["Properties"]["Topic"]
        with self.assertRaises(TransformError) as caught:
            transform_template(template, load_sample_parameters())
        self.assertIn("Topic", str(caught.exception))

    def test_transform_script_exits_non_zero_on_a_broken_template(self):
        template = copy.deepcopy(load_template())
        template["Resources"]["CutoverFunction"]["Properties"]["Events"]["Tick"]["Type"] = "Shedule"
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "template.yaml"
            path.write_text(yaml.safe_dump(template))
            result = subprocess.run(
                [sys.executable, str(TESTS_DIR / "sam_transform.py"), str(path)],
                capture_output=True,
                text=True,
                check=False,
            )
        self.assertEqual(result.returncode, 1)
        self.assertIn("SAM transform failed", result.stderr)


if __name__ == "__main__":
    unittest.main()
