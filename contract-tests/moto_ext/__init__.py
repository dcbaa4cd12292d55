"""Extensions of moto for the local stack, applied on import (see ../moto_server.py).

Each module fixes or adds one thing moto lacks, through moto's own code paths, so that IAM
enforcement and moto's normal request handling still cover it:

- ``signed_body``: signature checks over the body as the client sent it.
"""

from . import signed_body  # noqa: F401
