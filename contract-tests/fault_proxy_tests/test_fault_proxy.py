"""The fault proxy (contract-tests/fault_proxy.py) in front of a moto server of its own and of a
plain HTTP server standing in for a SCIM service (the proxy's routing is under test, not SCIM):
calls pass through unchanged, rules fail exactly the calls they name in each way they say, the
calls of each caller are logged, and bad rules are refused by name."""

import http.client
import json
import os
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


class Upstream(BaseHTTPRequestHandler):
    """Answers every request with its method and path, and keeps them."""

    seen = []

    def answer(self):
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        Upstream.seen.append(f"{self.command} {self.path}")
        body = json.dumps({"method": self.command, "path": self.path}).encode()
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = answer

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def proxies():
    """(the AWS side's URL, the SCIM side's URL) of one proxy."""
    mitmdump = os.environ.get("RPDK_MITMDUMP")
    assert mitmdump, "RPDK_MITMDUMP is unset: these tests run through `cargo rpdk test`"
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    proxy_port, scim_port = free_port(), free_port()
    command = [mitmdump, "--mode", f"reverse:http://{host}:{port}@{proxy_port}",
               "--mode", f"reverse:http://127.0.0.1:{upstream.server_address[1]}@{scim_port}",
               "--listen-host", "127.0.0.1", "--set", "keep_host_header=true", "-q", "-s", str(ADDON)]
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
        yield url, f"http://127.0.0.1:{scim_port}"
    finally:
        proxy.terminate()
        proxy.wait(10)
        upstream.shutdown()
        moto.stop()


@pytest.fixture(scope="module")
def proxy_url(proxies):
    return proxies[0]


@pytest.fixture(scope="module")
def scim_url(proxies):
    return proxies[1]


def client(proxy_url, service, key):
    return boto3.client(service, endpoint_url=proxy_url, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key="secret", config=NO_RETRIES)


def control(proxy_url, method, path="", body=None, under="rules"):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{proxy_url}/rpdk-faults/{under}{path}", data=data, method=method)
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
    rule = arm(proxy_url, operation=operation, caller=key, fault="throttle", times=2)
    throttled = client(proxy_url, service, key)
    assert error_code(lambda: call(throttled)) == code
    call(client(proxy_url, service, "AKIAOTHERKEY"))  # another signer is not throttled
    assert error_code(lambda: call(throttled)) == code
    call(throttled)  # the rule took its two calls
    assert control(proxy_url, "GET", f"/{rule}")[1]["hits"] == 2


def test_a_stall_rule_holds_the_call_then_closes_it_unanswered_and_moto_never_sees_it(proxy_url):
    key = "AKIASTALL"
    rule = arm(proxy_url, operation="CreateRole", caller=key, fault="stall", seconds=1, times=1)
    stalled = client(proxy_url, "iam", key)
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        stalled.create_role(RoleName="stalled", AssumeRolePolicyDocument="{}")
    assert control(proxy_url, "GET", f"/{rule}")[1]["hits"] == 1
    assert error_code(lambda: stalled.get_role(RoleName="stalled")) == "NoSuchEntity"


def test_a_held_call_holds_no_other(proxy_url):
    arm(proxy_url, operation="ListUsers", caller="AKIAHELD", fault="stall", seconds=5, times=1)
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
    rule = arm(proxy_url, operation="GetUser", caller="AKIALIST", fault="throttle")
    assert rule in control(proxy_url, "GET")[1]
    assert control(proxy_url, "DELETE", f"/{rule}")[0] == 204
    assert control(proxy_url, "GET", f"/{rule}")[0] == 404
    client(proxy_url, "iam", "AKIALIST").list_roles()


@pytest.mark.parametrize(
    ("rule", "named"),
    [
        ({"caller": "A", "fault": "stall"}, "operation"),
        ({"operation": "GetRole", "fault": "stall"}, "caller"),
        ({"operation": "GetRole", "caller": "A", "fault": "explode"}, "fault"),
        ({"operation": "GetRole", "caller": "A", "fault": "stall", "seconds": -1}, "seconds"),
        ({"operation": "GetRole", "caller": "A", "fault": "stall", "times": 0}, "times"),
        ({"operation": "GetRole", "caller": "A", "fault": "stall", "skip": -1}, "skip"),
        ({"operation": "GetRole", "caller": "A", "fault": "throttle", "retry_after": "soon"}, "retry_after"),
        ([], "JSON object"),
    ],
)
def test_a_bad_rule_is_refused_by_name(proxy_url, rule, named):
    status, answer = control(proxy_url, "POST", body=rule)
    assert status == 400
    assert named in answer["error"]


@pytest.mark.parametrize(
    ("fault", "code", "status"),
    [("internal", "InternalFailure", 500), ("unavailable", "ServiceUnavailable", 503), ("denied", "AccessDenied", 403)],
)
def test_server_errors_are_answered_in_the_services_protocol(proxy_url, fault, code, status):
    key = f"AKIA{fault.upper()}"
    arm(proxy_url, operation="ListRoles", caller=key, fault=fault, times=1)
    iam = client(proxy_url, "iam", key)
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        iam.list_roles()
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    iam.list_roles()


