// funnel's Node.js adapter: runs a Lambda-style handler as a funnel function.
//
// `funnel build --runtime nodejs --handler MODULE.FUNCTION` packages this
// module, a generated `funnel_handler.mjs` (which re-exports the user's
// handler as `handler`) and the user's folder into a WebAssembly component
// of the `funnel:function/handler` world with componentize-js.
//
// What the handler sees is Lambda's: `handler(event, context)` — async or
// not — with the event parsed from JSON and a context object
// (`awsRequestId`, `functionName`, `functionVersion`, `invokedFunctionArn`,
// `memoryLimitInMB`, `logGroupName`, `logStreamName`,
// `getRemainingTimeInMillis()`). What it returns (or resolves to) is sent
// back as JSON; a throw or a rejection becomes the invocation's error with
// Lambda's `errorType` (the error's name) and `errorMessage`.
// `console.log` goes to the function's log.
//
// The handler reads the secrets and parameters its function is granted
// with `import { get, getStage, parameter, parametersByPath } from
// "funnel/secrets"` (funnel_secrets.mjs); a refusal it lets through fails
// the invocation with the AWS error name as errorType.
//
// The modules are evaluated when the component is built: top-level code
// runs then and its result is frozen into the component. Setup that must
// happen in each execution environment belongs in an exported
// `funnelInit` function of the handler's module, run once when the
// environment starts.

import { getEnvironment } from "wasi:cli/environment@0.2.12";
import * as user from "./funnel_handler.mjs";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function failure(error) {
  if (error instanceof Error) {
    return { errorType: error.name || "Error", errorMessage: error.message };
  }
  return { errorType: "Error", errorMessage: String(error) };
}

// Node's `process.env` (StarlingMonkey has no `process`), read from the
// execution environment when it starts.
function installProcess() {
  const env = Object.fromEntries(getEnvironment());
  globalThis.process = { ...(globalThis.process ?? {}), env };
}

export async function init() {
  installProcess();
  if (typeof user.funnelInit === "function") {
    try {
      await user.funnelInit();
    } catch (error) {
      throw failure(error);
    }
  }
}

export async function handle(context, event) {
  const text = decoder.decode(event);
  const ctx = {
    awsRequestId: context.requestId,
    functionName: context.functionName,
    functionVersion: context.functionVersion,
    invokedFunctionArn: context.invokedFunctionArn,
    memoryLimitInMB: String(context.memoryLimitInMb),
    logGroupName: `/aws/lambda/${context.functionName}`,
    logStreamName: context.requestId,
    callbackWaitsForEmptyEventLoop: true,
    // X-Ray's trace header of this invocation, or undefined when untraced.
    traceId: context.traceId ?? undefined,
    getRemainingTimeInMillis: () => Math.max(0, Number(context.deadlineMs) - Date.now()),
  };
  // As Lambda's runtime: the trace header in process.env for the call.
  const env = globalThis.process?.env;
  if (env && ctx.traceId) {
    env._X_AMZN_TRACE_ID = ctx.traceId;
  }
  let result;
  try {
    result = await user.handler(text ? JSON.parse(text) : null, ctx);
  } catch (error) {
    throw failure(error);
  } finally {
    if (env) {
      delete env._X_AMZN_TRACE_ID;
    }
  }
  return encoder.encode(JSON.stringify(result ?? null));
}

export function shutdown() {}
