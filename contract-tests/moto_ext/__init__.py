"""Extensions of moto for the local stack, applied on import (see ../moto_server.py).

Each module fixes or adds one thing moto lacks, through moto's own code paths, so that IAM
enforcement and moto's normal request handling still cover it:

- ``signed_body``: signature checks over the body as the client sent it.
- ``endpoint_services``: VPC endpoint services as their provider sees them: connection
  notifications, supported IP address types, private DNS verification, idempotency, filters
  and paging, a state-managed ``ServiceState``, endpoint connections.
- ``load_balancer_arns``: ``net/`` and ``gwy/`` in the ARNs of network and gateway load
  balancers, as AWS writes them.
- ``cloudwatch_cbor``: CloudWatch in the Smithy RPC v2 CBOR protocol, as the AWS SDK for Rust
  calls it, and its actions checked by IAM as ``cloudwatch:*`` (moto used the signing name,
  ``monitoring``).
- ``registry``: CloudFormation's registry of private extensions (``RegisterType`` and what
  follows it, type configurations), which ``cargo rpdk submit`` and the deploy engine call.
"""

from . import cloudwatch_cbor, endpoint_services, load_balancer_arns, registry, signed_body, stack_templates  # noqa: F401