def test_denied_is_answered_in_each_aws_protocol(proxy_url):
    key = "AKIADENIED"
    arm(proxy_url, operation="DescribeVpcs", caller=key, fault="denied", times=1)
    arm(proxy_url, operation="GetParameter", caller=key, fault="denied", times=1)
    assert error_code(client(proxy_url, "ec2", key).describe_vpcs) == "UnauthorizedOperation"
    assert error_code(lambda: client(proxy_url, "ssm", key).get_parameter(Name="x")) == "AccessDeniedException"


def test_a_rule_for_any_caller_takes_every_callers_calls(proxy_url):
    arm(proxy_url, operation="ListUsers", caller="*", fault="internal", times=2)
    assert error_code(client(proxy_url, "iam", "AKIAFIRST").list_users) == "InternalFailure"
    assert error_code(client(proxy_url, "iam", "AKIASECOND").list_users) == "InternalFailure"
    client(proxy_url, "iam", "AKIATHIRD").list_users()


def test_skip_lets_the_first_calls_through_and_takes_the_nth(proxy_url):
    key = "AKIASKIP"
    arm(proxy_url, operation="ListRoles", caller=key, fault="throttle", skip=2, times=1)
    iam = client(proxy_url, "iam", key)
    iam.list_roles()
    iam.list_roles()
    assert error_code(iam.list_roles) == "Throttling"
    iam.list_roles()


def test_a_reset_call_never_reaches_the_service(proxy_url):
    key = "AKIARESET"
    arm(proxy_url, operation="CreateRole", caller=key, fault="reset", times=1)
    iam = client(proxy_url, "iam", key)
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        iam.create_role(RoleName="reset", AssumeRolePolicyDocument="{}")
    assert error_code(lambda: iam.get_role(RoleName="reset")) == "NoSuchEntity"


def test_a_lost_response_is_closed_unanswered_after_the_service_did_the_work(proxy_url):
    key = "AKIALOSE"
    arm(proxy_url, operation="CreateRole", caller=key, fault="lose", times=1)
    iam = client(proxy_url, "iam", key)
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        iam.create_role(RoleName="lost", AssumeRolePolicyDocument="{}")
    assert iam.get_role(RoleName="lost")["Role"]["RoleName"] == "lost"


def scim_request(url, method, path, headers=None):
    request = urllib.request.Request(f"{url}{path}", data=b"{}" if method != "GET" else None, method=method,
                                     headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_scim_calls_lose_their_scope_and_are_named_by_method_and_path(scim_url, proxy_url):
    status, _, body = scim_request(scim_url, "GET", "/rpdk-scope/s1/v2/Users/abc?attributes=id")
    assert status == 200
    assert json.loads(body)["path"] == "/v2/Users/abc?attributes=id"
    scim_request(scim_url, "POST", "/rpdk-scope/s1/v2/Users")
    scim_request(scim_url, "GET", "/v2/Groups")  # unscoped: passed on, no caller
    calls = control(proxy_url, "GET", "/s1", under="calls")[1]["calls"]
    assert calls == ["GET /v2/Users/{id}", "POST /v2/Users"]
    assert control(proxy_url, "DELETE", "/s1", under="calls")[0] == 204
    assert control(proxy_url, "GET", "/s1", under="calls")[1]["calls"] == []


@pytest.mark.parametrize(
    ("fault", "status", "scim_error"),
    [("throttle", 429, True), ("internal", 500, True), ("unavailable", 503, False), ("denied", 403, True)],
)
def test_scim_faults_answer_as_a_scim_service_or_its_load_balancer_would(scim_url, fault, status, scim_error):
    scope = f"scope-{fault}"
    arm(scim_url, operation="GET /v2/Users/{id}", caller=scope, fault=fault, retry_after=3, times=1)
    answered, headers, body = scim_request(scim_url, "GET", f"/rpdk-scope/{scope}/v2/Users/x")
    assert answered == status
    assert headers.get("retry-after") == "3"
    assert ("urn:ietf:params:scim:api:messages:2.0:Error" in body.decode()) == scim_error
    assert scim_request(scim_url, "GET", f"/rpdk-scope/{scope}/v2/Users/x")[0] == 200


def test_a_lost_scim_response_reached_the_service(scim_url):
    arm(scim_url, operation="POST /v2/Users", caller="scope-lose", fault="lose", times=1)
    Upstream.seen.clear()
    with pytest.raises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
        scim_request(scim_url, "POST", "/rpdk-scope/scope-lose/v2/Users")
    assert Upstream.seen == ["POST /v2/Users"]


def test_the_aws_calls_of_a_signer_are_logged_each_attempt(proxy_url):
    key = "AKIALOGGED"
    arm(proxy_url, operation="ListRoles", caller=key, fault="throttle", times=1)
    iam = client(proxy_url, "iam", key)
    error_code(iam.list_roles)
    iam.list_roles()
    iam.list_users()
    assert control(proxy_url, "GET", f"/{key}", under="calls")[1]["calls"] == ["ListRoles", "ListRoles", "ListUsers"]
