"""Servers for the tests of moto's extensions.

Most tests share one in-process moto server with the extensions applied, reset before each
test. Tests that switch IAM enforcement on get their own server process (``moto_server.py``,
as the harness starts it): enforcement is process-wide in moto and cannot be switched off for
requests signed with keys moto does not know.
"""

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

CONTRACT_TESTS = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(CONTRACT_TESTS))

import moto_ext  # noqa: E402,F401  (importing applies the extensions)
from moto.server import ThreadedMotoServer  # noqa: E402

REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def post(url, body, content_type="application/json"):
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": content_type}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


@pytest.fixture(scope="session")
def moto_url():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def url(moto_url):
    post(f"{moto_url}/moto-api/reset", b"")
    return moto_url


@pytest.fixture
def set_transition(url):
    """Sets a state-manager transition for the test's duration."""
    models = []

    def set_(model_name, transition):
        models.append(model_name)
        body = {"model_name": model_name, "transition": transition}
        post(f"{url}/moto-api/state-manager/set-transition", json.dumps(body).encode())

    yield set_
    for model_name in models:
        body = json.dumps({"model_name": model_name}).encode()
        post(f"{url}/moto-api/state-manager/unset-transition", body)


def client(service, url, **credentials):
    return boto3.client(
        service, region_name=REGION, endpoint_url=url, **(credentials or CREDENTIALS)
    )


@pytest.fixture
def ec2(url):
    return client("ec2", url)


@pytest.fixture
def elbv2(url):
    return client("elbv2", url)


@pytest.fixture
def network(ec2, elbv2):
    """A VPC with two subnets, an IPv4 network load balancer and a dual-stack one."""
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", AmazonProvidedIpv6CidrBlock=True)["Vpc"]
    subnets = [
        ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock=cidr, AvailabilityZone=zone)["Subnet"][
            "SubnetId"
        ]
        for cidr, zone in (("10.0.1.0/24", "us-east-1a"), ("10.0.2.0/24", "us-east-1b"))
    ]

    def nlb(name, ip_address_type):
        return elbv2.create_load_balancer(
            Name=name,
            Subnets=subnets,
            Type="network",
            Scheme="internal",
            IpAddressType=ip_address_type,
        )["LoadBalancers"][0]["LoadBalancerArn"]

    return {
        "vpc": vpc["VpcId"],
        "subnets": subnets,
        "ipv4_nlb": nlb("ipv4-nlb", "ipv4"),
        "dualstack_nlb": nlb("dualstack-nlb", "dualstack"),
    }


def policy(actions, effect="Allow"):
    statement = {"Effect": effect, "Action": actions, "Resource": "*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def users_then_enforcement(url, actions_by_name):
    """Users allowed what ``actions_by_name`` says, made before IAM enforcement is switched on
    at ``url``: their keys by name."""
    iam = client("iam", url)
    keys = {}
    for name, actions in actions_by_name.items():
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy(actions))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        keys[name] = {
            "aws_access_key_id": key["AccessKeyId"],
            "aws_secret_access_key": key["SecretAccessKey"],
        }
    post(f"{url}/moto-api/reset-auth", b"0", content_type="text/plain")
    return keys


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def own_server():
    """A moto server process of its own, started as the harness starts it."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(CONTRACT_TESTS / "moto_server.py"), "-H", "127.0.0.1"]
        + ["-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/data.json").read()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("moto_server.py did not start")
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=30)
