"""Prerequisites of the Rpdk::SCIM::Group contract tests: a connector and two users."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scim_fixture import connector, user  # noqa: E402

run_id = os.environ["RPDK_RUN_ID"]
print(
    json.dumps(
        {
            "Connector": connector(f"cfn-groups-{run_id}"),
            "MemberA": user(f"member-a-{run_id}"),
            "MemberB": user(f"member-b-{run_id}"),
        }
    )
)
