"""Prerequisites of the Rpdk::EC2::PrivateLinkService contract tests, made in moto: a VPC
with two subnets (consumers' endpoints use them too), two network load balancers, a
dual-stack one, two gateway load balancers, and two SNS topics.

Prints the placeholder values the inputs use, as a JSON object.
"""

import json
import os

import boto3

endpoint = os.environ["RPDK_MOTO_URL"]
run_id = os.environ["RPDK_RUN_ID"]
ec2 = boto3.client("ec2", endpoint_url=endpoint)
elbv2 = boto3.client("elbv2", endpoint_url=endpoint)
sns = boto3.client("sns", endpoint_url=endpoint)

vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16", AmazonProvidedIpv6CidrBlock=True)["Vpc"]["VpcId"]
subnets = [
    ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
    for cidr, zone in [("10.40.1.0/24", "us-east-1a"), ("10.40.2.0/24", "us-east-1b")]
]


def balancer(name, ip_address_type="ipv4"):
    created = elbv2.create_load_balancer(
        Name=f"{name}-{run_id}",
        Subnets=subnets,
        Type="network",
        Scheme="internal",
        IpAddressType=ip_address_type,
    )
    return created["LoadBalancers"][0]["LoadBalancerArn"]


def gateway(name):
    created = elbv2.create_load_balancer(Name=f"{name}-{run_id}", Subnets=subnets, Type="gateway")
    return created["LoadBalancers"][0]["LoadBalancerArn"]


print(
    json.dumps(
        {
            "VpcId": vpc,
            "SubnetId": subnets[0],
            "NetworkLoadBalancerArn": balancer("rpdk-nlb-a"),
            "SecondNetworkLoadBalancerArn": balancer("rpdk-nlb-b"),
            "DualStackLoadBalancerArn": balancer("rpdk-nlb-ds", "dualstack"),
            "GatewayLoadBalancerArn": gateway("rpdk-gwlb-a"),
            "SecondGatewayLoadBalancerArn": gateway("rpdk-gwlb-b"),
            "TopicArn": sns.create_topic(Name=f"rpdk-endpoint-events-{run_id}")["TopicArn"],
            "SecondTopicArn": sns.create_topic(Name=f"rpdk-endpoint-audit-{run_id}")["TopicArn"],
        }
    )
)
