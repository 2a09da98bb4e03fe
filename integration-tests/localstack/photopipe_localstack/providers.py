"""Service providers that route whole AWS services to the moto bundled with LocalStack.

DynamoDB: LocalStack's own provider forwards to DynamoDB Local, a Java jar it
downloads at first use, which an offline machine cannot do. moto implements the
DynamoDB API in Python; LocalStack already ships it for other services.

Rekognition: LocalStack community has no Rekognition provider, so a request for it
(for example Step Functions' ``arn:aws:states:::aws-sdk:rekognition:detectLabels``)
has nowhere to go. moto has a Rekognition backend; it answers ``DetectLabels`` with a
fixed, canned label set whatever the image (see README.md). It is a stand-in for the
API shape, never a real detection.

Concurrency: LocalStack serves requests from a pool of threads, and moto's DynamoDB
backend is not safe under them. ``Table.put_item`` reads the current item, checks the
condition and stores the new one; ``DynamoDBBackend.update_item`` reads the item,
checks the condition, then changes it in place; ``transact_write_items`` restores a
copy of the tables when one action fails. Another thread running in between loses
an ``ADD``, lets two conditional puts both succeed, overwrites a concurrent write on
rollback, or breaks ``copy.deepcopy(item)`` with "dictionary changed size during
iteration". DynamoDB makes each of these atomic, so every moto DynamoDB call here
runs under one lock (see ``_serialised_moto``). moto's Rekognition backend keeps no
state at all (every operation returns canned data), so it needs none.
"""

from __future__ import annotations

import threading

from localstack.services.plugins import Service, aws_provider


def _serialised_moto(lock: threading.Lock):
    """A ``ServiceRequestHandler`` like LocalStack's ``_proxy_moto`` (``call_moto``)
    whose call into moto holds ``lock``.

    Only moto's own work is inside the lock: parsing the request, the backend
    operation and writing the response (``dispatch_to_moto``). LocalStack parses
    the request before and the response after, outside it. One lock for the whole
    service rather than one per moto backend (account and region): moto picks the
    backend from the request itself, and with the GIL only one thread runs Python at
    a time anyway, so finer locks would gain nothing.
    """
    from localstack.aws.forwarder import dispatch_to_backend
    from localstack.services.moto import dispatch_to_moto

    def locked_dispatch(context):
        with lock:
            return dispatch_to_moto(context)

    def handler(context, _request):
        return dispatch_to_backend(context, locked_dispatch)

    return handler


@aws_provider(api="dynamodb", name="photopipe-moto")
def dynamodb_moto() -> Service:
    # Imports stay inside the factory: LocalStack resolves entry points at start-up
    # and only calls the factory for the provider it actually uses.
    from localstack.aws.api.dynamodb import DynamodbApi
    from localstack.aws.forwarder import ForwardingFallbackDispatcher

    class MotoDynamodbProvider(DynamodbApi):
        """Empty provider: every ``DynamodbApi`` method raises ``NotImplementedError``,
        which ``ForwardingFallbackDispatcher`` turns into a call to moto. This is
        LocalStack's ``MotoFallbackDispatcher`` with the call to moto serialised."""

    moto_dynamodb = _serialised_moto(threading.Lock())
    return Service.for_provider(
        MotoDynamodbProvider(),
        dispatch_table_factory=lambda provider: ForwardingFallbackDispatcher(provider, moto_dynamodb),
    )


def _rekognition() -> Service:
    from localstack.aws.spec import load_service
    from localstack.services.moto import _proxy_moto

    class MotoRekognitionProvider:
        """LocalStack generates no ``RekognitionApi`` class, so there are no handler
        methods to fall back from; ``service`` is all ``Service.for_provider`` needs."""

        service = "rekognition"

    def every_operation_to_moto(_provider: object) -> dict:
        # One handler per operation of botocore's Rekognition model, all to moto.
        # moto raises its own NotImplemented-style error for what it lacks. No lock:
        # moto's RekognitionBackend has no state to race on (module docstring).
        return {name: _proxy_moto for name in load_service("rekognition").operation_names}

    return Service.for_provider(
        MotoRekognitionProvider(), dispatch_table_factory=every_operation_to_moto
    )


@aws_provider(api="rekognition", name="photopipe-moto")
def rekognition_moto() -> Service:
    return _rekognition()


@aws_provider(api="rekognition", name="default")
def rekognition_moto_default() -> Service:
    return _rekognition()
