"""BatchGetItem answers taken as DynamoDB's own JSON, without botocore's shape walk.

A verify-and-repair sync reads every item it may write. Measured here (DynamoDB Local,
items of 10 features, one thread): of 8.3 s for 10,000 items, botocore spent 3.2 s
walking the response's shapes (``parsers._handle_structure`` per attribute value) and
1.7 s waiting for the server. For DynamoDB's JSON protocol that walk changes nothing we
use: the low-level client hands back ``{"N": "1.5"}`` as the wire has it, ``BOOL`` and
``NULL`` as JSON booleans, ``S``, ``L``, ``M``, ``SS``, ``NS`` as they are (only ``B``
and ``BS`` would come back base64-encoded instead of as bytes, and feature items hold
none; an item that does simply differs and is rewritten).

So, on a successful answer (HTTP 200) of BatchGetItem only, the body is decoded with
``json.loads`` and botocore is given ``{}`` to parse; errors keep botocore's own parsing,
so error codes and retries are untouched. Registered per client (each botocore client
has its own event emitter), once.
"""

from __future__ import annotations

import json

EVENT = "before-parse.dynamodb.BatchGetItem"
UNIQUE_ID = "featurestore-raw-batch-get"


def _take_raw_body(response_dict, customized_response_dict, **_kwargs) -> None:
    if response_dict.get("status_code") != 200:
        return
    body = response_dict.get("body")
    if not body:
        return
    customized_response_dict.update(json.loads(body))
    response_dict["body"] = b"{}"


def install(client) -> None:
    """Make ``client``'s BatchGetItem answers raw JSON (a client without botocore's event
    system, such as a test double, is left as it is)."""
    events = getattr(getattr(client, "meta", None), "events", None)
    if events is not None:
        events.register(EVENT, _take_raw_body, unique_id=UNIQUE_ID)
