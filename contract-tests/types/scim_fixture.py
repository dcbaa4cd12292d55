"""Prerequisites of the Rpdk::SCIM::User and ::Group contract tests: a connector made through
the Rpdk::SCIM::Connector handler (as a template would make it), and users made directly in
scim2-server, behind the handlers' back.
"""

import json
import os
import urllib.request

CONNECTOR = "Rpdk::SCIM::Connector"


def _post(url, body, headers):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def connector(name):
    """Creates a connector to the run's scim2-server through the handler; returns its name."""
    with open(os.environ["RPDK_CREDENTIALS"]) as principals:
        credentials = json.load(principals)["handlers"][CONNECTOR]["credentials"]
    event = _post(
        f"{os.environ['RPDK_LAMBDA_URL']}/2015-03-31/functions/scim-connector/invocations",
        {
            "action": "CREATE",
            "awsAccountId": "123456789012",
            "region": "us-east-1",
            "bearerToken": f"fixture-{name}",
            "resourceType": CONNECTOR,
            "requestData": {
                "callerCredentials": credentials,
                "logicalResourceId": "Fixture",
                "resourceProperties": {
                    "Name": name,
                    "BaseUrl": os.environ["RPDK_SCIM_URL"],
                    "BearerToken": os.environ["RPDK_SCIM_TOKEN"],
                },
            },
        },
        {"Content-Type": "application/json"},
    )
    if event.get("status") != "SUCCESS":
        raise SystemExit(f"the fixture connector {name} was not created: {event}")
    return name


def user(user_name):
    """Creates a user directly in scim2-server; returns its id."""
    created = _post(
        f"{os.environ['RPDK_SCIM_URL']}/Users",
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name},
        {"Content-Type": "application/scim+json", "Authorization": f"Bearer {os.environ['RPDK_SCIM_TOKEN']}"},
    )
    return created["id"]
