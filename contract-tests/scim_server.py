"""scim2-server with its bearer token read from ``RPDK_SCIM_TOKEN`` instead of the command line,
where any user of the machine could read it (``ps``). Takes scim2-server's other arguments."""

import os
import sys

from scim2_server.testserver.cli import main

if __name__ == "__main__":
    token = os.environ.pop("RPDK_SCIM_TOKEN")
    # In-process only: /proc/<pid>/cmdline keeps the arguments the process started with.
    sys.argv = ["scim2-server", *sys.argv[1:], "--bearer-token", token]
    sys.exit(main())
