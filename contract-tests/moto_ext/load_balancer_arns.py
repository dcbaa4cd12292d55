"""Load balancer ARNs of the right kind.

moto names every ELBv2 load balancer ``…:loadbalancer/app/<name>/<id>``, whatever its type.
AWS writes ``net/`` for network and ``gwy/`` for gateway load balancers, and the endpoint-service
type refuses a load balancer of the wrong kind by exactly that segment. After moto creates a
load balancer, its ARN is rewritten to AWS's form and re-keyed wherever moto stores it.
"""

from moto.elbv2.models import ELBv2Backend

_SEGMENTS = {"network": "/net/", "gateway": "/gwy/"}
_original_create = ELBv2Backend.create_load_balancer


def _create_with_kind_segment(self, *args, **kwargs):
    balancer = _original_create(self, *args, **kwargs)
    segment = _SEGMENTS.get(balancer.type)
    if segment and ":loadbalancer/app/" in balancer.arn:
        old = balancer.arn
        new = old.replace(":loadbalancer/app/", ":loadbalancer" + segment, 1)
        balancer.arn = new
        self.load_balancers[new] = self.load_balancers.pop(old)
        if old in self.tagging_service.tags:
            self.tagging_service.tags[new] = self.tagging_service.tags.pop(old)
    return balancer


ELBv2Backend.create_load_balancer = _create_with_kind_segment
