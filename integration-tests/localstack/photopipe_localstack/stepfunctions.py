"""Fixes to LocalStack 4.14.0's Step Functions interpreter, applied at start-up.

Issue 10: of 60 simultaneous executions of the pipeline, 8 failed in
``StoreMetadata`` (``dynamodb:putItem``) with ``DynamoDB.AmazonDynamoDBException``.
DynamoDB was not the cause (README.md, "Concurrency"): Step Functions spent so much
CPU per execution, all of it holding the GIL, that tasks with ``TimeoutSeconds: 10``
(every DynamoDB task of the pipeline has it) ran out of time, and LocalStack
reported those timeouts under a DynamoDB error name. Three of the fixes below take
the waste out (LocalStack's CPU per execution of ``concurrency.py``'s state machine:
300 ms before, 70 ms after), the fourth names the timeout correctly.

1. **JSONPath parsing is memoised.** LocalStack evaluates every JSONPath of a state
   machine (each ``"x.$": "$.key"``, ``ResultPath``, intrinsic-function arguments,
   Choice variables) with jsonpath-ng's ``parse`` at every evaluation
   (``asl/utils/json_path.py:extract_json``,
   ``asl/component/common/path/result_path.py:ResultPath._eval_body``), and
   jsonpath-ng 1.7.0 builds a new PLY LALR parser for each call
   (``JsonPathParser.__init__`` calls ``ply.yacc.yacc(write_tables=0)``): 24 ms of
   CPU for ``$.key`` (10 ms with the non-``ext`` parser). ``StoreMetadata`` has
   eleven paths, so 60 executions reaching it together queue up 15 s of CPU. A
   parsed path depends only on its string and jsonpath-ng never changes one after
   construction (``find`` and ``update_or_create`` only read it), so one parse per
   distinct path is enough.
2. **A definition is lexed and parsed once.** ``ExecutionWorker`` calls
   ``AmazonStateLanguageParser.parse(definition)`` for every execution: the ANTLR
   lexer and parser take 65 ms for photopipe's definition (18 ms for
   ``concurrency.py``'s). The ANTLR parse tree is now kept per definition string;
   the ``Preprocessor`` still builds fresh evaluation components from it for every
   execution (it only reads the tree), so no state is shared between executions.
3. **Assumed-role clients are reused.** Every task calls
   ``asl/utils/boto_client.py:boto_client_for``, which calls
   ``connect_to.with_assumed_role``: an STS ``AssumeRole`` through the gateway, and
   then, because the credentials are new each time, a new botocore client
   (``ClientFactory._get_client`` misses its cache; ``Session.create_client`` copies
   the session's event hooks under the factory's lock): a quarter of all CPU once
   (1) is fixed. The factory for a role is now kept for ``ASSUMED_ROLE_TTL_SECONDS``
   (moto's STS issues credentials for an hour), per role, principal, region,
   endpoint and config, so the client cache hits.
4. **A DynamoDB task that runs past TimeoutSeconds fails with ``States.Timeout``**,
   as in AWS and as every other LocalStack integration already does.
   ``StateTaskServiceDynamoDB._from_error`` turns *every* exception that is not a
   botocore ``ClientError`` into ``DynamoDB.AmazonDynamoDBException`` without
   calling ``super()``, so the ``EvalTimeoutError`` raised by
   ``ExecutionState._evaluate_with_timeout`` came out under a DynamoDB error name
   with an empty cause. That is what made issue 10 look like a DynamoDB bug.

5. **An indefinite JSONPath gives a list**, as on AWS. ``extract_json`` returns
   the value of a single match itself whatever the path, so the pipeline's
   ``"labels.$": "$.Labels[*].Name"`` gave ``"Mobile Phone"`` where AWS (and
   MiniStack) give ``["Mobile Phone"]``; ``cargo xtask engines`` found it. A path
   with a wildcard, a filter, a slice, a union or ``..`` now always gives the list
   of its matches, empty when nothing matches.

6. **A Distributed Map's S3 listing is the whole listing, in AWS's shape.** The
   ``s3:listObjectsV2`` ItemReader made one ``ListObjectsV2`` call: a prefix with
   more than 1,000 objects lost the rest without a word, and an empty one failed on
   the missing ``Contents``. It also passed boto's objects on (``ETag``, a
   ``datetime``), where AWS gives items with ``Etag`` and ``LastModified`` in epoch
   seconds, so ``$$.Map.Item.Value.Etag`` found nothing. Every page is read now, and
   each object becomes ``{Etag, Key, LastModified, Size, StorageClass}``.
7. **A ResultWriter writes the results.** LocalStack wrote a manifest listing no
   result files. The Map Run's items are now written as AWS does, under
   ``<Prefix>/<map run id>/``: ``SUCCEEDED_0.json`` and ``FAILED_0.json`` (arrays of
   ``{Input, Output, Status, ...}``, ``Input`` and ``Output`` as JSON text) and the
   manifest naming them with their sizes. LocalStack keeps no per-item error, so a
   failed item has no ``Error``/``Cause``, and its ``Input`` is the item as read,
   before ``ItemSelector``.

Caches are single-flight: at the start of a burst, 200 executions miss together, and
they wait for one parse (or one AssumeRole) instead of each doing it.

All of this is on LocalStack's side, so it applies on the official image too (where
only the Rekognition provider of this package is used otherwise). It is written
against LocalStack 4.14.0 and does nothing on another version; each patch also
checks that it replaces what it was written for, and logs a warning instead when it
does not. ``PHOTOPIPE_SFN_PATCHES=0`` leaves Step Functions as it is, for
comparison. Loaded through LocalStack's hook mechanism (entry point group
``localstack.hooks.on_infra_start``), the way LocalStack applies its own runtime
patches (``localstack.aws.patches``).
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from localstack.runtime import hooks

LOG = logging.getLogger(__name__)

ENABLED = os.environ.get("PHOTOPIPE_SFN_PATCHES", "1") not in ("0", "false", "")
WRITTEN_FOR = "4.14.0"
# Distinct JSONPaths and definitions one LocalStack sees; a state machine has tens
# of paths. Past the limit a cache starts again from empty.
JSONPATH_CACHE_SIZE = 4096
DEFINITION_CACHE_SIZE = 256
# How long the credentials of one AssumeRole serve a role's tasks.
ASSUMED_ROLE_TTL_SECONDS = 600.0

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@hooks.on_infra_start()
def photopipe_stepfunctions_patches() -> None:
    from localstack.version import __version__

    if not ENABLED:
        LOG.info("photopipe: PHOTOPIPE_SFN_PATCHES=0, Step Functions left unpatched")
        return
    if __version__ != WRITTEN_FOR:
        LOG.warning("photopipe: Step Functions patches are for LocalStack %s, not %s; none applied",
                    WRITTEN_FOR, __version__)
        return
    applied = [
        name
        for name, apply in (
            ("JSONPath parsing memoised", _memoise_jsonpath_parsing),
            ("definitions parsed once", _parse_each_definition_once),
            ("assumed-role clients reused", _reuse_assumed_role_clients),
            ("DynamoDB task timeouts are States.Timeout", _dynamodb_task_timeout_is_states_timeout),
            ("indefinite JSONPaths give lists", _indefinite_paths_give_lists),
            ("S3 listings read whole, in AWS's shape", _list_every_page_as_aws_does),
            ("result writers write the results", _write_map_run_results),
        )
        if apply()
    ]
    LOG.info("photopipe: Step Functions patched: %s", ", ".join(applied) or "nothing")


def _single_flight_cache(compute: Callable[[K], V], maxsize: int) -> Callable[[K], V]:
    """``compute`` memoised by its one argument. Unlike ``functools.lru_cache``,
    threads that miss together compute once: the others wait for that result."""
    cache: dict[K, V] = {}
    lock = threading.Lock()

    def cached(key: K) -> V:
        try:
            return cache[key]
        except KeyError:
            pass
        with lock:
            if key not in cache:
                if len(cache) >= maxsize:
                    cache.clear()
                cache[key] = compute(key)  # an exception propagates and is not cached
            return cache[key]

    return cached


def _memoise_jsonpath_parsing() -> bool:
    import jsonpath_ng
    import jsonpath_ng.ext

    from localstack.services.stepfunctions.asl.component.common.path import result_path
    from localstack.services.stepfunctions.asl.utils import json_path
    from localstack.utils.patch import Patch

    # Both modules import ``parse`` by name: replace exactly that name, and only if
    # it is still the jsonpath-ng function this was written for.
    done = True
    for module, original in ((json_path, jsonpath_ng.ext.parse), (result_path, jsonpath_ng.parse)):
        if getattr(module, "parse", None) is not original:
            LOG.warning("photopipe: %s.parse is not %s.parse; left unmemoised",
                        module.__name__, original.__module__)
            done = False
            continue
        cached = _single_flight_cache(original, JSONPATH_CACHE_SIZE)

        @functools.wraps(original)
        def parse(path: str, *args: Any, _original=original, _cached=cached, **kwargs: Any) -> Any:
            # LocalStack passes the path alone; anything else goes to jsonpath-ng as is.
            return _original(path, *args, **kwargs) if args or kwargs else _cached(path)

        Patch(module, "parse", parse).apply()
    return done


def _parse_each_definition_once() -> bool:
    from antlr4 import CommonTokenStream, InputStream

    from localstack.services.stepfunctions.asl.antlr.runtime.ASLLexer import ASLLexer
    from localstack.services.stepfunctions.asl.antlr.runtime.ASLParser import ASLParser
    from localstack.services.stepfunctions.asl.parse import asl_parser
    from localstack.services.stepfunctions.asl.parse.preprocessor import Preprocessor
    from localstack.utils.patch import Patch

    parser_class = asl_parser.AmazonStateLanguageParser
    if not isinstance(parser_class.__dict__.get("parse"), staticmethod):
        LOG.warning("photopipe: AmazonStateLanguageParser.parse is not a staticmethod; left as is")
        return False

    def parse_tree(definition: str):
        # The ANTLR half of AmazonStateLanguageParser.parse (LocalStack 4.14.0).
        syntax_error_listener = asl_parser.SyntaxErrorListener()
        parser = ASLParser(CommonTokenStream(ASLLexer(InputStream(definition))))
        parser.removeErrorListeners()
        parser.addErrorListener(syntax_error_listener)
        tree = parser.state_machine()
        if syntax_error_listener.errors:
            raise asl_parser.ASLParserException(errors=syntax_error_listener.errors)
        return tree

    trees = _single_flight_cache(parse_tree, DEFINITION_CACHE_SIZE)

    def parse(definition: str):
        # The other half, as LocalStack does it: a new Preprocessor, new components.
        tree = trees(definition)
        return Preprocessor().visit(tree), tree

    Patch(parser_class, "parse", staticmethod(parse)).apply()
    return True


class _AssumedRoleFactories:
    """Stands in for ``connect_to`` inside ``asl/utils/boto_client.py`` only."""

    def __init__(self, factory: Any, ttl: float):
        self._factory = factory
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cache: dict[tuple, tuple[float, Any]] = {}
        self._key_locks: dict[tuple, threading.Lock] = {}

    def with_assumed_role(self, *, role_arn, service_principal=None, session_name=None,
                          region_name=None, endpoint_url=None, config=None):
        # boto_client_for passes one module-level Config; id() keeps the key hashable.
        key = (role_arn, service_principal, session_name, region_name, endpoint_url, id(config))
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        # One AssumeRole per role at a time: the tasks of a burst that miss together
        # wait for the first one's credentials instead of each assuming the role.
        with key_lock:
            hit = self._cache.get(key)
            if hit is not None and time.monotonic() - hit[0] < self._ttl:
                return hit[1]
            factory = self._factory.with_assumed_role(
                role_arn=role_arn, service_principal=service_principal, session_name=session_name,
                region_name=region_name, endpoint_url=endpoint_url, config=config,
            )
            self._cache[key] = (time.monotonic(), factory)
            return factory

    def __getattr__(self, name: str) -> Any:
        return getattr(self._factory, name)


def _reuse_assumed_role_clients() -> bool:
    from localstack.aws.connect import connect_to
    from localstack.services.stepfunctions.asl.utils import boto_client
    from localstack.utils.patch import Patch

    if getattr(boto_client, "connect_to", None) is not connect_to:
        LOG.warning("photopipe: boto_client.connect_to is not localstack.aws.connect.connect_to; "
                    "assumed-role clients not reused")
        return False
    Patch(boto_client, "connect_to", _AssumedRoleFactories(connect_to, ASSUMED_ROLE_TTL_SECONDS)).apply()
    return True


def _dynamodb_task_timeout_is_states_timeout() -> bool:
    from localstack.services.stepfunctions.asl.component.state.state_execution.state_task.service import (
        state_task_service_dynamodb as dynamodb_task,
    )
    from localstack.utils.patch import Patch

    task_class = dynamodb_task.StateTaskServiceDynamoDB
    original = task_class.__dict__.get("_from_error")
    if original is None or original.__module__ != dynamodb_task.__name__:
        LOG.warning("photopipe: StateTaskServiceDynamoDB._from_error is not LocalStack's; left as is")
        return False

    @functools.wraps(original)
    def _from_error(self, env, ex):
        if isinstance(ex, TimeoutError):
            # StateTaskService's TaskTimedOut event with error States.Timeout, as
            # StateTask._from_error gives every other integration.
            return self._get_timed_out_failure_event(env)
        return original(self, env, ex)

    Patch(task_class, "_from_error", _from_error).apply()
    return True


# A wildcard (``[*]``, ``.*``), a filter (``[?``), a slice (``[1:]``, ``[:2]``), a
# union of indices (``[0,1]``) or a deep scan (``..``).
_INDEFINITE = re.compile(r"\[\s*[*?]|\.\*|\[\s*-?\d*\s*:|\[\s*-?\d+\s*,|\.\.")


def _indefinite_paths_give_lists() -> bool:
    import sys

    from localstack.services.stepfunctions.asl.utils import json_path
    from localstack.utils.patch import Patch

    original = json_path.extract_json
    if original.__module__ != json_path.__name__:
        LOG.warning("photopipe: json_path.extract_json is not LocalStack's; left as is")
        return False

    @functools.wraps(original)
    def extract_json(path: str, data: Any) -> Any:
        if not _INDEFINITE.search(path):
            return original(path, data)
        return [match.value for match in json_path.parse(path).find(data)]

    # Modules that imported the function by name before now hold the original.
    for module in list(sys.modules.values()):
        if module is not None and getattr(module, "extract_json", None) is original:
            Patch(module, "extract_json", extract_json).apply()
    return True


def _list_every_page_as_aws_does() -> bool:
    from localstack.services.stepfunctions.asl.component.state.state_execution.state_map.item_reader.resource_eval import (
        resource_eval_s3 as reader,
    )
    from localstack.utils.patch import Patch

    cls = reader.ResourceEvalS3
    if not isinstance(cls.__dict__.get("_handle_list_objects_v2"), staticmethod):
        LOG.warning("photopipe: the S3 ItemReader has no _handle_list_objects_v2; left as is")
        return False

    def _handle_list_objects_v2(env, resource_runtime_part, state_credentials) -> None:
        s3_client = cls._get_s3_client(
            resource_runtime_part=resource_runtime_part, state_credentials=state_credentials
        )
        parameters = env.stack.pop()
        items = []
        for page in s3_client.get_paginator("list_objects_v2").paginate(**parameters):
            for obj in page.get("Contents", []):
                items.append({
                    "Etag": obj["ETag"],
                    "Key": obj["Key"],
                    "LastModified": int(obj["LastModified"].timestamp()),
                    "Size": obj["Size"],
                    "StorageClass": obj.get("StorageClass", "STANDARD"),
                })
        env.stack.append(items)

    Patch(cls, "_handle_list_objects_v2", staticmethod(_handle_list_objects_v2)).apply()
    return True


def _write_map_run_results() -> bool:
    import json

    from localstack.services.stepfunctions.asl.component.state.state_execution.state_map.iteration import (
        distributed_iteration_component as distributed,
    )
    from localstack.services.stepfunctions.asl.component.state.state_execution.state_map.result_writer.resource_eval import (
        resource_eval_s3 as writer,
    )
    from localstack.utils.patch import Patch

    component = distributed.DistributedIterationComponent
    writer_cls = writer.ResourceEvalS3
    original_map_run = component.__dict__.get("_map_run")
    if original_map_run is None or not isinstance(writer_cls.__dict__.get("_handle_put_object"), staticmethod):
        LOG.warning("photopipe: Distributed Map internals are not LocalStack 4.14.0's; results not written")
        return False

    @functools.wraps(original_map_run)
    def _map_run(self, env, eval_input) -> None:
        items = list(env.stack[-1])  # the items, which the original pops
        original_map_run(self, env, eval_input)
        # A failed item's output is None (LocalStack keeps nothing else of it).
        eval_input.map_run_record.photopipe_items = list(zip(items, env.stack[-1]))

    def _handle_put_object(env, resource_runtime_part, state_credentials) -> None:
        parameters = env.stack.pop()
        env.stack.pop()  # the outputs, which the map run record holds with their items
        s3_client = writer_cls._get_s3_client(
            resource_runtime_part=resource_runtime_part, state_credentials=state_credentials
        )
        record = env.map_run_record_pool_manager.get_all().pop()
        bucket = parameters["Bucket"]
        prefix = parameters.get("Prefix", "")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        base = prefix + record.map_run_arn.split(":")[-1] + "/"
        groups = {"SUCCEEDED": [], "FAILED": [], "PENDING": []}
        for index, (item, output) in enumerate(getattr(record, "photopipe_items", [])):
            status = "FAILED" if output is None else "SUCCEEDED"
            entry = {
                "Name": str(index),
                "StateMachineArn": record.map_state_machine_arn,
                "Status": status,
                "Input": json.dumps(item),
                "InputDetails": {"Included": True},
            }
            if output is not None:
                entry["Output"] = json.dumps(output)
                entry["OutputDetails"] = {"Included": True}
            groups[status].append(entry)
        result_files = {}
        for status, entries in groups.items():
            result_files[status] = []
            if entries:
                key = f"{base}{status}_0.json"
                body = json.dumps(entries).encode("utf8")
                s3_client.put_object(Bucket=bucket, Key=key, Body=body)
                result_files[status].append({"Key": key, "Size": len(body)})
        manifest_key = base + "manifest.json"
        manifest = {"DestinationBucket": bucket, "MapRunArn": record.map_run_arn, "ResultFiles": result_files}
        s3_client.put_object(Bucket=bucket, Key=manifest_key, Body=json.dumps(manifest, indent=2).encode("utf8"))
        env.stack.append({
            "MapRunArn": record.map_run_arn,
            "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key},
        })

    Patch(component, "_map_run", _map_run).apply()
    Patch(writer_cls, "_handle_put_object", staticmethod(_handle_put_object)).apply()
    return True
