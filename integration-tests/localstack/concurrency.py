"""Concurrency check for LocalStack with the photopipe plugins (issue 10).

    python concurrency.py --endpoint http://127.0.0.1:4566

Three phases; in each, many threads start at the same moment (a barrier):

ddb   THREADS threads x ROUNDS rounds. Each round all threads first race a
      conditional PutItem (attribute_not_exists) on one key: exactly one must win.
      Then each thread does PutItem (condition) on its own item, UpdateItem SET
      (condition), UpdateItem ADD (condition), UpdateItem ADD on an item every thread
      shares, and GetItem (ConsistentRead), checking the item. The shared counters
      must add up to THREADS x ROUNDS: a lost update is a failure.
sfn   EXECUTIONS executions at once of a JSONPath state machine shaped like
      photopipe's: dynamodb:putItem (StoreMetadata's eleven paths) -> updateItem ->
      updateItem (a shared counter) -> aws-sdk:rekognition:detectLabels, every task
      with TimeoutSeconds 10 as in the pipeline. Failed executions are grouped by
      state, error, cause and time in the state; the items and the counter are
      checked.
pass  as many executions of a machine of four Pass states: Step Functions alone.

Prints counts, durations and executions/s (from LocalStack's own start and stop
times), and exits 1 on any error, failed execution or wrong item, 2 if --max-seconds
pass first. Needs only boto3 (in the LocalStack lock). What it creates has a random
suffix and is deleted at the end.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

REGION = "us-east-1"


def client(service: str, endpoint: str, pool: int):
    # No retries: a retried error would hide exactly what this script looks for.
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(
            max_pool_connections=pool,
            retries={"total_max_attempts": 1},
            # LocalStack's server listens with a backlog of 50: of 200 connections
            # opened at once some wait for SYN retransmits (1 s, 3 s, 7 s, ...).
            connect_timeout=60,
            read_timeout=120,
        ),
    )


def error_name(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return f"{err.get('Code')} (HTTP {status}): {err.get('Message', '')[:160]}"
    return f"{type(exc).__name__}: {str(exc)[:160]}"


def run_together(n: int, fn) -> list:
    """Run fn(i) for i in range(n) in n threads released at the same moment."""
    barrier = threading.Barrier(n, timeout=120)

    def wrapped(i: int):
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(wrapped, range(n)))


def create_table(ddb, name: str) -> None:
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
    )
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})


def shared_counter(ddb, table: str, key: str) -> int:
    item = ddb.get_item(TableName=table, Key={"key": {"S": key}}, ConsistentRead=True).get("Item")
    return int(item["n"]["N"]) if item else 0


def phase_ddb(args, ddb, table: str) -> bool:
    errors: collections.Counter[str] = collections.Counter()
    winners: collections.Counter[int] = collections.Counter()
    lock = threading.Lock()
    rendezvous = threading.Barrier(args.threads, timeout=120)

    def count(name: str) -> None:
        with lock:
            errors[name] += 1

    def worker(i: int) -> None:
        for r in range(args.rounds):
            key = {"key": {"S": f"t{i}-r{r}"}}
            # Every thread at once: a conditional put on one key has exactly one winner.
            rendezvous.wait()
            try:
                ddb.put_item(
                    TableName=table,
                    Item={"key": {"S": f"race-r{r}"}, "winner": {"N": str(i)}},
                    ConditionExpression="attribute_not_exists(#k)",
                    ExpressionAttributeNames={"#k": "key"},
                )
                with lock:
                    winners[r] += 1
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    count(error_name(exc))
            except Exception as exc:  # noqa: BLE001 - everything counts as an error here
                count(error_name(exc))
            steps = [
                lambda: ddb.put_item(
                    TableName=table,
                    Item={**key, "stage": {"S": "put"}, "owner": {"N": str(i)}},
                    ConditionExpression="attribute_not_exists(#k)",
                    ExpressionAttributeNames={"#k": "key"},
                ),
                lambda: ddb.update_item(
                    TableName=table,
                    Key=key,
                    UpdateExpression="SET #s = :s",
                    ConditionExpression="attribute_exists(#k) AND #s = :put",
                    ExpressionAttributeNames={"#k": "key", "#s": "stage"},
                    ExpressionAttributeValues={":s": {"S": "updated"}, ":put": {"S": "put"}},
                ),
                lambda: ddb.update_item(
                    TableName=table,
                    Key=key,
                    UpdateExpression="ADD #n :one",
                    ConditionExpression="attribute_exists(#k)",
                    ExpressionAttributeNames={"#k": "key", "#n": "n"},
                    ExpressionAttributeValues={":one": {"N": "1"}},
                ),
                lambda: ddb.update_item(
                    TableName=table,
                    Key={"key": {"S": f"shared-r{r % 2}"}},
                    UpdateExpression="ADD #n :one SET #s = :s",
                    ExpressionAttributeNames={"#n": "n", "#s": "stage"},
                    ExpressionAttributeValues={":one": {"N": "1"}, ":s": {"S": f"t{i}"}},
                ),
            ]
            for step in steps:
                try:
                    step()
                except Exception as exc:  # noqa: BLE001
                    count(error_name(exc))
            try:
                got = ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
                want = {"stage": {"S": "updated"}, "n": {"N": "1"}, "owner": {"N": str(i)}}
                if got is None or any(got.get(k) != v for k, v in want.items()):
                    count(f"GetItem: unexpected item {json.dumps(got)[:160]}")
            except Exception as exc:  # noqa: BLE001
                count(error_name(exc))

    calls = args.threads * args.rounds * 6
    t0 = time.monotonic()
    run_together(args.threads, worker)
    elapsed = time.monotonic() - t0
    total = shared_counter(ddb, table, "shared-r0") + shared_counter(ddb, table, "shared-r1")
    want = args.threads * args.rounds
    failed = sum(errors.values())
    bad_races = {r: n for r, n in sorted(winners.items()) if n != 1}
    bad_races.update({r: 0 for r in range(args.rounds) if r not in winners})
    print(
        f"ddb: {args.threads} threads x {args.rounds} rounds = {calls} calls in {elapsed:.1f} s "
        f"({calls / elapsed:.0f} calls/s), {failed} errors; shared counters {total} (want {want}); "
        f"conditional-put races with other than one winner: {len(bad_races)} of {args.rounds}"
        + (f" {bad_races}" if bad_races else "")
    )
    for name, n in errors.most_common():
        print(f"  {n:5d}  {name}")
    return failed == 0 and total == want and not bad_races


PIPELINE = {
    "Comment": "issue 10: DynamoDB and Rekognition tasks under concurrency",
    "StartAt": "StoreMetadata",
    "States": {
        "StoreMetadata": {
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {
                "TableName": "TABLE",
                # The shape of photopipe's StoreMetadata: eleven paths to evaluate.
                "Item": {
                    "key": {"S.$": "$.key"},
                    "bucket": {"S.$": "$.bucket"},
                    "stage": {"S": "stored"},
                    "format": {"S.$": "$.metadata.format"},
                    "width": {"N.$": "States.JsonToString($.metadata.width)"},
                    "height": {"N.$": "States.JsonToString($.metadata.height)"},
                    "size": {"N.$": "States.JsonToString($.metadata.size)"},
                    "contentType": {"S.$": "$.metadata.contentType"},
                    "exif": {"S.$": "States.JsonToString($.metadata.exif)"},
                    "uploadedAt": {"S.$": "$$.Execution.StartTime"},
                    "executionArn": {"S.$": "$$.Execution.Id"},
                },
                "ConditionExpression": "attribute_not_exists(#k)",
                "ExpressionAttributeNames": {"#k": "key"},
            },
            "ResultPath": None,
            "TimeoutSeconds": 10,
            "Next": "MarkDone",
        },
        "MarkDone": {
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:updateItem",
            "Parameters": {
                "TableName": "TABLE",
                "Key": {"key": {"S.$": "$.key"}},
                "UpdateExpression": "SET #s = :s ADD #n :one",
                "ConditionExpression": "attribute_exists(#k)",
                "ExpressionAttributeNames": {"#k": "key", "#s": "stage", "#n": "n"},
                "ExpressionAttributeValues": {":s": {"S": "done"}, ":one": {"N": "1"}},
            },
            "ResultPath": None,
            "TimeoutSeconds": 10,
            "Next": "CountTotal",
        },
        "CountTotal": {
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:updateItem",
            "Parameters": {
                "TableName": "TABLE",
                "Key": {"key": {"S": "sfn-total"}},
                "UpdateExpression": "ADD #n :one",
                "ExpressionAttributeNames": {"#n": "n"},
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            },
            "ResultPath": None,
            "TimeoutSeconds": 10,
            "Next": "DetectLabels",
        },
        "DetectLabels": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:rekognition:detectLabels",
            "Parameters": {
                "Image": {"S3Object": {"Bucket": "concurrency-images", "Name.$": "$.key"}},
                "MaxLabels": 5,
            },
            "ResultSelector": {"count.$": "States.ArrayLength($.Labels)"},
            "ResultPath": "$.labels",
            "TimeoutSeconds": 10,
            "End": True,
        },
    },
}

PASS_ONLY = {
    "Comment": "Step Functions alone: four Pass states",
    "StartAt": "A",
    "States": {
        "A": {"Type": "Pass", "Result": {"a": 1}, "ResultPath": "$.a", "Next": "B"},
        "B": {"Type": "Pass", "Result": {"b": 2}, "ResultPath": "$.b", "Next": "C"},
        "C": {"Type": "Pass", "Parameters": {"key.$": "$.key"}, "ResultPath": "$.c", "Next": "D"},
        "D": {"Type": "Pass", "End": True},
    },
}


def run_executions(args, sfn, arn: str, label: str) -> tuple[bool, list[str]]:
    prefix = uuid.uuid4().hex[:8]

    def start(i: int) -> str | None:
        try:
            return sfn.start_execution(
                stateMachineArn=arn,
                name=f"{prefix}-{i}",
                input=json.dumps(
                    {
                        "key": f"{prefix}-{i}",
                        "bucket": "concurrency-images",
                        "metadata": {
                            "format": "jpeg",
                            "width": 640,
                            "height": 480,
                            "size": 48213,
                            "contentType": "image/jpeg",
                            "exif": {"Make": "Camera", "Orientation": 1},
                        },
                    }
                ),
            )["executionArn"]
        except Exception as exc:  # noqa: BLE001
            print(f"  StartExecution {i}: {error_name(exc)}")
            return None

    t0 = time.time()
    arns = run_together(args.executions, start)
    started = time.time() - t0
    wanted = {a for a in arns if a}
    done: dict[str, dict] = {}
    deadline = time.monotonic() + args.timeout
    # One ListExecutions call every 2 s (not a DescribeExecution per execution), so the
    # polling adds little to what is measured. Start and stop times are LocalStack's.
    while time.monotonic() < deadline:
        time.sleep(2)
        done = {
            e["executionArn"]: e
            for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn)
            for e in page["executions"]
            if e["executionArn"] in wanted and e["status"] != "RUNNING"
        }
        if len(done) == len(wanted):
            break
    pending = wanted - done.keys()
    statuses = collections.Counter(d["status"] for d in done.values())
    if pending:
        statuses["still RUNNING after --timeout"] = len(pending)
    if done:
        first = min(d["startDate"] for d in done.values())
        last = max(d["stopDate"] for d in done.values())
        span = (last - first).total_seconds()
        durations = sorted((d["stopDate"] - d["startDate"]).total_seconds() for d in done.values())
        median = durations[len(durations) // 2]
    else:
        span, median = float("nan"), float("nan")
    ok = statuses.get("SUCCEEDED", 0)
    print(
        f"{label}: {args.executions} executions started in {started:.1f} s, all finished "
        f"{span:.1f} s after the first start ({len(done) / span:.1f} executions/s), "
        f"median execution {median:.2f} s; "
        + ", ".join(f"{n} {s}" for s, n in statuses.most_common())
    )
    causes: collections.Counter[str] = collections.Counter()
    for d in done.values():
        if d["status"] == "SUCCEEDED":
            continue
        events = sfn.get_execution_history(executionArn=d["executionArn"], reverseOrder=True)["events"]
        # The task's own failure event if there is one, else the execution's.
        task_events = [e for e in events if "taskFailedEventDetails" in e or "taskTimedOutEventDetails" in e]
        for e in task_events[:1] or events:
            details = (
                e.get("taskFailedEventDetails")
                or e.get("taskTimedOutEventDetails")
                or e.get("executionFailedEventDetails")
            )
            if details:
                # Events are newest first: the first earlier StateEntered is this state's.
                entered = next(
                    (x for x in events if x["id"] < e["id"] and "stateEnteredEventDetails" in x), None
                )
                state = entered["stateEnteredEventDetails"]["name"] if entered else "?"
                after = (e["timestamp"] - entered["timestamp"]).total_seconds() if entered else 0.0
                after_bucket = f"{int(after)}-{int(after) + 1} s"
                cause = details.get("cause") or "(no cause)"
                causes[f"{state}: {e['type']} {details.get('error')}: {cause[:200]} [after {after_bucket}]"] += 1
                break
    for name, count in causes.most_common():
        print(f"  {count:5d}  {name}")
    succeeded = [d["name"] for d in done.values() if d["status"] == "SUCCEEDED"]
    return ok == args.executions, succeeded


def phase_sfn(args, sfn, ddb, table: str, role: str, definition: dict, label: str, check_items: bool) -> bool:
    text = json.dumps(definition).replace('"TABLE"', json.dumps(table))
    arn = sfn.create_state_machine(
        name=f"concurrency-{label}-{uuid.uuid4().hex[:8]}", definition=text, roleArn=role
    )["stateMachineArn"]
    try:
        before = shared_counter(ddb, table, "sfn-total") if check_items else 0
        ok, succeeded = run_executions(args, sfn, arn, label)
        if not check_items:
            return ok
        total = shared_counter(ddb, table, "sfn-total") - before

        def item_ok(name: str) -> bool:
            # An execution's name is its key (run_executions).
            item = ddb.get_item(TableName=table, Key={"key": {"S": name}}, ConsistentRead=True).get("Item", {})
            return (
                item.get("stage") == {"S": "done"}
                and item.get("n") == {"N": "1"}
                and item.get("width") == {"N": "640"}
                and item.get("executionArn", {}).get("S", "").endswith(f":{name}")
            )

        with ThreadPoolExecutor(max_workers=16) as pool:
            wrong = sum(not good for good in pool.map(item_ok, succeeded))
        print(
            f"  items of the {len(succeeded)} succeeded executions: {wrong} wrong; "
            f"shared counter +{total}" + ("" if not ok else f" (want {len(succeeded)})")
        )
        # With failed executions the counter counts those that got past CountTotal too.
        return ok and wrong == 0 and total == len(succeeded)
    finally:
        sfn.delete_state_machine(stateMachineArn=arn)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--endpoint", required=True)
    p.add_argument("--threads", type=int, default=200, help="ddb phase threads (200)")
    p.add_argument("--rounds", type=int, default=5, help="ddb phase rounds per thread (5)")
    p.add_argument("--executions", type=int, default=200, help="executions per sfn/pass phase (200)")
    p.add_argument("--timeout", type=float, default=300, help="seconds to wait per execution phase (300)")
    p.add_argument("--phases", default="ddb,sfn,pass", help="comma-separated subset of ddb,sfn,pass")
    p.add_argument("--max-seconds", type=int, default=900, help="give up (exit 2) after this long (900)")
    args = p.parse_args()

    def give_up(*_):
        print(f"gave up after --max-seconds {args.max_seconds}", flush=True)
        os._exit(2)  # worker threads may still be blocked in requests

    signal.signal(signal.SIGALRM, give_up)
    signal.alarm(args.max_seconds)
    phases = [x for x in args.phases.split(",") if x]
    if unknown := set(phases) - {"ddb", "sfn", "pass"}:
        p.error(f"unknown phases: {', '.join(sorted(unknown))}")

    pool = max(args.threads, args.executions) + 8
    ddb = client("dynamodb", args.endpoint, pool)
    sfn = client("stepfunctions", args.endpoint, pool)
    iam = client("iam", args.endpoint, 4)
    suffix = uuid.uuid4().hex[:8]
    table = f"concurrency-{suffix}"
    role_name = f"concurrency-{suffix}"
    results: dict[str, bool] = {}
    create_table(ddb, table)
    role = iam.create_role(
        RoleName=role_name,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    try:
        for phase in phases:
            try:
                if phase == "ddb":
                    results[phase] = phase_ddb(args, ddb, table)
                elif phase == "sfn":
                    results[phase] = phase_sfn(args, sfn, ddb, table, role, PIPELINE, "sfn", True)
                else:
                    results[phase] = phase_sfn(args, sfn, ddb, table, role, PASS_ONLY, "pass", False)
            except Exception:  # noqa: BLE001
                traceback.print_exc()
                results[phase] = False
    finally:
        ddb.delete_table(TableName=table)
        iam.delete_role(RoleName=role_name)
    print("result: " + ", ".join(f"{k} {'ok' if v else 'FAILED'}" for k, v in results.items()))
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
