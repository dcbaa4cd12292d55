"""The fault proxy: a mitmproxy addon that stands between the handlers and the services they call
(moto, and scim2-server) and fails chosen calls the ways real services fail: throttled, 500,
503, a reset connection, a stall, or a response lost after the service did the work. No emulator
does this on demand, so the harness owns it; it listens on loopback only and passes every other
call through unchanged.

Run by the local stack with one reverse mode per service:
    mitmdump --mode reverse:<moto URL>@<port> --mode reverse:<scim URL>@<port> --listen-host 127.0.0.1
             --set keep_host_header=true -s fault_proxy.py
(keep_host_header: AWS calls are signed for the proxy's host, which moto checks).

Each call has a caller, which keeps tests running at once apart:
    AWS calls   the access key id they are signed with;
    SCIM calls  a scope: the base URL is `<proxy>/rpdk-scope/<scope>/<the service's path>`, and
                the proxy takes `/rpdk-scope/<scope>` off before passing the call on.
and an operation:
    AWS calls   the query protocol's Action, X-Amz-Target's operation, or the RPC v2 path's last
                segment;
    SCIM calls  the method and the path below the scope, with ids as {id}: `GET /v2/Users/{id}`.

Tests drive it over HTTP on the proxy itself:
    GET    /rpdk-faults/rules          every rule and its hits  -> 200 {"1": {"rule": {...}, "hits": 0}}
    POST   /rpdk-faults/rules          a rule (JSON, below)     -> 201 {"id": "1"}
    GET    /rpdk-faults/rules/<id>     the rule and its hits    -> 200 {"rule": {...}, "hits": 2}
    DELETE /rpdk-faults/rules/<id>                              -> 204
    GET    /rpdk-faults/calls/<caller> the caller's operations, in the order they arrived, each
                                       attempt of a retried call included -> 200 {"calls": [...]}
    DELETE /rpdk-faults/calls/<caller> forgets them             -> 204

A rule names the calls it takes and what happens to them:
    operation    the operation (required)
    caller       the caller (required); "*" takes every caller's calls, for a test that has the
                 stack's calls to itself (a deploy's handlers sign each invocation with a fresh
                 session, so no one key names them)
    fault        "stall": hold the call `seconds`, then close its connection unanswered (the
                 service never sees it); "reset": close it at once, unanswered and unseen;
                 "lose": pass it on, then close the connection instead of answering (the service
                 did the work); "throttle": wait `seconds`, then answer the service's throttling
                 error (HTTP 429 for SCIM); "internal": HTTP 500; "unavailable": HTTP 503
    seconds      as above (default 0)
    retry_after  a Retry-After header (whole seconds) on the answers "throttle", "internal" and
                 "unavailable" give
    skip         how many matching calls pass before the rule takes any (default 0): the Nth
                 call of an operation is skip N-1
    times        how many matching calls the rule takes (default: all)
"""

import asyncio
import itertools
import json
import re
import urllib.parse
from collections import defaultdict

from mitmproxy import http

CONTROL = "/rpdk-faults/"
RULES = "/rpdk-faults/rules"
CALLS = "/rpdk-faults/calls/"
SCOPE = re.compile(r"^/rpdk-scope/([A-Za-z0-9._-]+)(/[^?]*)(\?.*)?$")
FAULTS = ("stall", "reset", "lose", "throttle", "internal", "unavailable", "denied")
ANY_CALLER = "*"
CREDENTIAL = re.compile(r"Credential=([A-Za-z0-9]+)/[^/]*/[^/]*/([^/]+)/")
SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
# The code and HTTP status each service family answers a fault with: (JSON protocols, EC2, IAM).
AWS_ERRORS = {
    "throttle": (("ThrottlingException", 400), ("RequestLimitExceeded", 503), ("Throttling", 400)),
    "internal": (("InternalServerError", 500), ("InternalError", 500), ("InternalFailure", 500)),
    "unavailable": (("ServiceUnavailable", 503), ("Unavailable", 503), ("ServiceUnavailable", 503)),
    "denied": (("AccessDeniedException", 400), ("UnauthorizedOperation", 403), ("AccessDenied", 403)),
}


def scim_call(request):
    """(scope, operation) of a SCIM call through its scope, else None; the scope is taken off."""
    found = SCOPE.match(request.path)
    if not found:
        return None
    scope, path, query = found.group(1), found.group(2), found.group(3) or ""
    request.path = path + query
    segments = path.strip("/").split("/")
    named = segments[:2] + (["{id}"] if len(segments) > 2 else [])
    return scope, f"{request.method} /{'/'.join(named)}"


def aws_operation(request):
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


