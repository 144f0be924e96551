"""boto3 against the sandbox CloudWatch and SNS: usage `boto3_cloudwatch.py CW_ENDPOINT SNS_ENDPOINT`.

The caller recorded, in the minute starting at START (epoch seconds, env START), 40 requests,
3 target 5xx and latencies 0.010 .. 0.400 s for load balancer DIMENSION (env DIMENSION). Checks
GetMetricData (sums and p99), alarms (PutMetricAlarm, SetAlarmState, DescribeAlarms with
composite types, errors), and SNS Publish. Exits non-zero on any failure.
"""

import json
import os
import sys
from datetime import datetime, timedelta, timezone

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def client(service, endpoint):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="eu-west-1",
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"max_attempts": 1}),
    )


def check(cond, what):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)


def main():
    cw = client("cloudwatch", sys.argv[1])
    sns = client("sns", sys.argv[2])
    dimension = os.environ["DIMENSION"]
    start = datetime.fromtimestamp(int(os.environ["START"]), tz=timezone.utc)
    dims = [{"Name": "LoadBalancer", "Value": dimension}]

    def query(qid, metric, stat):
        return {
            "Id": qid,
            "MetricStat": {
                "Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": metric, "Dimensions": dims},
                "Period": 60,
                "Stat": stat,
            },
        }

    out = cw.get_metric_data(
        MetricDataQueries=[
            query("requests", "RequestCount", "Sum"),
            query("errors", "HTTPCode_Target_5XX_Count", "Sum"),
            query("latency", "TargetResponseTime", "p99"),
            query("missing", "HTTPCode_ELB_5XX_Count", "Sum"),
        ],
        StartTime=start,
        EndTime=start + timedelta(minutes=1),
        ScanBy="TimestampAscending",
    )
    results = {r["Id"]: r for r in out["MetricDataResults"]}
    check(results["requests"]["Values"] == [40.0], f"requests {results['requests']}")
    check(results["requests"]["Timestamps"] == [start], f"timestamps {results['requests']['Timestamps']}")
    check(results["errors"]["Values"] == [3.0], f"errors {results['errors']}")
    check(abs(results["latency"]["Values"][0] - 0.40) < 1e-9, f"p99 {results['latency']}")
    check(results["missing"]["Values"] == [] and results["missing"]["StatusCode"] == "Complete", "no data")

    try:
        cw.get_metric_data(
            MetricDataQueries=[query("Bad", "RequestCount", "Sum")],
            StartTime=start,
            EndTime=start + timedelta(minutes=1),
        )
        check(False, "an Id starting upper-case is refused")
    except ClientError as e:
        check(e.response["Error"]["Code"] == "ValidationError", f"code {e.response['Error']}")

    cw.put_metric_alarm(
        AlarmName="boto-5xx",
        Namespace="AWS/ApplicationELB",
        MetricName="HTTPCode_Target_5XX_Count",
        Dimensions=dims,
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cw.set_alarm_state(AlarmName="boto-5xx", StateValue="ALARM", StateReason="scripted by boto3")
    alarms = cw.describe_alarms(AlarmNames=["boto-5xx", "nope"], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    check(len(alarms["MetricAlarms"]) == 1, f"one alarm {alarms}")
    alarm = alarms["MetricAlarms"][0]
    check(alarm["StateValue"] == "ALARM", f"state {alarm}")
    check(alarm["StateReason"] == "scripted by boto3", "reason")
    check(alarm["AlarmArn"].startswith("arn:aws:cloudwatch:"), "arn")
    check(alarms["CompositeAlarms"] == [], "no composite")
    try:
        cw.set_alarm_state(AlarmName="nope", StateValue="OK", StateReason="x")
        check(False, "unknown alarm refused")
    except ClientError as e:
        check(e.response["Error"]["Code"] == "ResourceNotFound", f"code {e.response['Error']}")

    topic = sns.create_topic(Name="boto-decisions")["TopicArn"]
    published = sns.publish(
        TopicArn=topic,
        Message=json.dumps({"service": "search", "decision": "rollback"}),
        MessageAttributes={"decision": {"DataType": "String", "StringValue": "rollback"}},
    )
    check(len(published["MessageId"]) > 0, "message id")
    try:
        sns.publish(TopicArn=topic.replace("boto-decisions", "missing"), Message="x")
        check(False, "unknown topic refused")
    except ClientError as e:
        check(e.response["Error"]["Code"] == "NotFound", f"code {e.response['Error']}")
    print("ok")


if __name__ == "__main__":
    main()
