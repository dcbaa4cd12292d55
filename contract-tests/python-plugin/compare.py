"""Rpdk::IAM::CrossAccountRole's READ beside the official Python plugin's: both run as whole
processes behind the same local Lambda runtime API, against the same moto, in one run.

Run by `cargo rpdk bench --beside-python`, which builds the Rust handler for Lambda, starts moto
and `cargo lambda watch --only-lambda-apis`, installs requirements.txt into a virtual environment
of its own and runs this with that environment's Python; the Python handler runs under
bootstrap.py, the runtime loop. Not part of `cargo rpdk test`.

Measured, for each side:
    cold no-op    process start to the answer of a READ without an identifier (NotFound, no AWS call)
    cold READ     process start to the answer of a READ of a real role
    warm READ     one more READ sent to a process already running
    peak RSS      the process's high-water mark (VmHWM) after its cold READ
    bundle        the deployment package, zipped: the Rust bootstrap; the Python handler with
                  cloudformation-cli-python-lib and its dependencies as `pip install --target` lays them
The request is shaped as CloudFormation sends it: primitives as strings, callerCredentials, and a
model of about 3.3 KB (two inline policies, two managed policies, three tags): bench.json of the
type's contract-test fixtures, which `cargo rpdk bench` reads too.
"""

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
import zipfile
from pathlib import Path

import boto3

HERE = Path(__file__).resolve().parent
TYPE_NAME = "Rpdk::IAM::CrossAccountRole"
FUNCTION = "_"
REGION = "us-east-1"
ACCOUNT = "123456789012"
CREDENTIALS = {"accessKeyId": "AKIDBENCHMARK", "secretAccessKey": "bench", "sessionToken": "bench"}


MODEL = HERE.parent / "types" / "rpdk-iam-crossaccountrole" / "bench.json"


def policy_document(actions, resource):
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]}


def stringified(value):
    """Every scalar as a string, as CloudFormation passes template values."""
    if isinstance(value, dict):
        return {key: stringified(item) for key, item in value.items()}
    if isinstance(value, list):
        return [stringified(item) for item in value]
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else str(value)


def model(run_id, managed):
    """The production-shaped model `cargo rpdk bench` also reads (bench.json), its placeholders
    filled and its primitives stringified."""
    text = MODEL.read_text()
    for key, value in (("RunId", run_id), ("PolicyArn", managed[0]), ("SecondPolicyArn", managed[1])):
        text = text.replace("{{" + key + "}}", value)
    return stringified(json.loads(text))


def request(action, properties):
    return {
        "action": action,
        "awsAccountId": ACCOUNT,
        "bearerToken": str(uuid.uuid4()),
        "region": REGION,
        "resourceType": TYPE_NAME,
        "resourceTypeVersion": "00000001",
        "requestData": {
            "callerCredentials": CREDENTIALS,
            "logicalResourceId": "PartnerRole",
            "resourceProperties": properties,
            "systemTags": {"aws:cloudformation:stack-name": "bench"},
        },
        "stackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/bench/{uuid.uuid4()}",
    }


def invoke(api, payload):
    body = json.dumps(payload).encode()
    call = urllib.request.Request(f"{api}/2015-03-31/functions/{FUNCTION}/invocations", data=body, method="POST",
                                  headers={"content-type": "application/json"})
    with urllib.request.urlopen(call, timeout=60) as answer:
        return json.loads(answer.read())


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM")


class Side:
    """One implementation: how to start its process."""

    def __init__(self, name, command, env, cwd=None):
        self.name, self.command, self.env, self.cwd = name, command, env, cwd

    def start(self):
        return subprocess.Popen(self.command, env=self.env, cwd=self.cwd, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)


def stop(process):
    process.kill()
    process.wait()


def cold(side, api, payload, expect):
    """Seconds from process start to the answer, and the peak RSS after it."""
    started = time.perf_counter()
    process = side.start()
    try:
        answer = invoke(api, payload)
        took = time.perf_counter() - started
        peak = peak_rss_kib(process.pid)
    finally:
        stop(process)
    check(side, answer, expect)
    return took, peak


def warm(side, api, payload, expect, runs):
    process = side.start()
    try:
        check(side, invoke(api, payload), expect)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            answer = invoke(api, payload)
            times.append(time.perf_counter() - started)
            check(side, answer, expect)
    finally:
        stop(process)
    return times


def check(side, answer, expect):
    got = answer.get("errorCode") or answer.get("status")
    if got != expect:
        raise SystemExit(f"{side.name} answered {answer}, not {expect}")


