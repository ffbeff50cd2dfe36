"""A Python handler for funnel's tests: what an event asks for, it does.

{"op": "echo"} returns the event and the context's fields; "fail" raises;
"env" returns the environment; "tmp" appends to /tmp/notes and returns it;
"remaining" sleeps and reports the remaining time before and after;
"hog" allocates without bound; "spin" never returns; "trace" returns
the context's trace_id and _X_AMZN_TRACE_ID as the handler sees them.
"""

import json
import os
import time

calls = 0


def funnel_init():
    # Runs once per execution environment, at its start.
    global started
    started = True


def lambda_handler(event, context):
    global calls
    calls += 1
    op = event.get("op", "echo")
    print(f"python-probe: {op} (call {calls})")
    if op == "echo":
        return {
            "event": event,
            "calls": calls,
            "request_id": context.aws_request_id,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "started": started,
        }
    if op == "fail":
        raise ValueError("the order has no items")
    if op == "env":
        return dict(os.environ)
    if op == "trace":
        return {"context": context.trace_id, "env": os.environ.get("_X_AMZN_TRACE_ID")}
    if op == "tmp":
        with open("/tmp/notes", "a") as notes:
            notes.write(event.get("note", "") + "\n")
        with open("/tmp/notes") as notes:
            return notes.read().splitlines()
    if op == "remaining":
        before = context.get_remaining_time_in_millis()
        time.sleep(0.05)
        return [before, context.get_remaining_time_in_millis()]
    if op == "hog":
        blocks = []
        while True:
            blocks.append(bytearray(16 * 1024 * 1024))
    if op == "spin":
        while True:
            pass
    raise KeyError(op)
