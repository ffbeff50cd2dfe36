// A Node.js handler for funnel's tests: what an event asks for, it does.
// {"op": "echo"} returns the event and the context's fields; "tmp"
// appends a note to /tmp/notes with node:fs and returns them; "missing"
// reads a file that is not there; "fail" throws; "reject" rejects; "env" returns the environment; "remaining"
// waits and reports the remaining time before and after; "hog" allocates
// without bound; "spin" never returns; "trace" returns the context's
// traceId and process.env._X_AMZN_TRACE_ID as the handler sees them.

import { appendFileSync, readFileSync } from "node:fs";
import { readFile } from "fs/promises";

let calls = 0;
let started = false;

export async function funnelInit() {
  started = true;
}

export const handler = async (event, context) => {
  calls += 1;
  const op = event.op ?? "echo";
  console.log(`js-probe: ${op} (call ${calls})`);
  switch (op) {
    case "echo":
      return {
        event,
        calls,
        requestId: context.awsRequestId,
        functionName: context.functionName,
        functionVersion: context.functionVersion,
        invokedFunctionArn: context.invokedFunctionArn,
        memoryLimitInMB: context.memoryLimitInMB,
        started,
      };
    case "fail":
      throw new TypeError("the order has no items");
    case "reject":
      return Promise.reject(new RangeError("out of stock"));
    case "tmp": {
      appendFileSync("/tmp/notes", `${event.note ?? ""}\n`);
      const sync = readFileSync("/tmp/notes", "utf8");
      const viaPromise = await readFile("/tmp/notes", "utf8");
      if (sync !== viaPromise) throw new Error("fs and fs/promises disagree");
      return sync.split("\n").filter(Boolean);
    }
    case "missing":
      return readFileSync("/tmp/nothing-here", "utf8");
    case "env":
      return { ...process.env };
    case "trace":
      return { context: context.traceId ?? null, env: process.env._X_AMZN_TRACE_ID ?? null };
    case "remaining": {
      const before = context.getRemainingTimeInMillis();
      const until = Date.now() + 50;
      while (Date.now() < until) {}
      return [before, context.getRemainingTimeInMillis()];
    }
    case "hog": {
      const blocks = [];
      for (;;) blocks.push(new Uint8Array(16 * 1024 * 1024).fill(1));
    }
    case "spin":
      for (;;) {}
    default:
      throw new Error(`unknown op ${op}`);
  }
};
