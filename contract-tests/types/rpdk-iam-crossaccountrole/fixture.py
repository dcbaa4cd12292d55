"""Prerequisites of the Rpdk::IAM::CrossAccountRole contract tests and benchmark, made in moto.

Prints the placeholder values the inputs and bench.json use, as a JSON object.
"""

import json
import os

import boto3

iam = boto3.client("iam", endpoint_url=os.environ["RPDK_MOTO_URL"])
run_id = os.environ["RPDK_RUN_ID"]


def policy(name, action):
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}
    made = iam.create_policy(PolicyName=f"rpdk-contract-{name}-{run_id}", PolicyDocument=json.dumps(document))
    return made["Policy"]["Arn"]


print(json.dumps({"PolicyArn": policy("readonly", "s3:GetObject"), "SecondPolicyArn": policy("audit", "s3:ListAllMyBuckets")}))
