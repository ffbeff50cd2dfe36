"""funnel's Python adapter: runs a Lambda-style handler as a funnel function.

`funnel build --runtime python --handler MODULE.FUNCTION` packages this
module, a generated `funnel_handler` (which imports the user's handler) and
the user's source folder into a WebAssembly component of the
`funnel:function/handler` world with componentize-py.

What the handler sees is Lambda's: `handler(event, context)` with the event
parsed from JSON and a context object (`aws_request_id`, `function_name`,
`function_version`, `invoked_function_arn`, `memory_limit_in_mb`,
`log_group_name`, `log_stream_name`, `get_remaining_time_in_millis()`).
What it returns is sent back as JSON; an exception becomes the invocation's
error with Lambda's `errorType` (the exception's class name) and
`errorMessage`. `print` goes to the function's log.

The handler reads the secrets and parameters its function is granted with
the `funnel_secrets` module packaged next to it (`funnel_secrets.get(name)`,
`get_stage`, `parameter`, `parameters_by_path`); a refusal it does not
catch fails the invocation with the AWS error name as errorType.

The handler module is imported when the component is built: its top-level
code runs then, and what it leaves is frozen into the component. Setup
that must happen in each execution environment (opening files under /tmp,
reading the environment) belongs in a function named `funnel_init` in the
handler module, which runs once when the environment starts.
"""

import json
import os
import sys
import time

from componentize_py_types import Err
from wit_world.imports import types

import funnel_handler


class LambdaContext:
    """Lambda's context object."""

    def __init__(self, context):
        self.aws_request_id = context.request_id
        self.function_name = context.function_name
        self.function_version = context.function_version
        self.invoked_function_arn = context.invoked_function_arn
        self.memory_limit_in_mb = str(context.memory_limit_in_mb)
        self.log_group_name = "/aws/lambda/" + context.function_name
        self.log_stream_name = context.request_id
        self.identity = None
        self.client_context = (
            json.loads(context.client_context) if context.client_context else None
        )
        self._deadline_ms = context.deadline_ms
        # X-Ray's trace header of this invocation, or None when untraced.
        self.trace_id = context.trace_id

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))


def _error(exc):
    return Err(types.FunctionError(error_type=type(exc).__name__, error_message=str(exc)))


def _flush():
    sys.stdout.flush()
    sys.stderr.flush()


class WitWorld:
    def init(self):
        setup = getattr(funnel_handler.module, "funnel_init", None)
        try:
            if callable(setup):
                setup()
        except Exception as exc:
            raise _error(exc)
        finally:
            _flush()

    def handle(self, context, event):
        # As Lambda's runtime: the trace header in the environment for the
        # duration of the call.
        if context.trace_id:
            os.environ["_X_AMZN_TRACE_ID"] = context.trace_id
        try:
            parsed = json.loads(event) if event else None
            result = funnel_handler.handler(parsed, LambdaContext(context))
            return json.dumps(result).encode()
        except Exception as exc:
            raise _error(exc)
        finally:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
            _flush()

    # The world's `shutdown` export: funnel builds Python guests against a
    # copy of the world that names it `funnel-shutdown` (componentize-py's
    # linker also sees wasi-libc's socket `shutdown`) and renames the
    # component's export back to `shutdown` afterwards.
    def funnel_shutdown(self):
        _flush()
