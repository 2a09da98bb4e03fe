"""LocalStack plugins that fill what an offline LocalStack 4.14 lacks for photopipe.

- ``process_executor``: runs ``provided.*`` Lambda functions as local child processes
  (stock LocalStack needs Docker and a runtime-init binary downloaded from GitHub).
- ``providers``: DynamoDB served by the bundled moto (stock LocalStack downloads
  DynamoDB Local, a Java jar), its calls serialised because moto's backend is not
  thread-safe, and a Rekognition service routed to moto (stock LocalStack community
  has no Rekognition at all).
- ``stepfunctions``: a start-up hook that takes the per-execution waste out of
  LocalStack 4.14.0's Step Functions (which made tasks time out under load) and names
  a DynamoDB task's timeout ``States.Timeout`` (issue 10).
- ``s3events``: a start-up hook that gives S3 events increasing ``sequencer`` values, as
  AWS does (LocalStack writes a constant), so uploads of one key can be ordered.
- ``faults``: a start-up hook that serves ``/_photopipe/faults``, through which a test
  makes chosen operations fail a given number of times (throttling, for ``Retry``).

Nothing here is imported by LocalStack until its plugin manager loads an entry point,
so importing this package is cheap and side-effect free; ``stepfunctions`` patches
only when LocalStack calls its hook.
"""
