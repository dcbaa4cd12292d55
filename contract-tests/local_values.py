"""The local stack's own infrastructure, made in moto once it starts, for templates to find
where a real account keeps it: a network load balancer, and the identity provider's
coordinates (scim2-server's URL and this run's bearer token).

- SSM parameter /rpdk/local/network-load-balancer-arn: an internal network load balancer
  (in a VPC with two subnets);
- SSM parameter /rpdk/local/scim-url: the SCIM 2.0 base URL;
- Secrets Manager secret rpdk/local/scim-token: the bearer token.

examples/partner-onboarding.yaml reads them through dynamic references.
"""

import os

import boto3

endpoint = os.environ["RPDK_MOTO_URL"]
ec2 = boto3.client("ec2", endpoint_url=endpoint)
elbv2 = boto3.client("elbv2", endpoint_url=endpoint)
ssm = boto3.client("ssm", endpoint_url=endpoint)
secrets = boto3.client("secretsmanager", endpoint_url=endpoint)

vpc = ec2.create_vpc(CidrBlock="10.90.0.0/16")["Vpc"]["VpcId"]
subnets = [
    ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
    for cidr, zone in [("10.90.1.0/24", "us-east-1a"), ("10.90.2.0/24", "us-east-1b")]
]
balancer = elbv2.create_load_balancer(
    Name="rpdk-local-nlb", Subnets=subnets, Type="network", Scheme="internal"
)["LoadBalancers"][0]["LoadBalancerArn"]

ssm.put_parameter(Name="/rpdk/local/network-load-balancer-arn", Value=balancer, Type="String")
ssm.put_parameter(Name="/rpdk/local/scim-url", Value=os.environ["RPDK_SCIM_URL"], Type="String")
secrets.create_secret(Name="rpdk/local/scim-token", SecretString=os.environ["RPDK_SCIM_TOKEN"])
