"""Prerequisites of the Rpdk::SCIM::User contract tests: a connector, and a manager."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scim_fixture import connector, user  # noqa: E402

run_id = os.environ["RPDK_RUN_ID"]
print(json.dumps({"Connector": connector(f"cfn-users-{run_id}"), "ManagerId": user(f"manager-{run_id}")}))
