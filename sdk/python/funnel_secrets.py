"""funnel's secrets and parameters for Python handlers.

What the Rust SDK's `funnel_function::secrets` offers, over the
`funnel:function/secrets` import; `funnel build --runtime python` packages
this module next to the handler, which imports it:

    import funnel_secrets

    def lambda_handler(event, context):
        password = funnel_secrets.get("db-pass").secret_string
        url = funnel_secrets.parameter("/app/db-url").value  # decrypted
        ...

Each call returns what the function's SecretAccess grants, cached in the
execution environment for a while (300 s by default). A refusal raises an
exception whose class name is the AWS error (`AccessDeniedException`,
`ResourceNotFoundException`, `ParameterNotFound`), which is also the
invocation's errorType if the handler lets it through; all of them are
`funnel_secrets.SecretError`. The `repr` of a value shows only its length.
"""

from componentize_py_types import Err
from wit_world.imports import secrets as _wit


class SecretError(Exception):
    """A read that failed; its class is named after the AWS error."""

    error_type = "SecretError"


_ERRORS = {}


def _error(err):
    value = err.value
    kind = _ERRORS.get(value.error_type)
    if kind is None:
        kind = type(value.error_type, (SecretError,), {"error_type": value.error_type})
        _ERRORS[value.error_type] = kind
    return kind(value.error_message)


class Secret:
    """One version of a secret: `secret_string` or `secret_binary`."""

    def __init__(self, s):
        self.name = s.name
        self.arn = s.arn
        self.version_id = s.version_id
        self.version_stages = list(s.version_stages)
        self.secret_string = s.secret_string
        self.secret_binary = s.secret_binary

    def __repr__(self):
        value = self.secret_string if self.secret_string is not None else self.secret_binary
        length = len(value) if value is not None else 0
        return f"Secret(name={self.name!r}, version_id={self.version_id!r}, <{length} redacted>)"


class Parameter:
    """A parameter's value (a SecureString decrypted)."""

    def __init__(self, p):
        self.name = p.name
        self.arn = p.arn
        self.type = p.kind
        self.value = p.value
        self.version = p.version

    def __repr__(self):
        return f"Parameter(name={self.name!r}, type={self.type!r}, <{len(self.value)} redacted>)"


def get(name, stage=None):
    """The secret `name` (a name or an ARN) at AWSCURRENT, or at `stage`."""
    try:
        return Secret(_wit.get_secret(name, stage))
    except Err as err:
        raise _error(err) from None


def get_stage(name, stage):
    """The version of the secret `name` labelled `stage` (AWSPREVIOUS, ...)."""
    return get(name, stage)


def parameter(name):
    """The parameter `name` (`NAME:VERSION` for one version), decrypted."""
    try:
        return Parameter(_wit.get_parameter(name))
    except Err as err:
        raise _error(err) from None


def parameters_by_path(path, recursive=False):
    """The parameters under `path` that the function is granted."""
    try:
        return [Parameter(p) for p in _wit.get_parameters_by_path(path, bool(recursive))]
    except Err as err:
        raise _error(err) from None