def aws_error(request, service, fault):
    """The error the service answers for `fault`, in the request's protocol."""
    json_protocol, ec2, query = AWS_ERRORS[fault]
    message = f"{fault} (fault proxy)"
    if request.headers.get("x-amz-target"):
        code, status = json_protocol
        return http.Response.make(status, json.dumps({"__type": code, "message": message}),
                                  {"content-type": "application/x-amz-json-1.1"})
    if service == "ec2":
        code, status = ec2
        body = (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
                "<RequestID>fault-proxy</RequestID></Response>")
        return http.Response.make(status, body, {"content-type": "text/xml"})
    code, status = query
    kind = "Sender" if status < 500 else "Receiver"
    body = (f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>fault-proxy</RequestId></ErrorResponse>")
    return http.Response.make(status, body, {"content-type": "text/xml"})


def scim_error(fault):
    """A SCIM service's answer for `fault`: 429, 500 and 403 as SCIM errors, 503 as a load
    balancer's page in front of it."""
    if fault == "unavailable":
        return http.Response.make(503, "<html><body>503 Service Unavailable</body></html>", {"content-type": "text/html"})
    status = {"throttle": 429, "denied": 403}.get(fault, 500)
    body = json.dumps({"schemas": [SCIM_ERROR], "status": str(status), "detail": f"{fault} (fault proxy)"})
    return http.Response.make(status, body, {"content-type": "application/scim+json"})


def invalid(rule):
    """What is wrong with a rule, or None."""
    if not isinstance(rule, dict):
        return "a rule is a JSON object"
    for field in ("operation", "caller"):
        if not isinstance(rule.get(field), str) or not rule[field]:
            return f"{field}: required, a string"
    if rule.get("fault") not in FAULTS:
        return f"fault: one of {', '.join(FAULTS)}"
    if not isinstance(rule.get("seconds", 0), (int, float)) or rule.get("seconds", 0) < 0:
        return "seconds: a number, 0 or more"
    for field, least in (("retry_after", 0), ("skip", 0), ("times", 1)):
        value = rule.get(field)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < least):
            return f"{field}: a whole number, {least} or more"
    return None


def answer(flow, status, body=None):
    text = "" if body is None else json.dumps(body)
    flow.response = http.Response.make(status, text, {"content-type": "application/json"})


class FaultProxy:
    def __init__(self):
        self.rules = {}
        self.ids = itertools.count(1)
        self.calls = defaultdict(list)

    async def request(self, flow):
        if flow.request.path.startswith(CONTROL):
            self.control(flow)
            return
        scim = scim_call(flow.request)
        if scim:
            (caller, operation), service = scim, None
        else:
            (caller, service), operation = signer_of(flow.request), aws_operation(flow.request)
        if caller is None or operation is None:
            return
        self.calls[caller].append(operation)
        rule = self.take(caller, operation)
        if rule is None:
            return
        fault = rule["fault"]
        await asyncio.sleep(rule.get("seconds", 0) if fault in ("stall", "throttle") else 0)
        if fault in ("stall", "reset"):
            if flow.killable:
                flow.kill()
        elif fault == "lose":
            flow.metadata["rpdk-lose"] = True
        else:
            flow.response = scim_error(fault) if scim else aws_error(flow.request, service, fault)
            if rule.get("retry_after") is not None:
                flow.response.headers["retry-after"] = str(rule["retry_after"])

    def response(self, flow):
        if flow.metadata.get("rpdk-lose") and flow.killable:
            flow.kill()

    def take(self, caller, operation):
        """The first live rule matching the call, with the call counted."""
        for entry in self.rules.values():
            rule = entry["rule"]
            if rule["operation"] != operation or rule["caller"] not in (caller, ANY_CALLER):
                continue
            entry["seen"] += 1
            if entry["seen"] <= rule.get("skip", 0):
                continue
            if rule.get("times") is not None and entry["hits"] >= rule["times"]:
                continue
            entry["hits"] += 1
            return rule
        return None

    def control(self, flow):
        request = flow.request
        if request.path.startswith(CALLS):
            caller = request.path[len(CALLS):]
            if request.method == "GET":
                answer(flow, 200, {"calls": self.calls.get(caller, [])})
            elif request.method == "DELETE":
                self.calls.pop(caller, None)
                answer(flow, 204)
            else:
                answer(flow, 405, {"error": "GET or DELETE"})
            return
        rule_id = request.path[len(RULES):].strip("/") if request.path.startswith(RULES) else None
        if rule_id is None:
            answer(flow, 404, {"error": f"no such control path {request.path}"})
        elif request.method == "POST" and not rule_id:
            try:
                rule = json.loads(request.get_text() or "")
            except ValueError:
                rule = None
            problem = invalid(rule)
            if problem:
                answer(flow, 400, {"error": problem})
                return
            rule_id = str(next(self.ids))
            self.rules[rule_id] = {"rule": rule, "hits": 0, "seen": 0}
            answer(flow, 201, {"id": rule_id})
        elif request.method == "GET" and not rule_id:
            answer(flow, 200, self.rules)
        elif request.method == "GET" and rule_id in self.rules:
            answer(flow, 200, self.rules[rule_id])
        elif request.method == "DELETE" and rule_id in self.rules:
            del self.rules[rule_id]
            answer(flow, 204)
        else:
            answer(flow, 404, {"error": f"no rule {rule_id}"})


addons = [FaultProxy()]
