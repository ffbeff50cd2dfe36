// A Node.js handler for funnel's tests: what an event asks for, it does.
// {"op": "echo"} returns the event and the context's fields; "fail"
// throws; "reject" rejects; "env" returns the environment; "remaining"
// waits and reports the remaining time before and after; "hog" allocates
// without bound; "spin" never returns.

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
    case "env":
      return { ...process.env };
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
