#!/usr/bin/env python3
"""Checks /_photopipe/faults (photopipe_localstack/faults.py) against a LocalStack.

    python faults_check.py --endpoint http://127.0.0.1:4566 [--jpeg small.jpg]

1. The interface: GET, a bad rule refused with 400, DELETE.
2. The wire format: a throttled DynamoDB PutItem and Rekognition DetectLabels, as raw
   HTTP, and that the failed PutItem stored nothing.
3. Counting under threads: a rule with times=50 and 200 concurrent GetItems fails
   exactly 50 of them.
4. Step Functions: dynamodb:putItem and aws-sdk:rekognition:detectLabels tasks, each
   throttled twice, retry (IntervalSeconds 1, MaxAttempts 3) and succeed; prints the
   history.

Needs only boto3 (in LocalStack's lock). Exits 1 on any failed check.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import sys
import time
import urllib.error
import urllib.request
import uuid

import boto3
from botocore.config import Config

FAULTS = "/_photopipe/faults"
TABLE = "photopipe-faults-check"
BUCKET = "photopipe-faults-check"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                 "Principal": {"Service": "states.amazonaws.com"}}]}
RETRY = {"IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2}

passed: list[str] = []
failures: list[str] = []


def check(ok: bool, what: str) -> None:
    print(("ok   " if ok else "FAIL ") + what)
    (passed if ok else failures).append(what)


def http(endpoint: str, method: str, path: str, body: object = None, headers: dict | None = None,
         raw: bytes | None = None) -> tuple[int, dict, bytes]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(endpoint + path, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def faults(endpoint: str, method: str, rules: list | None = None) -> tuple[int, dict]:
    status, _, body = http(endpoint, method, FAULTS, None if rules is None else {"rules": rules})
    return status, json.loads(body)


def aws_json(endpoint: str, service: str, target: str, version: str, payload: dict) -> tuple[int, dict, bytes]:
    # Unsigned but with an Authorization header, from which LocalStack takes region and account.
    auth = (f"AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/{service}/aws4_request, "
            "SignedHeaders=host, Signature=0")
    return http(endpoint, "POST", "/", raw=json.dumps(payload).encode(), headers={
        "Content-Type": f"application/x-amz-json-{version}", "X-Amz-Target": target, "Authorization": auth})


def interface(endpoint: str) -> None:
    check(faults(endpoint, "DELETE") == (200, {"rules": []}), "DELETE clears the rules")
    status, body = faults(endpoint, "POST", [{"service": "dynamodb", "operation": "PutItme",
                                              "error": "X", "times": 1}])
    check(status == 400 and "PutItme" in body.get("error", ""), f"a misspelt operation is refused: {body}")
    status, body = faults(endpoint, "POST", [{"service": "dynamodb", "operation": "putItem",
                                              "error": "ProvisionedThroughputExceededException", "times": 2}])
    check(status == 200 and body["rules"][0]["operation"] == "PutItem", f"POST: {body}")
    check(faults(endpoint, "GET")[1] == body, "GET returns what POST set")


def wire_format(endpoint: str, ddb) -> None:
    faults(endpoint, "POST", [
        {"service": "dynamodb", "operation": "PutItem", "error": "ProvisionedThroughputExceededException", "times": 1},
        {"service": "rekognition", "error": "ThrottlingException", "times": 1},
    ])
    status, headers, body = aws_json(endpoint, "dynamodb", "DynamoDB_20120810.PutItem", "1.0",
                                     {"TableName": TABLE, "Item": {"pk": {"S": "wire"}}})
    print(f"     DynamoDB PutItem: {status} {body.decode()}")
    check(status == 400 and json.loads(body)["__type"]
          == "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException", "DynamoDB error (JSON 1.0)")
    check("Item" not in ddb.get_item(TableName=TABLE, Key={"pk": {"S": "wire"}}), "the failed PutItem stored nothing")
    status, _, body = aws_json(endpoint, "rekognition", "RekognitionService.DetectLabels", "1.1",
                               {"Image": {"S3Object": {"Bucket": BUCKET, "Name": "a.jpg"}}})
    print(f"     Rekognition DetectLabels: {status} {body.decode()}")
    check(status == 400 and json.loads(body)["__type"] == "ThrottlingException", "Rekognition error (JSON 1.1)")
    rules = faults(endpoint, "GET")[1]["rules"]
    check([(r["remaining"], r["injected"]) for r in rules] == [(0, 1), (0, 1)], f"counts: {rules}")


def counting(endpoint: str, session) -> None:
    faults(endpoint, "POST", [{"service": "dynamodb", "operation": "GetItem",
                               "error": "ProvisionedThroughputExceededException", "times": 50}])
    ddb = session.client("dynamodb", endpoint_url=endpoint,
                         config=Config(retries={"total_max_attempts": 1}, max_pool_connections=50))

    def get(_):
        try:
            ddb.get_item(TableName=TABLE, Key={"pk": {"S": "x"}})
            return "ok"
        except ddb.exceptions.ProvisionedThroughputExceededException:
            return "throttled"

    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        results = list(pool.map(get, range(200)))
    check(results.count("throttled") == 50 and results.count("ok") == 150,
          f"200 concurrent GetItems, times=50: {results.count('throttled')} throttled, {results.count('ok')} ok")
    faults(endpoint, "DELETE")


def step_functions(endpoint: str, session) -> None:
    sfn = session.client("stepfunctions", endpoint_url=endpoint)
    iam = session.client("iam", endpoint_url=endpoint)
    role = iam.create_role(RoleName=f"faults-check-{uuid.uuid4().hex[:8]}",
                           AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    definition = {
        "StartAt": "StoreMetadata",
        "States": {
            "StoreMetadata": {
                "Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {"TableName": TABLE, "Item": {"pk": {"S.$": "$.key"}}},
                "Retry": [{"ErrorEquals": ["DynamoDB.ProvisionedThroughputExceededException"], **RETRY}],
                "ResultPath": None, "Next": "DetectLabels",
            },
            "DetectLabels": {
                "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:rekognition:detectLabels",
                "Parameters": {"Image": {"S3Object": {"Bucket": BUCKET, "Name.$": "$.key"}}, "MaxLabels": 5},
                "Retry": [{"ErrorEquals": ["Rekognition.ThrottlingException"], **RETRY}],
                "ResultSelector": {"labels.$": "$.Labels[*].Name"}, "End": True,
            },
        },
    }
    arn = sfn.create_state_machine(name=f"faults-check-{uuid.uuid4().hex[:8]}", roleArn=role,
                                   definition=json.dumps(definition))["stateMachineArn"]
    faults(endpoint, "POST", [
        {"service": "dynamodb", "operation": "PutItem", "error": "ProvisionedThroughputExceededException", "times": 2},
        {"service": "rekognition", "operation": "DetectLabels", "error": "ThrottlingException", "times": 2},
    ])
    started = time.monotonic()
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"key": "incoming/a.jpg"}))["executionArn"]
    while (d := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        if time.monotonic() - started > 60:
            break
        time.sleep(0.2)
    print(f"     execution {d['status']} in {time.monotonic() - started:.1f} s, output {d.get('output')}")
    check(d["status"] == "SUCCEEDED", "the execution succeeded")

    events = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    t0 = events[0]["timestamp"]
    seen: list[tuple[str, str]] = []
    for e in events:
        details = (e.get("taskFailedEventDetails") or e.get("taskScheduledEventDetails")
                   or e.get("stateEnteredEventDetails") or {})
        what = details.get("error") or details.get("resource") or details.get("name") or ""
        extra = f" cause={details['cause']!r}" if "cause" in details else ""
        print(f"     {(e['timestamp'] - t0).total_seconds():6.2f}s {e['id']:3} {e['type']:<22} {what}{extra}")
        if e["type"] in ("TaskFailed", "TaskSucceeded"):
            seen.append((e["type"], details.get("error", "")))
    want = [("TaskFailed", "DynamoDB.ProvisionedThroughputExceededException")] * 2 + [("TaskSucceeded", "")] \
        + [("TaskFailed", "Rekognition.ThrottlingException")] * 2 + [("TaskSucceeded", "")]
    check(seen == want, "each task failed twice with the injected error, then succeeded")
    rules = faults(endpoint, "GET")[1]["rules"]
    check([r["injected"] for r in rules] == [2, 2], f"injected counts {[r['injected'] for r in rules]}")
    faults(endpoint, "DELETE")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint", default="http://127.0.0.1:4566")
    p.add_argument("--jpeg", help="a small JPEG to put at s3://BUCKET/incoming/a.jpg")
    args = p.parse_args()
    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    ddb = session.client("dynamodb", endpoint_url=args.endpoint, config=Config(retries={"total_max_attempts": 1}))
    s3 = session.client("s3", endpoint_url=args.endpoint)
    ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    s3.create_bucket(Bucket=BUCKET)
    if args.jpeg:  # moto's DetectLabels never reads it (README), but the pipeline has one
        with open(args.jpeg, "rb") as f:
            s3.put_object(Bucket=BUCKET, Key="incoming/a.jpg", Body=f.read(), ContentType="image/jpeg")
    try:
        interface(args.endpoint)
        wire_format(args.endpoint, ddb)
        counting(args.endpoint, session)
        step_functions(args.endpoint, session)
    finally:
        faults(args.endpoint, "DELETE")
        ddb.delete_table(TableName=TABLE)
    print(f"{len(passed)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
