"""Offline SAM transform of a template, as CloudFormation's AWS::Serverless transform does it.

Used by scripts/validate-infra and by the tests. Nothing here reaches the network: the managed
policy loader answers from a fixed table instead of asking IAM.
"""

import json
import logging
import os
import sys
from pathlib import Path

from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

# samtranslator warns at exit about usage metrics it would publish in the service; there is
# nowhere to publish them offline.
logging.getLogger("samtranslator.metrics").setLevel(logging.ERROR)

INFRA_DIR = Path(__file__).resolve().parent.parent
TEMPLATE = INFRA_DIR / "template.yaml"
SAMPLE_PARAMETERS = Path(__file__).resolve().parent / "sample-parameters.json"


class TransformError(Exception):
    """The SAM transform rejected the template."""


class OfflineManagedPolicyLoader:
    """Stands in for samtranslator's IAM-backed loader: the template names no managed policy by
    name, so an empty table is the honest answer (a lookup would then fail the transform)."""

    def load(self):
        return {}


def load_template(path=TEMPLATE):
    return yaml_parse(Path(path).read_text())


def load_sample_parameters(path=SAMPLE_PARAMETERS):
    return json.loads(Path(path).read_text())


def as_packaged(template):
    """Do what `sam package` (run by `sam deploy`) does before CloudFormation sees the template:
    replace each local CodeUri by the S3 location it uploads the zipped directory to."""
    packaged = json.loads(json.dumps(template))
    for logical_id, resource in packaged.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        code_uri = properties.get("CodeUri")
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(code_uri, str):
            if not code_uri.startswith("s3://"):
                properties["CodeUri"] = f"s3://deployment-bucket/{logical_id}.zip"
    return packaged


def transform_template(template, parameters):
    """Return the CloudFormation template SAM makes of `template` once packaged, or raise
    TransformError."""
    template = as_packaged(template)
    # samtranslator derives the partition from the region; no request is made.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    try:
        return transform(template, dict(parameters), OfflineManagedPolicyLoader())
    except InvalidDocumentException as error:
        causes = "; ".join(cause.message for cause in error.causes)
        raise TransformError(f"{error.message} {causes}") from error


def main(argv):
    template_path = Path(argv[1]) if len(argv) > 1 else TEMPLATE
    parameters = load_sample_parameters()
    try:
        output = transform_template(load_template(template_path), parameters)
    except TransformError as error:
        print(f"SAM transform failed for {template_path}: {error}", file=sys.stderr)
        return 1
    kinds = sorted({r["Type"] for r in output["Resources"].values()})
    print(f"SAM transform ok: {len(output['Resources'])} resources ({', '.join(kinds)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
