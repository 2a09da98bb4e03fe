"""Fault injection: make chosen AWS operations fail a given number of times.

An integration test uses this to throttle DynamoDB or Rekognition and watch the state
machine's ``Retry`` recover. Interface, on LocalStack's edge port (answers are JSON):

- ``POST /_photopipe/faults`` with ``{"rules": [{"service": "dynamodb", "operation":
  "PutItem", "error": "ProvisionedThroughputExceededException", "status": 400,
  "times": 2, "message": "..."}]}`` replaces the rule set. ``operation`` (optional)
  matches case-insensitively, so Step Functions' ``putItem`` works too; without it the
  rule matches every operation of the service. ``status`` defaults to 400, ``message``
  to one naming this module.
- ``GET /_photopipe/faults``: the rules, each with ``remaining`` and ``injected``.
- ``DELETE /_photopipe/faults``: no rules.

A request that matches a rule with ``remaining > 0`` is answered with that error and
the rule's count goes down; the first such rule in the list wins.

How: a handler in LocalStack's gateway chain, in
``handlers.serve_custom_service_request_handlers``. That slot runs after the request
is parsed (service and operation are known) and before the service is loaded or its
provider called, so a failed request changes nothing. The handler raises
``CommonServiceException``; LocalStack's ``ServiceExceptionSerializer`` then writes
the error in the service's own protocol. Step Functions' task clients
(``connect_to`` in ``asl/utils/boto_client.py``) send real HTTP requests to the
gateway (``IN_MEMORY_CLIENT`` is off by default, and even on it calls the same chain),
so they are failed like any other client, and they do not retry on their own
(``total_max_attempts: 1``): every injected fault is one failed attempt of the task.

Why a hook, not a ``localstack.extensions.api.Extension``: community LocalStack 4.14
defines the ``Extension`` class but nothing in it loads the ``localstack.extensions``
entry points (the loader is in LocalStack Pro), so an extension would never run.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass

from localstack.runtime import hooks

LOG = logging.getLogger(__name__)

PATH = "/_photopipe/faults"

# AWS JSON 1.0 services name the error by its full shape id in ``__type``; LocalStack's
# serializer writes the bare code (botocore and the Rust SDK accept both). DynamoDB's
# own prefix, which moto's DynamoDB errors carry too, keeps the answer as AWS sends it.
_ERROR_TYPE_PREFIX = {"dynamodb": "com.amazonaws.dynamodb.v20120810#"}


class BadRules(ValueError):
    pass


@dataclass
class Rule:
    service: str
    operation: str | None
    error: str
    message: str | None
    status: int
    times: int
    remaining: int

    def as_json(self) -> dict:
        return {
            "service": self.service, "operation": self.operation, "error": self.error,
            "message": self.message, "status": self.status, "times": self.times,
            "remaining": self.remaining, "injected": self.times - self.remaining,
        }


def parse_rules(body: object) -> list[Rule]:
    """Checked against botocore's models, so that a typo is a 400 now rather than a
    rule that silently never matches."""
    from botocore.exceptions import UnknownServiceError

    from localstack.aws.spec import load_service

    if not isinstance(body, dict) or not isinstance(body.get("rules"), list):
        raise BadRules('expected {"rules": [...]}')
    rules = []
    for i, raw in enumerate(body["rules"]):
        if not isinstance(raw, dict):
            raise BadRules(f"rules[{i}]: expected an object")
        unknown = set(raw) - {"service", "operation", "error", "message", "status", "times"}
        if unknown:
            raise BadRules(f"rules[{i}]: unknown fields {sorted(unknown)}")
        service, operation, error = raw.get("service"), raw.get("operation"), raw.get("error")
        message, status, times = raw.get("message"), raw.get("status", 400), raw.get("times")
        if not isinstance(service, str):
            raise BadRules(f"rules[{i}]: service must be a string")
        try:
            operations = {name.lower(): name for name in load_service(service).operation_names}
        except UnknownServiceError:
            raise BadRules(f"rules[{i}]: unknown service {service!r}") from None
        if operation is not None:
            if not isinstance(operation, str) or operation.lower() not in operations:
                raise BadRules(f"rules[{i}]: {service} has no operation {operation!r}")
            operation = operations[operation.lower()]
        if not isinstance(error, str) or not error:
            raise BadRules(f"rules[{i}]: error must be a non-empty string")
        if message is not None and not isinstance(message, str):
            raise BadRules(f"rules[{i}]: message must be a string")
        if type(status) is not int or not 400 <= status <= 599:
            raise BadRules(f"rules[{i}]: status must be an integer from 400 to 599")
        if type(times) is not int or times < 1:
            raise BadRules(f"rules[{i}]: times must be a positive integer")
        rules.append(Rule(service, operation, error, message, status, times, times))
    return rules


class FaultInjector:
    def __init__(self) -> None:
        # LocalStack serves requests from a thread pool: matching and counting down
        # happen under one lock, so exactly ``times`` requests fail.
        self._lock = threading.Lock()
        self._rules: list[Rule] = []

    def replace(self, rules: list[Rule]) -> list[dict]:
        with self._lock:
            self._rules = rules
            return [r.as_json() for r in rules]

    def snapshot(self) -> list[dict]:
        with self._lock:
            return [r.as_json() for r in self._rules]

    def take(self, service: str, operation: str) -> tuple[Rule, int] | None:
        """The rule this request fails under and its count (1..times), or None."""
        if not self._rules:  # the common case, without the lock: the list is replaced whole
            return None
        with self._lock:
            for rule in self._rules:
                if rule.remaining and rule.service == service and rule.operation in (None, operation):
                    rule.remaining -= 1
                    return rule, rule.times - rule.remaining
        return None

    def __call__(self, _chain, context, _response) -> None:
        # A gateway request handler: context.service and .operation are set by now.
        from localstack.aws.api import CommonServiceException

        if context.service is None or context.operation is None:
            return
        service, operation = context.service.service_name, context.operation.name
        if (hit := self.take(service, operation)) is None:
            return
        rule, n = hit
        # "internal": a LocalStack service's own client, e.g. a Step Functions task.
        LOG.info("photopipe: injected %s into %s.%s (%d of %d, %s call)", rule.error, service,
                 operation, n, rule.times, "internal" if context.is_internal_call else "external")
        message = rule.message or f"photopipe fault injection: {rule.error} ({n} of {rule.times})"
        code = _ERROR_TYPE_PREFIX.get(service, "") + rule.error
        raise CommonServiceException(code, message, status_code=rule.status)

    def endpoint(self, request, **_kwargs):
        """``/_photopipe/faults`` on LocalStack's edge router."""
        from localstack.http import Response

        if request.method == "POST":
            try:
                rules = parse_rules(json.loads(request.get_data() or b"null"))
            except ValueError as e:  # BadRules and json.JSONDecodeError both are
                return Response(json.dumps({"error": str(e)}), status=400, mimetype="application/json")
            return {"rules": self.replace(rules)}
        if request.method == "DELETE":
            return {"rules": self.replace([])}
        return {"rules": self.snapshot()}


FAULTS = FaultInjector()


@hooks.on_infra_start()
def photopipe_faults() -> None:
    from localstack.aws import handlers
    from localstack.services.edge import ROUTER

    handlers.serve_custom_service_request_handlers.append(FAULTS)
    ROUTER.add(PATH, endpoint=FAULTS.endpoint, methods=["GET", "POST", "DELETE"])
    LOG.info("photopipe: fault injection at %s", PATH)
