"""The runtime loop of a Python Lambda function, for the comparison: poll the runtime API's next
invocation, call the handler, post its answer, as Lambda's Python runtime does. (Lambda's own
runtime interface client, awslambdaric, never took an invocation from `cargo lambda watch`'s
runtime API here, while a plain poll does; this loop makes the same three calls.)

    python bootstrap.py MODULE.ATTRIBUTE      with AWS_LAMBDA_RUNTIME_API=HOST:PORT[/PATH]
"""

import http.client
import importlib
import json
import os
import sys
import time


class Context:
    """What a handler may ask of the invocation."""

    def __init__(self, request_id, deadline_ms):
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


def main():
    module_name, attribute = sys.argv[1].rsplit(".", 1)
    handler = getattr(importlib.import_module(module_name), attribute)
    host, _, base = os.environ["AWS_LAMBDA_RUNTIME_API"].partition("/")
    base = f"/{base}" if base else ""
    while True:
        connection = http.client.HTTPConnection(host)
        connection.request("GET", f"{base}/2018-06-01/runtime/invocation/next")
        response = connection.getresponse()
        event = json.loads(response.read())
        request_id = response.getheader("Lambda-Runtime-Aws-Request-Id")
        deadline = int(response.getheader("Lambda-Runtime-Deadline-Ms") or 0)
        answer = handler(event, Context(request_id, deadline))
        connection.request("POST", f"{base}/2018-06-01/runtime/invocation/{request_id}/response", json.dumps(answer),
                           {"content-type": "application/json"})
        connection.getresponse().read()
        connection.close()


if __name__ == "__main__":
    main()