def zipped_size(paths):
    """Bytes of a deflated zip of every file under `paths` ((root, prefix) pairs)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for root, prefix in paths:
            root = Path(root)
            files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
            for path in files:
                name = prefix if root.is_file() else f"{prefix}{path.relative_to(root)}"
                archive.write(path, name)
    return buffer.tell()


def python_bundle_size(work):
    target = Path(work) / "bundle"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target",
                    str(target), "-r", str(HERE / "requirements.txt")], check=True)
    kept = [(p, f"{p.name}/") for p in target.iterdir() if p.is_dir()]
    kept += [(p, p.name) for p in target.iterdir() if p.is_file()]
    return zipped_size(kept + [(HERE / "rpdk_role", "rpdk_role/")])


def stats(times):
    ms = sorted(t * 1000 for t in times)
    return f"min {ms[0]:.1f} / median {statistics.median(ms):.1f} / max {ms[-1]:.1f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True, help="the Rust handler built for Lambda")
    parser.add_argument("--runtime-api", required=True, help="the local Lambda runtime API, http://HOST:PORT")
    parser.add_argument("--moto", required=True, help="moto's URL")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    base_env = {"PATH": os.environ.get("PATH", ""), "AWS_ENDPOINT_URL": args.moto, "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION, "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
                "AWS_LAMBDA_FUNCTION_VERSION": "1", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"}
    host = args.runtime_api.removeprefix("http://")
    rust = Side("rpdk-rs", [args.bootstrap], {**base_env, "AWS_LAMBDA_RUNTIME_API": f"{args.runtime_api}/.rt"})
    python = Side("Python plugin", [sys.executable, str(HERE / "bootstrap.py"), "rpdk_role.handlers.resource"],
                  {**base_env, "AWS_LAMBDA_RUNTIME_API": f"{host}/.rt", "PYTHONPATH": str(HERE)}, cwd=HERE)

    iam = boto3.client("iam", endpoint_url=args.moto, region_name=REGION, aws_access_key_id="AKIDBENCHMARK",
                       aws_secret_access_key="bench")
    suffix = uuid.uuid4().hex[:8]
    managed = [iam.create_policy(PolicyName=f"bench-{n}-{suffix}", PolicyDocument=json.dumps(
        policy_document(["s3:ListAllMyBuckets"], "*")))["Policy"]["Arn"] for n in ("audit", "support")]
    desired = model(suffix, managed)
    process = rust.start()
    try:
        check(rust, invoke(args.runtime_api, request("CREATE", desired)), "SUCCESS")
    finally:
        stop(process)

    read = request("READ", desired)
    noop = request("READ", {})
    print(f"request: {len(json.dumps(read))} bytes, the model {len(json.dumps(desired))} bytes")
    results = {}
    for side in (rust, python):
        noops = [cold(side, args.runtime_api, noop, "NotFound") for _ in range(args.runs)]
        reads = [cold(side, args.runtime_api, read, "SUCCESS") for _ in range(args.runs)]
        warms = warm(side, args.runtime_api, read, "SUCCESS", args.runs * 5)
        results[side.name] = {
            "cold no-op": [t for t, _ in noops],
            "cold READ": [t for t, _ in reads],
            "warm READ": warms,
            "peak": max(p for _, p in reads),
        }
        print(f"{side.name}:")
        for key in ("cold no-op", "cold READ", "warm READ"):
            print(f"  {key:<11} {stats(results[side.name][key])} over {len(results[side.name][key])}")
        print(f"  peak RSS    {results[side.name]['peak'] / 1024:.1f} MiB")

    with tempfile.TemporaryDirectory() as work:
        bundles = {"rpdk-rs": zipped_size([(args.bootstrap, "bootstrap")]), "Python plugin": python_bundle_size(work)}
    ours, theirs = results["rpdk-rs"], results["Python plugin"]
    print("Python plugin ÷ rpdk-rs (medians; higher is better for rpdk-rs):")
    for key in ("cold no-op", "cold READ", "warm READ"):
        print(f"  {key:<11} {statistics.median(theirs[key]) / statistics.median(ours[key]):.1f}x")
    print(f"  peak RSS    {theirs['peak'] / ours['peak']:.1f}x ({theirs['peak'] / 1024:.1f} vs {ours['peak'] / 1024:.1f} MiB)")
    print(f"  bundle      {bundles['Python plugin'] / bundles['rpdk-rs']:.1f}x "
          f"({bundles['Python plugin'] / 1e6:.1f} vs {bundles['rpdk-rs'] / 1e6:.1f} MB zipped)")


if __name__ == "__main__":
    main()
