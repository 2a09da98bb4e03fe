"""Service providers that route whole AWS services to the moto bundled with LocalStack.

DynamoDB: LocalStack's own provider forwards to DynamoDB Local, a Java jar it
downloads at first use, which an offline machine cannot do. moto implements the
DynamoDB API in Python; LocalStack already ships it for other services.

Rekognition: LocalStack community has no Rekognition provider, so a request for it
(for example Step Functions' ``arn:aws:states:::aws-sdk:rekognition:detectLabels``)
has nowhere to go. moto has a Rekognition backend; it answers ``DetectLabels`` with a
fixed, canned label set whatever the image (see README.md). It is a stand-in for the
API shape, never a real detection.
"""

from __future__ import annotations

from localstack.services.plugins import Service, aws_provider


@aws_provider(api="dynamodb", name="photopipe-moto")
def dynamodb_moto() -> Service:
    # Imports stay inside the factory: LocalStack resolves entry points at start-up
    # and only calls the factory for the provider it actually uses.
    from localstack.aws.api.dynamodb import DynamodbApi
    from localstack.services.moto import MotoFallbackDispatcher

    class MotoDynamodbProvider(DynamodbApi):
        """Empty provider: every ``DynamodbApi`` method raises ``NotImplementedError``,
        which ``MotoFallbackDispatcher`` turns into a call to moto."""

    return Service.for_provider(MotoDynamodbProvider(), dispatch_table_factory=MotoFallbackDispatcher)


def _rekognition() -> Service:
    from localstack.aws.spec import load_service
    from localstack.services.moto import _proxy_moto

    class MotoRekognitionProvider:
        """LocalStack generates no ``RekognitionApi`` class, so there are no handler
        methods to fall back from; ``service`` is all ``Service.for_provider`` needs."""

        service = "rekognition"

    def every_operation_to_moto(_provider: object) -> dict:
        # One handler per operation of botocore's Rekognition model, all to moto.
        # moto raises its own NotImplemented-style error for what it lacks.
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
