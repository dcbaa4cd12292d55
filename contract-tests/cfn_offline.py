"""Run the ``cfn`` CLI (cloudformation-cli) offline, against a local moto server.

Usage: <cfn-venv>/bin/python contract-tests/cfn_offline.py <cfn arguments>
       e.g. RPDK_MOTO_URL=http://127.0.0.1:PORT ... cfn_offline.py test --endpoint ...

``cfn test`` calls STS (GetSessionToken or AssumeRole, then GetCallerIdentity) through
``rpdk.core.boto_helpers``, which passes an explicit endpoint built from botocore's
endpoint table (``https://sts.<region>.amazonaws.com``), so ``AWS_ENDPOINT_URL`` never
reaches those calls. This wrapper replaces ``boto_helpers.get_service_endpoint`` with one
that returns ``$RPDK_MOTO_URL``, then runs ``rpdk.core.cli.main``. ``get_temporary_credentials``
and ``get_account`` look the function up in their module at call time, so the patch covers
every STS client ``cfn test`` builds. (The only other importer, ``rpdk.core.rqts``, serves
``cfn test --v2``, which needs Docker and is not used here.)

``AWS_ENDPOINT_URL`` defaults to the same URL, so any client built without an explicit
endpoint (CloudFormation ListExports for ``{{export}}`` placeholders in inputs) also stays
local. The Lambda client keeps the URL given by ``cfn test --endpoint``.
"""

import os
import sys

from rpdk.core import boto_helpers
from rpdk.core.cli import main

ENV_VAR = "RPDK_MOTO_URL"


def _offline(moto_url):
    if not hasattr(boto_helpers, "get_service_endpoint"):
        raise SystemExit(
            "cfn_offline: rpdk.core.boto_helpers.get_service_endpoint is gone; "
            "this cloudformation-cli version needs a new patch"
        )

    def get_service_endpoint(service, region):  # same signature as the original
        return moto_url

    boto_helpers.get_service_endpoint = get_service_endpoint
    os.environ.setdefault("AWS_ENDPOINT_URL", moto_url)


if __name__ == "__main__":
    url = os.environ.get(ENV_VAR)
    if not url:
        raise SystemExit(f"cfn_offline: set {ENV_VAR} to the moto server URL")
    _offline(url)
    sys.argv[0] = "cfn"
    sys.exit(main())
