"""The fault proxy (contract-tests/fault_proxy.py) in front of a moto server of its own: calls
pass through unchanged, rules stall or throttle exactly the calls they name, and bad rules are
refused by name."""

import json
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

ADDON = Path(__file__).resolve().parents[1] / "fault_proxy.py"
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=20, connect_timeout=5)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def proxy_url():
    mitmdump = os.environ.get("RPDK_MITMDUMP")
    assert mitmdump, "RPDK_MITMDUMP is unset: these tests run through `cargo rpdk test`"
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    proxy_port = free_port()
    command = [mitmdump, "--mode", f"reverse:http://{host}:{port}@{proxy_port}", "--listen-host", "127.0.0.1",
               "--set", "keep_host_header=true", "-q", "-s", str(ADDON)]
    confdir = os.environ.get("RPDK_MITMPROXY_CONFDIR")
    if confdir:
        command += ["--set", f"confdir={confdir}"]
    proxy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{proxy_port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/rpdk-faults/rules", timeout=2)
                break
            except OSError:
                assert proxy.poll() is None, proxy.stderr.read().decode()
                time.sleep(0.25)
        yield url
    finally:
        proxy.terminate()
        proxy.wait(10)
        moto.stop()


def client(proxy_url, service, key):
    return boto3.client(service, endpoint_url=proxy_url, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key="secret", config=NO_RETRIES)


def control(proxy_url, method, path="", body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{proxy_url}/rpdk-faults/rules{path}", data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
            return response.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def arm(proxy_url, **rule):
    status, answer = control(proxy_url, "POST", body=rule)
    assert status == 201, answer
    return answer["id"]


def error_code(call):
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"]


def test_calls_pass_through_unchanged(proxy_url):
    iam = client(proxy_url, "iam", "AKIAPASS")
    iam.create_role(RoleName="passes", AssumeRolePolicyDocument="{}")
    assert iam.get_role(RoleName="passes")["Role"]["RoleName"] == "passes"


@pytest.mark.parametrize(
    ("service", "operation", "call", "code"),
    [
        ("iam", "ListRoles", lambda c: c.list_roles(), "Throttling"),
        ("ssm", "DescribeParameters", lambda c: c.describe_parameters(), "ThrottlingException"),
        ("ec2", "DescribeVpcs", lambda c: c.describe_vpcs(), "RequestLimitExceeded"),
    ],
)
def test_a_throttle_rule_answers_the_services_own_throttling_error_as_often_as_it_says(proxy_url, service, operation, call, code):
    key = f"AKIATHROTTLE{service.upper()}"
    rule = arm(proxy_url, operation=operation, access_key=key, fault="throttle", times=2)
    throttled = client(proxy_url, service, key)
    assert error_code(lambda: call(throttled)) == code
    call(client(proxy_url, service, "AKIAOTHERKEY"))  # another signer is not throttled
    assert error_code(lambda: call(throttled)) == code
    call(throttled)  # the rule took its two calls
    assert control(proxy_url, "GET", f"/{rule}")[1]["hits"] == 2


def test_a_stall_rule_holds_the_call_then_closes_it_unanswered_and_moto_never_sees_it(proxy_url):
    key = "AKIASTALL"
    rule = arm(proxy_url, operation="CreateRole", access_key=key, fault="stall", seconds=1, times=1)
    stalled = client(proxy_url, "iam", key)
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        stalled.create_role(RoleName="stalled", AssumeRolePolicyDocument="{}")
    assert control(proxy_url, "GET", f"/{rule}")[1]["hits"] == 1
    assert error_code(lambda: stalled.get_role(RoleName="stalled")) == "NoSuchEntity"


def test_a_held_call_holds_no_other(proxy_url):
    arm(proxy_url, operation="ListUsers", access_key="AKIAHELD", fault="stall", seconds=5, times=1)
    outcome = {}

    def held_call():
        try:
            client(proxy_url, "iam", "AKIAHELD").list_users()
        except botocore.exceptions.BotoCoreError as error:
            outcome["error"] = error

    held = threading.Thread(target=held_call)
    held.start()
    time.sleep(0.5)
    client(proxy_url, "iam", "AKIAFREE").list_users()
    assert held.is_alive(), "answered while the other call was still held"
    held.join()
    assert "error" in outcome, "the held call was closed unanswered"


def test_rules_are_listed_read_and_removed(proxy_url):
    rule = arm(proxy_url, operation="GetUser", access_key="AKIALIST", fault="throttle")
    assert rule in control(proxy_url, "GET")[1]
    assert control(proxy_url, "DELETE", f"/{rule}")[0] == 204
    assert control(proxy_url, "GET", f"/{rule}")[0] == 404
    client(proxy_url, "iam", "AKIALIST").list_roles()


@pytest.mark.parametrize(
    ("rule", "named"),
    [
        ({"access_key": "A", "fault": "stall"}, "operation"),
        ({"operation": "GetRole", "fault": "stall"}, "access_key"),
        ({"operation": "GetRole", "access_key": "A", "fault": "explode"}, "fault"),
        ({"operation": "GetRole", "access_key": "A", "fault": "stall", "seconds": -1}, "seconds"),
        ({"operation": "GetRole", "access_key": "A", "fault": "stall", "times": 0}, "times"),
        ([], "JSON object"),
    ],
)
def test_a_bad_rule_is_refused_by_name(proxy_url, rule, named):
    status, answer = control(proxy_url, "POST", body=rule)
    assert status == 400
    assert named in answer["error"]
