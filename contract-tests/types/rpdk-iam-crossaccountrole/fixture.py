"""Prerequisites of the Rpdk::IAM::CrossAccountRole contract tests, made in moto.

Prints the placeholder values the inputs use, as a JSON object.
"""

import json
import os

import boto3

iam = boto3.client("iam", endpoint_url=os.environ["RPDK_MOTO_URL"])
run_id = os.environ["RPDK_RUN_ID"]
policy = iam.create_policy(
    PolicyName=f"rpdk-contract-readonly-{run_id}",
    PolicyDocument=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
    ),
)
print(json.dumps({"PolicyArn": policy["Policy"]["Arn"]}))
