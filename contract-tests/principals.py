"""The principals of a local-stack run, made in moto before IAM enforcement is switched on.

Reads {"account": ..., "region": ..., "types": {type name: [declared actions]},
"functions": {handler binary: [actions of its types]}} on stdin and prints, as JSON:
- "admin": the access key of a user allowed everything, for fixtures and for preparing or
  inspecting state behind a handler's back;
- "handlers": per type, a role holding exactly the type's declared permissions and the
  temporary credentials of a session of it (what CloudFormation passes a handler);
- "functions": per handler binary, its execution role as a custom resource's function:
  every action its types declare (a custom resource calls AWS with the function's own role);
- "provider": the role CloudFormation passes as `providerCredentials` (a type's LoggingConfig
  role), allowed exactly what `cfn submit`'s log and metrics delivery role is allowed;
- "denied": the credentials of a role with no permissions at all.
Then switches moto's IAM enforcement on: from here every call must be allowed by the policies
of its caller, so a handler that passes its tests with its role's credentials has declared
enough (the "sufficient" half of the permission proof).
"""

import json
import os
import sys
import urllib.request

import boto3

SESSION_SECONDS = 43200

# cloudformation-cli's LogAndMetricsDeliveryRole (managed-upload-infrastructure.yaml).
PROVIDER_ACTIONS = [
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
    "logs:PutLogEvents",
    "cloudwatch:ListMetrics",
    "cloudwatch:PutMetricData",
]


def main():
    spec = json.load(sys.stdin)
    endpoint = os.environ["RPDK_MOTO_URL"]
    session = boto3.Session(
        aws_access_key_id="setup", aws_secret_access_key="setup", region_name=spec["region"]
    )
    iam = session.client("iam", endpoint_url=endpoint)
    sts = session.client("sts", endpoint_url=endpoint)

    iam.create_user(UserName="rpdk-harness")
    iam.put_user_policy(
        UserName="rpdk-harness",
        PolicyName="everything",
        PolicyDocument=policy(["*"]),
    )
    key = iam.create_access_key(UserName="rpdk-harness")["AccessKey"]
    # Trusting the admin user itself: moto compares the caller with the trusted principals
    # literally (an account root would not admit the user).
    admin_arn = iam.get_user(UserName="rpdk-harness")["User"]["Arn"]
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": "sts:AssumeRole"}
            ],
        }
    )

    def role(name, actions):
        arn = iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=trust, MaxSessionDuration=SESSION_SECONDS
        )["Role"]["Arn"]
        if actions:
            iam.put_role_policy(
                RoleName=name, PolicyName="declared-permissions", PolicyDocument=policy(actions)
            )
        credentials = sts.assume_role(
            RoleArn=arn, RoleSessionName=name, DurationSeconds=SESSION_SECONDS
        )["Credentials"]
        return {
            "roleArn": arn,
            "credentials": {
                "accessKeyId": credentials["AccessKeyId"],
                "secretAccessKey": credentials["SecretAccessKey"],
                "sessionToken": credentials["SessionToken"],
            },
        }

    handlers = {
        type_name: role(f"rpdk-handler-{index}", actions)
        for index, (type_name, actions) in enumerate(sorted(spec["types"].items()))
    }
    functions = {
        binary: role(f"rpdk-function-{index}", actions)
        for index, (binary, actions) in enumerate(sorted(spec["functions"].items()))
    }
    provider = role("rpdk-provider-logging", PROVIDER_ACTIONS)
    denied = role("rpdk-no-permissions", [])

    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=b"0",
        headers={"Content-Type": "text/plain"},
        method="POST",
    )
    urllib.request.urlopen(request).read()

    json.dump(
        {
            "admin": {
                "accessKeyId": key["AccessKeyId"],
                "secretAccessKey": key["SecretAccessKey"],
            },
            "handlers": handlers,
            "functions": functions,
            "provider": provider,
            "denied": denied["credentials"],
        },
        sys.stdout,
    )


def policy(actions):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
        }
    )


if __name__ == "__main__":
    main()
