"""Signature checks over the request body as the client sent it.

With IAM enforcement on, moto recomputes each request's SigV4 signature. For a form-encoded
query-protocol call (IAM, STS, EC2, ...) werkzeug has already consumed the body while parsing
the form, so moto re-encodes the parsed fields instead, the way botocore encodes them (a
space as ``+``). A client that encodes differently, as the AWS SDK for Rust does (a space as
``%20``), then fails with ``SignatureDoesNotMatch`` on any parameter holding a space, e.g. a
role description. Caching the raw body when the request is built keeps it available: werkzeug
parses the form from that cache, and moto's ``raw_body`` is then the bytes that were signed.
The cache replaces the WSGI input too, since some of moto's own endpoints read that directly
(``/moto-api/state-manager/set-transition``), and would otherwise wait for bytes already read.
"""

import io

from moto.core import request

_original_init = request.Request.__init__


def _init_keeping_the_raw_body(self, *args, **kwargs):
    _original_init(self, *args, **kwargs)
    self.environ["wsgi.input"] = io.BytesIO(self.get_data(cache=True, parse_form_data=False))


request.Request.__init__ = _init_keeping_the_raw_body
