"""S3 event notifications with a real ``sequencer``, applied at start-up.

AWS gives every event of an object key a ``sequencer``: hexadecimal, greater for a
later event of the same key, compared after left-padding with zeros. It is the one
way S3 offers to order events, which arrive in any order: photopipe stores it in
each table item and writes only over items with a smaller one, so that an older
version's late execution cannot overwrite a newer version's item (issue 10).
LocalStack 4.14.0 writes the constant ``"0055AED6DCD90281E5"`` into every event
(``s3/notifications.py``, ``BaseNotifier._get_event_payload``), which makes every
event of a key look simultaneous.

The fix takes the sequencer when LocalStack builds the notification context, in the
request that stored the object (``S3EventNotificationContext.from_request_context``,
called by the provider after the write), from a process-wide counter that only
grows, and writes it into the event payload. Like AWS's, it is 18 hex digits.
"""

from __future__ import annotations

import logging
import threading
import time

from localstack.runtime import hooks

LOG = logging.getLogger(__name__)
WRITTEN_FOR = "4.14.0"
LOCALSTACK_CONSTANT = "0055AED6DCD90281E5"

_lock = threading.Lock()
_last = 0


def next_sequencer() -> str:
    """Nanoseconds since the epoch, made strictly increasing across threads."""
    global _last
    with _lock:
        _last = max(_last + 1, time.time_ns())
        return f"{_last:018X}"


@hooks.on_infra_start()
def photopipe_s3_event_sequencers() -> None:
    from localstack.services.s3 import notifications
    from localstack.version import __version__

    if __version__ != WRITTEN_FOR:
        LOG.warning("photopipe: S3 sequencer patch is for LocalStack %s, not %s; not applied",
                    WRITTEN_FOR, __version__)
        return
    context = notifications.S3EventNotificationContext
    original_context = context.from_request_context.__func__
    original_payload = notifications.BaseNotifier._get_event_payload

    def from_request_context(cls, *args, **kwargs):
        ctx = original_context(cls, *args, **kwargs)
        ctx.photopipe_sequencer = next_sequencer()
        return ctx

    def get_event_payload(ctx, *args, **kwargs):
        payload = original_payload(ctx, *args, **kwargs)
        sequencer = getattr(ctx, "photopipe_sequencer", None)
        for record in payload.get("Records", []):
            obj = record.get("s3", {}).get("object", {})
            # Tagging and ACL events carry no sequencer on AWS either.
            if sequencer and obj.get("sequencer") == LOCALSTACK_CONSTANT:
                obj["sequencer"] = sequencer
        return payload

    context.from_request_context = classmethod(from_request_context)
    notifications.BaseNotifier._get_event_payload = staticmethod(get_event_payload)
    LOG.info("photopipe: S3 events carry increasing sequencers")
