// The JS twin of wasm-functions/secret-reader: reads the secret its event
// names ({"name": "db-pass"}, optionally "stage") or the parameter
// ({"parameter": "/app/db-url"}) through funnel's "funnel/secrets" module
// and returns {"sha256": hex, "length": n} of what it read, never the value.
import { get, getStage, parameter } from "funnel/secrets";

const encoder = new TextEncoder();

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function handler(event) {
  let bytes;
  if (event.name) {
    const secret = event.stage ? getStage(event.name, event.stage) : get(event.name);
    bytes = secret.secretString !== undefined
      ? encoder.encode(secret.secretString)
      : new Uint8Array(secret.secretBinary);
  } else if (event.parameter) {
    bytes = encoder.encode(parameter(event.parameter).value);
  } else {
    throw new Error("the event names no secret (name) or parameter (parameter)");
  }
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return { sha256: hex(digest), length: bytes.length };
}
