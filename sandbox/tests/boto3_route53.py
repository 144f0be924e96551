"""boto3 against the sandbox Route53: usage `boto3_route53.py ENDPOINT`.

Checks a weighted alias + TXT round trip, a compare-and-swap DELETE failure, and a listing whose
page ends inside a weighted group (all three tokens passed back). Exits non-zero on any failure.
The caller registers LB_NAME as a load balancer under ALB_ZONE before running this.
"""

import os
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

LB_NAME = "boto-lb-1.us-east-1.elb.amazonaws.com"
ALB_ZONE = "Z35SXDOTRQ7X7K"
HOST = "app.boto.example.com."
TXT_VALUE = '"heritage=external-dns,external-dns/owner=blue,external-dns/resource=ingress/default/app"'


def client_for(endpoint):
    return boto3.client(
        "route53",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "AKIASANDBOXEXAMPLE01"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "not-a-real-secret"),
        config=Config(retries={"max_attempts": 1}),
    )


def weighted_alias(set_id, weight):
    return {
        "Name": HOST,
        "Type": "A",
        "SetIdentifier": set_id,
        "Weight": weight,
        "AliasTarget": {
            "HostedZoneId": ALB_ZONE,
            "DNSName": LB_NAME,
            "EvaluateTargetHealth": True,
        },
    }


def txt_record():
    return {
        "Name": "a-app.boto.example.com.",
        "Type": "TXT",
        "SetIdentifier": "blue",
        "Weight": 100,
        "TTL": 300,
        "ResourceRecords": [{"Value": TXT_VALUE}],
    }


def change(client, zone_id, changes):
    return client.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={"Comment": "boto3 check", "Changes": changes},
    )


def expect(condition, what):
    if not condition:
        raise AssertionError(what)


def round_trip(client, zone_id):
    answer = change(
        client,
        zone_id,
        [
            {"Action": "CREATE", "ResourceRecordSet": weighted_alias("blue", 100)},
            {"Action": "CREATE", "ResourceRecordSet": txt_record()},
        ],
    )
    info = answer["ChangeInfo"]
    expect(info["Id"].startswith("/change/C"), f"change id {info['Id']}")
    expect(info["Status"] == "PENDING", f"status {info['Status']}")
    got = client.get_change(Id=info["Id"])["ChangeInfo"]
    expect(got["Id"] == info["Id"], "GetChange id")

    records = client.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    by_key = {(r["Name"], r["Type"]): r for r in records}
    alias = by_key[(HOST, "A")]
    expect(alias["Weight"] == 100 and alias["SetIdentifier"] == "blue", f"alias {alias}")
    expect(alias["AliasTarget"]["DNSName"] == LB_NAME + ".", f"alias target {alias}")
    expect(alias["AliasTarget"]["HostedZoneId"] == ALB_ZONE, f"alias zone {alias}")
    expect(alias["AliasTarget"]["EvaluateTargetHealth"] is True, f"eth {alias}")
    expect("TTL" not in alias, f"alias has no TTL {alias}")
    txt = by_key[("a-app.boto.example.com.", "TXT")]
    expect(txt["ResourceRecords"] == [{"Value": TXT_VALUE}], f"txt {txt}")
    expect(txt["TTL"] == 300, f"txt ttl {txt}")
    return alias


def compare_and_swap_failure(client, zone_id, current):
    stale = dict(current)
    stale["Weight"] = 50
    try:
        change(
            client,
            zone_id,
            [
                {"Action": "DELETE", "ResourceRecordSet": stale},
                {"Action": "CREATE", "ResourceRecordSet": weighted_alias("blue", 10)},
            ],
        )
    except ClientError as err:
        error = err.response["Error"]
        expect(err.response["ResponseMetadata"]["HTTPStatusCode"] == 400, "status 400")
        expect(error["Code"] == "InvalidChangeBatch", f"code {error}")
        expected = (
            "[Tried to delete resource record set [name='app.boto.example.com.', type='A', "
            "set-identifier='blue'] but the values provided do not match the current values, "
            "Tried to create resource record set [name='app.boto.example.com.', type='A', "
            "set-identifier='blue'] but it already exists]"
        )
        expect(error["Message"] == expected, f"message {error['Message']!r}")
    else:
        raise AssertionError("a stale DELETE must fail")
    # The exact current values swap.
    change(
        client,
        zone_id,
        [
            {"Action": "DELETE", "ResourceRecordSet": current},
            {"Action": "CREATE", "ResourceRecordSet": weighted_alias("blue", 10)},
        ],
    )


def paging_inside_a_weighted_group(client, zone_id):
    ids = ["green", "red", "teal", "violet"]
    change(
        client,
        zone_id,
        [{"Action": "CREATE", "ResourceRecordSet": weighted_alias(i, 1)} for i in ids],
    )
    everything = client.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    expected = [(r["Name"], r["Type"], r.get("SetIdentifier")) for r in everything]
    # NS, SOA, then app A blue, green, red, teal, violet: a page of 4 ends inside the group.
    pages = []
    kwargs = {"HostedZoneId": zone_id, "MaxItems": "4"}
    saw_identifier = False
    while True:
        page = client.list_resource_record_sets(**kwargs)
        pages.extend(page["ResourceRecordSets"])
        if not page["IsTruncated"]:
            break
        if "NextRecordIdentifier" in page:
            saw_identifier = True
        kwargs = {
            "HostedZoneId": zone_id,
            "MaxItems": "4",
            "StartRecordName": page["NextRecordName"],
            "StartRecordType": page["NextRecordType"],
        }
        if "NextRecordIdentifier" in page:
            kwargs["StartRecordIdentifier"] = page["NextRecordIdentifier"]
    got = [(r["Name"], r["Type"], r.get("SetIdentifier")) for r in pages]
    expect(saw_identifier, "a page must end inside the weighted group")
    expect(got == expected, f"paged {got} != {expected}")
    group = [r[2] for r in got if r[0] == HOST]
    expect(group == sorted(group), f"stable order inside the group {group}")


def main():
    endpoint = sys.argv[1]
    client = client_for(endpoint)
    zone = client.create_hosted_zone(Name="boto.example.com", CallerReference="boto3-check")
    zone_id = zone["HostedZone"]["Id"]
    current = round_trip(client, zone_id)
    compare_and_swap_failure(client, zone_id, current)
    paging_inside_a_weighted_group(client, zone_id)
    print("boto3 route53 checks passed")


if __name__ == "__main__":
    main()
