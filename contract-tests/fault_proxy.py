"""The fault proxy: a mitmproxy addon that stands between the handlers and moto and makes chosen
calls slow or throttled, as a real service sometimes is. No emulator does this on demand, so the
harness owns it; it listens on loopback only and passes every other call through unchanged.

Run by the local stack as
    mitmdump --mode reverse:<moto URL>@<port> --listen-host 127.0.0.1 --set keep_host_header=true -s fault_proxy.py
(keep_host_header: the calls are signed for the proxy's host, which moto checks).

Tests set rules over HTTP on the proxy itself:
    GET    /rpdk-faults/rules        every rule and its hits  -> 200 {"1": {"rule": {...}, "hits": 0}}
    POST   /rpdk-faults/rules        a rule (JSON, below)     -> 201 {"id": "1"}
    GET    /rpdk-faults/rules/<id>   the rule and its hits    -> 200 {"rule": {...}, "hits": 2}
    DELETE /rpdk-faults/rules/<id>                            -> 204

A rule names the calls it takes and what happens to them:
    operation   the AWS operation: the query protocol's Action, X-Amz-Target's operation, or the
                RPC v2 path's last segment (required)
    access_key  only calls signed with this access key id, so tests running at once stay apart
                (required)
    fault       "stall": hold the call `seconds`, then close its connection unanswered (the
                call never reaches moto); "throttle": wait `seconds`, then answer the service's
                throttling error
    seconds     as above (default 0)
    times       how many matching calls the rule takes (default: all)
"""

import asyncio
import itertools
import json
import re
import urllib.parse

from mitmproxy import http

CONTROL = "/rpdk-faults/rules"
FAULTS = ("stall", "throttle")
CREDENTIAL = re.compile(r"Credential=([A-Za-z0-9]+)/[^/]*/[^/]*/([^/]+)/")


def operation_of(request):
    """The AWS operation a request calls, in any protocol the handlers use."""
    target = request.headers.get("x-amz-target")
    if target:
        return target.rsplit(".", 1)[-1]
    if "/operation/" in request.path:
        return request.path.rsplit("/", 1)[-1]
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = urllib.parse.parse_qs(request.get_text(strict=False) or "")
        return (form.get("Action") or [None])[0]
    return None


def signer_of(request):
    """The access key id and the service a request is signed for."""
    found = CREDENTIAL.search(request.headers.get("authorization", ""))
    return (found.group(1), found.group(2)) if found else (None, None)


def throttled(request, service):
    """The throttling error the service answers, in the request's protocol."""
    if request.headers.get("x-amz-target"):
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded (fault proxy)"})
        return http.Response.make(400, body, {"content-type": "application/x-amz-json-1.1"})
    if service == "ec2":
        body = (
            "<Response><Errors><Error><Code>RequestLimitExceeded</Code>"
            "<Message>Request limit exceeded (fault proxy).</Message></Error></Errors>"
            "<RequestID>fault-proxy</RequestID></Response>"
        )
        return http.Response.make(503, body, {"content-type": "text/xml"})
    body = (
        "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
        "<Message>Rate exceeded (fault proxy)</Message></Error>"
        "<RequestId>fault-proxy</RequestId></ErrorResponse>"
    )
    return http.Response.make(400, body, {"content-type": "text/xml"})


def invalid(rule):
    """What is wrong with a rule, or None."""
    if not isinstance(rule, dict):
        return "a rule is a JSON object"
    for field in ("operation", "access_key"):
        if not isinstance(rule.get(field), str) or not rule[field]:
            return f"{field}: required, a string"
    if rule.get("fault") not in FAULTS:
        return f"fault: one of {', '.join(FAULTS)}"
    if not isinstance(rule.get("seconds", 0), (int, float)) or rule.get("seconds", 0) < 0:
        return "seconds: a number, 0 or more"
    times = rule.get("times")
    if times is not None and (not isinstance(times, int) or times < 1):
        return "times: a whole number, 1 or more"
    return None


class FaultProxy:
    def __init__(self):
        self.rules = {}
        self.ids = itertools.count(1)

    async def request(self, flow):
        if flow.request.path.startswith(CONTROL):
            self.control(flow)
            return
        rule = self.take(flow.request)
        if rule is None:
            return
        await asyncio.sleep(rule.get("seconds", 0))
        if rule["fault"] == "stall":
            if flow.killable:
                flow.kill()
        else:
            flow.response = throttled(flow.request, signer_of(flow.request)[1])

    def take(self, request):
        """The first live rule matching the request, with the hit counted."""
        operation = operation_of(request)
        access_key, _ = signer_of(request)
        for entry in self.rules.values():
            rule = entry["rule"]
            if rule["operation"] != operation or rule["access_key"] != access_key:
                continue
            if rule.get("times") is not None and entry["hits"] >= rule["times"]:
                continue
            entry["hits"] += 1
            return rule
        return None

    def control(self, flow):
        request = flow.request
        rule_id = request.path[len(CONTROL):].strip("/")
        if request.method == "POST" and not rule_id:
            try:
                rule = json.loads(request.get_text() or "")
            except ValueError:
                rule = None
            problem = invalid(rule)
            if problem:
                flow.response = http.Response.make(400, json.dumps({"error": problem}), {"content-type": "application/json"})
                return
            rule_id = str(next(self.ids))
            self.rules[rule_id] = {"rule": rule, "hits": 0}
            flow.response = http.Response.make(201, json.dumps({"id": rule_id}), {"content-type": "application/json"})
        elif request.method == "GET" and not rule_id:
            flow.response = http.Response.make(200, json.dumps(self.rules), {"content-type": "application/json"})
        elif request.method == "GET" and rule_id in self.rules:
            flow.response = http.Response.make(200, json.dumps(self.rules[rule_id]), {"content-type": "application/json"})
        elif request.method == "DELETE" and rule_id in self.rules:
            del self.rules[rule_id]
            flow.response = http.Response.make(204)
        else:
            flow.response = http.Response.make(404, json.dumps({"error": f"no rule {rule_id}"}), {"content-type": "application/json"})


addons = [FaultProxy()]
