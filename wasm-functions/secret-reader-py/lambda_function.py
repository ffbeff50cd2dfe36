"""The Python twin of wasm-functions/secret-reader: reads the secret its
event names ({"name": "db-pass"}, optionally "stage") or the parameter
({"parameter": "/app/db-url"}) through funnel_secrets and returns
{"sha256": hex, "length": n} of what it read, never the value."""

import hashlib

import funnel_secrets


def lambda_handler(event, context):
    if "name" in event:
        secret = funnel_secrets.get(event["name"], event.get("stage"))
        if secret.secret_string is not None:
            data = secret.secret_string.encode()
        else:
            data = bytes(secret.secret_binary)
    elif "parameter" in event:
        data = funnel_secrets.parameter(event["parameter"]).value.encode()
    else:
        raise ValueError("the event names no secret (name) or parameter (parameter)")
    return {"sha256": hashlib.sha256(data).hexdigest(), "length": len(data)}
