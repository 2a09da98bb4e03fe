"""End-to-end smoke check of an offline LocalStack with the photopipe plugins.

Deploys a real CloudFormation stack (bucket with a Lambda notification on
``incoming/``, a DynamoDB table, IAM roles, a ``provided.al2023`` function from a
zip in S3, state machines with Lambda, Parallel, Choice, ``dynamodb:putItem``,
``dynamodb:updateItem`` and ``aws-sdk:rekognition:detectLabels`` tasks) and checks
what each plugin is for. Any function zip whose ``bootstrap`` echoes its event
works; errors and timeouts need the echo function described in README.md
(``{"fail": "CorruptImage"}`` fails with that errorType, ``{"sleep_ms": N}`` sleeps).

    python smoke.py --endpoint http://127.0.0.1:4566 --zip /path/to/bootstrap.zip

Needs only boto3, which the LocalStack lock already pins. Exits non-zero on the
first failed check; prints timings and observations as it goes.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import sys
import time
import uuid
from typing import Any

import boto3
from botocore.config import Config

REGION = "us-east-1"


def log(message: str) -> None:
    print(message, flush=True)


def check(condition: bool, what: str, detail: Any = "") -> None:
    if not condition:
        log(f"FAIL: {what} {detail}")
        sys.exit(1)
    log(f"ok: {what}")


def template(code_bucket: str, code_key: str, suffix: str) -> dict[str, Any]:
    lambda_arn = {"Fn::GetAtt": ["EchoFunction", "Arn"]}
    pipeline = {
        "StartAt": "Analyse",
        "States": {
            "Analyse": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Echo",
                        "States": {
                            "Echo": {
                                "Type": "Task",
                                "Resource": "arn:aws:states:::lambda:invoke",
                                "Parameters": {"FunctionName": "${EchoArn}", "Payload.$": "$"},
                                "OutputPath": "$.Payload",
                                "End": True,
                            }
                        },
                    },
                    {
                        "StartAt": "DetectLabels",
                        "States": {
                            "DetectLabels": {
                                "Type": "Task",
                                "Resource": "arn:aws:states:::aws-sdk:rekognition:detectLabels",
                                "Parameters": {
                                    "Image": {"S3Object": {"Bucket.$": "$.bucket", "Name.$": "$.key"}},
                                    "MaxLabels": 10,
                                },
                                "End": True,
                            }
                        },
                    },
                ],
                "ResultSelector": {"key.$": "$[0].echo.key", "label.$": "$[1].Labels[0].Name"},
                "Next": "Labelled?",
            },
            "Labelled?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.label", "IsPresent": True, "Next": "Record"}],
                "Default": "NoLabel",
            },
            "NoLabel": {"Type": "Fail", "Error": "NoLabel"},
            "Record": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {
                    "TableName": "${TableName}",
                    "Item": {"id": {"S.$": "$.key"}, "label": {"S.$": "$.label"}},
                },
                "ResultPath": None,
                "Next": "MarkDone",
            },
            "MarkDone": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:updateItem",
                "Parameters": {
                    "TableName": "${TableName}",
                    "Key": {"id": {"S.$": "$.key"}},
                    "UpdateExpression": "SET #s = :s",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":s": {"S": "done"}},
                },
                "ResultPath": None,
                "End": True,
            },
        },
    }
    # One Lambda task that catches everything, so an execution's output shows the
    # error name Step Functions saw (what Retry/Catch would match).
    single = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "${EchoArn}", "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    assume = lambda service: {  # noqa: E731 - tiny local helper
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }
    subs = {"EchoArn": lambda_arn, "TableName": {"Ref": "Table"}}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Table": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                },
            },
            "LambdaRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {"AssumeRolePolicyDocument": assume("lambda.amazonaws.com")},
            },
            "StatesRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {"AssumeRolePolicyDocument": assume("states.amazonaws.com")},
            },
            "EchoFunction": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "provided.al2023",
                    "Handler": "bootstrap",
                    "Timeout": 3,
                    "MemorySize": 128,
                    "Role": {"Fn::GetAtt": ["LambdaRole", "Arn"]},
                    "Code": {"S3Bucket": code_bucket, "S3Key": code_key},
                },
            },
            "S3InvokePermission": {
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "Action": "lambda:InvokeFunction",
                    "FunctionName": {"Ref": "EchoFunction"},
                    "Principal": "s3.amazonaws.com",
                },
            },
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "DependsOn": "S3InvokePermission",
                "Properties": {
                    "BucketName": f"photopipe-smoke-{suffix}",
                    "NotificationConfiguration": {
                        "LambdaConfigurations": [
                            {
                                "Event": "s3:ObjectCreated:*",
                                "Function": lambda_arn,
                                "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "incoming/"}]}},
                            }
                        ]
                    },
                },
            },
            "Pipeline": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": {"Fn::GetAtt": ["StatesRole", "Arn"]},
                    "DefinitionString": {"Fn::Sub": [json.dumps(pipeline), subs]},
                },
            },
            "Single": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": {"Fn::GetAtt": ["StatesRole", "Arn"]},
                    "DefinitionString": {"Fn::Sub": [json.dumps(single), subs]},
                },
            },
        },
        "Outputs": {
            "Bucket": {"Value": {"Ref": "Bucket"}},
            "Table": {"Value": {"Ref": "Table"}},
            "Function": {"Value": {"Ref": "EchoFunction"}},
            "Pipeline": {"Value": {"Ref": "Pipeline"}},
            "Single": {"Value": {"Ref": "Single"}},
        },
    }


def run_execution(sfn: Any, arn: str, payload: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload))["executionArn"]
    while True:
        desc = sfn.describe_execution(executionArn=execution)
        if desc["status"] != "RUNNING":
            desc["seconds"] = round(time.perf_counter() - started, 3)
            return desc
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", default="http://127.0.0.1:4566")
    parser.add_argument("--zip", required=True, help="zip holding the echo function's bootstrap")
    parser.add_argument("--keep", action="store_true", help="leave the stack in place")
    args = parser.parse_args()

    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
    cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1})
    client = lambda name: session.client(name, endpoint_url=args.endpoint, config=cfg)  # noqa: E731
    s3, cfn, sfn, ddb, lam, logs = (client(n) for n in ("s3", "cloudformation", "stepfunctions", "dynamodb", "lambda", "logs"))

    suffix = uuid.uuid4().hex[:8]
    code_bucket = f"photopipe-code-{suffix}"
    s3.create_bucket(Bucket=code_bucket)
    s3.upload_file(args.zip, code_bucket, "echo.zip")

    stack = f"photopipe-smoke-{suffix}"
    started = time.perf_counter()
    cfn.create_stack(StackName=stack, TemplateBody=json.dumps(template(code_bucket, "echo.zip", suffix)),
                     Capabilities=["CAPABILITY_IAM"])
    cfn.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]}
    log(f"stack deployed in {time.perf_counter() - started:.2f} s: {outputs}")
    bucket, table, function = outputs["Bucket"], outputs["Table"], outputs["Function"]

    # Lambda invoked directly: env as the function sees it.
    started = time.perf_counter()
    response = lam.invoke(FunctionName=function, Payload=json.dumps({"hello": "world"}))
    body = json.loads(response["Payload"].read())
    log(f"direct invoke in {time.perf_counter() - started:.3f} s: {body}")
    check("FunctionError" not in response and body["echo"] == {"hello": "world"}, "direct invoke echoes")
    check((body["env"]["AWS_ENDPOINT_URL"] or "").startswith("http://127.0.0.1:"), "function sees AWS_ENDPOINT_URL on loopback", body["env"])
    started = time.perf_counter()
    lam.invoke(FunctionName=function, Payload=b"{}")
    log(f"warm invoke in {time.perf_counter() - started:.3f} s")

    # S3 notification on incoming/ invokes the function (and nothing else does).
    s3.put_object(Bucket=bucket, Key="outgoing/ignored.jpg", Body=b"x")
    s3.put_object(Bucket=bucket, Key="incoming/cat.jpg", Body=b"not really a jpeg")
    group = f"/aws/lambda/{function}"
    seen = ""
    for _ in range(100):
        try:
            seen = "".join(e["message"] for e in logs.filter_log_events(logGroupName=group)["events"])
        except logs.exceptions.ResourceNotFoundException:
            pass
        if "incoming/cat.jpg" in seen:
            break
        time.sleep(0.1)
    check("incoming/cat.jpg" in seen, "S3 upload to incoming/ invoked the function (seen in CloudWatch Logs)")
    check("outgoing/ignored.jpg" not in seen, "upload outside incoming/ did not invoke it")

    # The pipeline: Parallel(Lambda, Rekognition) -> Choice -> putItem -> updateItem.
    desc = run_execution(sfn, outputs["Pipeline"], {"bucket": bucket, "key": "incoming/cat.jpg"})
    log(f"pipeline execution {desc['status']} in {desc['seconds']} s, output {desc.get('output')}")
    check(desc["status"] == "SUCCEEDED", "pipeline state machine succeeds", desc.get("error"))
    item = ddb.get_item(TableName=table, Key={"id": {"S": "incoming/cat.jpg"}})["Item"]
    log(f"item written by Step Functions: {item}")
    check(item["status"]["S"] == "done" and item["label"]["S"] == "Mobile Phone",
          "putItem + updateItem landed; moto's fixed DetectLabels answer is 'Mobile Phone'")

    # DynamoDB API surface the project uses, straight through moto.
    ddb.put_item(TableName=table, Item={"id": {"S": "a"}, "n": {"N": "1"}})
    ddb.update_item(TableName=table, Key={"id": {"S": "a"}}, UpdateExpression="ADD n :one",
                    ExpressionAttributeValues={":one": {"N": "1"}})
    check(ddb.get_item(TableName=table, Key={"id": {"S": "a"}})["Item"]["n"]["N"] == "2", "dynamodb put/update/get")
    check(ddb.scan(TableName=table)["Count"] == 2, "dynamodb scan")
    queried = ddb.query(TableName=table, KeyConditionExpression="id = :id",
                        ExpressionAttributeValues={":id": {"S": "a"}})
    check(queried["Count"] == 1, "dynamodb query")

    # Errors: the function's errorType is the task's error name.
    desc = run_execution(sfn, outputs["Single"], {"fail": "CorruptImage"})
    error = json.loads(desc["output"])["error"]
    log(f"error execution: {error}")
    check(error["Error"] == "CorruptImage", "function errorType reaches Step Functions as the error name")

    # Timeout: the function sleeps past its 3 s timeout.
    desc = run_execution(sfn, outputs["Single"], {"sleep_ms": 5000})
    error = json.loads(desc["output"])["error"]
    log(f"timeout execution after {desc['seconds']} s: {error}")
    check(error["Error"] == "Sandbox.Timedout" and "Task timed out" in error["Cause"], "timeout enforced")
    body = json.loads(lam.invoke(FunctionName=function, Payload=b"{}")["Payload"].read())
    check("echo" in body, "function works again after a timeout (fresh runtime)")

    # Concurrency: parallel invocations get separate environments (processes).
    def slow(_: int) -> int:
        out = lam.invoke(FunctionName=function, Payload=json.dumps({"sleep_ms": 800}))
        return json.loads(out["Payload"].read())["pid"]

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        pids = set(pool.map(slow, range(4)))
    log(f"4 concurrent 0.8 s invokes took {time.perf_counter() - started:.2f} s in {len(pids)} processes")
    check(len(pids) > 1, "concurrent invocations run in several processes")

    # Reserved concurrency 0: what does Step Functions see?
    lam.put_function_concurrency(FunctionName=function, ReservedConcurrentExecutions=0)
    try:
        lam.invoke(FunctionName=function, Payload=b"{}")
        log("observed: direct invoke with reserved concurrency 0 succeeded")
    except Exception as e:  # noqa: BLE001 - we report whatever it is
        log(f"observed: direct invoke with reserved concurrency 0 raised {type(e).__name__}: {e}")
    desc = run_execution(sfn, outputs["Single"], {"hello": "throttled"})
    log(f"observed: execution with reserved concurrency 0: {desc['status']} in {desc['seconds']} s, output {desc.get('output')}")
    lam.delete_function_concurrency(FunctionName=function)
    desc = run_execution(sfn, outputs["Single"], {"hello": "again"})
    check(desc["status"] == "SUCCEEDED" and "error" not in json.loads(desc["output"]),
          "works again once reserved concurrency is removed", desc.get("output"))

    if not args.keep:
        started = time.perf_counter()
        for key in ("incoming/cat.jpg", "outgoing/ignored.jpg"):
            s3.delete_object(Bucket=bucket, Key=key)
        cfn.delete_stack(StackName=stack)
        cfn.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        check(table not in ddb.list_tables()["TableNames"], "stack deletion deleted the table (DeleteTable)")
        s3.delete_object(Bucket=code_bucket, Key="echo.zip")
        s3.delete_bucket(Bucket=code_bucket)
        log(f"stack deleted in {time.perf_counter() - started:.2f} s")
    log("smoke: all checks passed")


if __name__ == "__main__":
    main()
