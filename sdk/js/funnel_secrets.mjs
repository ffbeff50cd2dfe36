// funnel's secrets and parameters for Node.js handlers: what the Rust SDK's
// `funnel_function::secrets` offers, over the `funnel:function/secrets`
// import. A handler imports it as
//
//   import { get, getStage, parameter, parametersByPath } from "funnel/secrets";
//
// (`funnel build --runtime nodejs` points that import here). Each call
// returns the value the function's SecretAccess grants, as Lambda's
// Parameters and Secrets extension would, cached in the execution
// environment for a while (300 s by default); a refusal throws an Error
// whose `name` is the AWS error (`AccessDeniedException`,
// `ResourceNotFoundException`, `ParameterNotFound`), which is also the
// invocation's errorType if the handler lets it through.

import {
  getSecret,
  getParameter,
  getParametersByPath,
} from "funnel:function/secrets";

function asError(thrown) {
  const value = thrown?.payload ?? thrown;
  if (value && typeof value.errorType === "string") {
    const error = new Error(value.errorMessage);
    error.name = value.errorType;
    return error;
  }
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}

function call(read) {
  try {
    return read();
  } catch (thrown) {
    throw asError(thrown);
  }
}

function secretOf(s) {
  return {
    name: s.name,
    arn: s.arn,
    versionId: s.versionId,
    versionStages: s.versionStages,
    secretString: s.secretString ?? undefined,
    secretBinary: s.secretBinary ?? undefined,
  };
}

function parameterOf(p) {
  return {
    name: p.name,
    arn: p.arn,
    type: p.kind,
    value: p.value,
    version: Number(p.version),
  };
}

// The AWSCURRENT version of the secret `name` (a name or an ARN):
// { name, arn, versionId, versionStages, secretString | secretBinary }.
export function get(name) {
  return secretOf(call(() => getSecret(name, undefined)));
}

// The version of the secret `name` labelled `stage` (AWSPREVIOUS, ...).
export function getStage(name, stage) {
  return secretOf(call(() => getSecret(name, stage)));
}

// The parameter `name` (`NAME:VERSION` for one version), decrypted:
// { name, arn, type, value, version }.
export function parameter(name) {
  return parameterOf(call(() => getParameter(name)));
}

// The parameters under `path` (every level when `recursive`) that the
// function is granted.
export function parametersByPath(path, recursive = false) {
  return call(() => getParametersByPath(path, Boolean(recursive))).map(parameterOf);
}
