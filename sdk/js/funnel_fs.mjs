// Node's `fs` for funnel's JS handlers, over WASI's filesystem:
// StarlingMonkey has no `fs`, so `funnel build --runtime nodejs` points the
// handler's imports of `fs`, `node:fs`, `fs/promises` and
// `node:fs/promises` here. It covers what handlers do with /tmp (and the
// read-only /opt and granted /buckets): read, write and append files, make
// and list folders, stat, remove. Errors carry Node's `code` (ENOENT, ...).

import { getDirectories } from "wasi:filesystem/preopens@0.2.12";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CHUNK = 65536n;

const CODES = {
  "no-entry": "ENOENT",
  exist: "EEXIST",
  "not-directory": "ENOTDIR",
  "is-directory": "EISDIR",
  access: "EACCES",
  "not-permitted": "EPERM",
  "read-only": "EROFS",
  "not-empty": "ENOTEMPTY",
  "insufficient-space": "ENOSPC",
  "invalid": "EINVAL",
};

function fsError(cause, syscall, path) {
  const kind = cause?.payload ?? cause?.message ?? String(cause);
  const code = CODES[kind] ?? "EIO";
  const error = new Error(`${code}: ${kind}, ${syscall} '${path}'`);
  error.code = code;
  error.syscall = syscall;
  error.path = path;
  return error;
}

// The preopened folder holding `path`, and the path inside it.
function locate(path, syscall) {
  const absolute = String(path).startsWith("/") ? String(path) : `/tmp/${path}`;
  let best = null;
  for (const [descriptor, root] of getDirectories()) {
    const prefix = root.endsWith("/") ? root : `${root}/`;
    if (absolute === root || absolute.startsWith(prefix)) {
      if (!best || root.length > best[1].length) best = [descriptor, root];
    }
  }
  if (!best) throw fsError({ payload: "no-entry" }, syscall, path);
  const inside = absolute.slice(best[1].length).replace(/^\/+/, "") || ".";
  return [best[0], inside];
}

function call(syscall, path, fn) {
  try {
    return fn();
  } catch (cause) {
    if (cause?.code && cause.syscall) throw cause;
    throw fsError(cause, syscall, path);
  }
}

function bytesOf(data, options) {
  if (typeof data === "string") return encoder.encode(data);
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (typeof options === "string" || options?.encoding) return encoder.encode(String(data));
  return encoder.encode(String(data));
}

function encodingOf(options) {
  return typeof options === "string" ? options : options?.encoding;
}

function open(path, syscall, openFlags, descriptorFlags) {
  const [dir, inside] = locate(path, syscall);
  return call(syscall, path, () => dir.openAt({ symlinkFollow: true }, inside, openFlags, descriptorFlags));
}

function writeAll(file, bytes, offset, path) {
  let written = 0n;
  while (written < BigInt(bytes.length)) {
    const n = call("write", path, () => file.write(bytes.subarray(Number(written)), offset + written));
    written += n;
  }
}

export function readFileSync(path, options) {
  const file = open(path, "open", {}, { read: true });
  const parts = [];
  let offset = 0n;
  let total = 0;
  for (;;) {
    const [chunk, end] = call("read", path, () => file.read(CHUNK, offset));
    parts.push(chunk);
    total += chunk.length;
    offset += BigInt(chunk.length);
    if (end || chunk.length === 0) break;
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return encodingOf(options) ? decoder.decode(bytes) : bytes;
}

export function writeFileSync(path, data, options) {
  const file = open(path, "open", { create: true, truncate: true }, { write: true });
  writeAll(file, bytesOf(data, options), 0n, path);
}

export function appendFileSync(path, data, options) {
  const file = open(path, "open", { create: true }, { write: true, read: true });
  const size = call("stat", path, () => file.stat()).size;
  writeAll(file, bytesOf(data, options), size, path);
}

export function statSync(path) {
  const [dir, inside] = locate(path, "stat");
  const stat = call("stat", path, () => dir.statAt({ symlinkFollow: true }, inside));
  return {
    size: Number(stat.size),
    isFile: () => stat.type === "regular-file",
    isDirectory: () => stat.type === "directory",
  };
}

export function existsSync(path) {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

export function mkdirSync(path, options) {
  if (options?.recursive) {
    const parts = String(path).split("/").filter(Boolean);
    let at = "";
    for (const part of parts) {
      at += `/${part}`;
      if (!existsSync(at)) mkdirSync(at);
    }
    return;
  }
  const [dir, inside] = locate(path, "mkdir");
  call("mkdir", path, () => dir.createDirectoryAt(inside));
}

export function readdirSync(path) {
  const [dir, inside] = locate(path, "scandir");
  const folder = inside === "." ? dir : call("scandir", path, () => dir.openAt({}, inside, { directory: true }, { read: true }));
  const entries = call("scandir", path, () => folder.readDirectory());
  const names = [];
  for (;;) {
    const entry = call("scandir", path, () => entries.readDirectoryEntry());
    if (!entry) break;
    names.push(entry.name);
  }
  return names.sort();
}

export function unlinkSync(path) {
  const [dir, inside] = locate(path, "unlink");
  call("unlink", path, () => dir.unlinkFileAt(inside));
}

export function rmdirSync(path) {
  const [dir, inside] = locate(path, "rmdir");
  call("rmdir", path, () => dir.removeDirectoryAt(inside));
}

export function rmSync(path, options) {
  if (!existsSync(path)) {
    if (options?.force) return;
    throw fsError({ payload: "no-entry" }, "rm", path);
  }
  if (statSync(path).isDirectory()) {
    if (!options?.recursive) throw fsError({ payload: "is-directory" }, "rm", path);
    for (const name of readdirSync(path)) rmSync(`${path}/${name}`, options);
    rmdirSync(path);
  } else {
    unlinkSync(path);
  }
}

export const promises = {
  readFile: async (path, options) => readFileSync(path, options),
  writeFile: async (path, data, options) => writeFileSync(path, data, options),
  appendFile: async (path, data, options) => appendFileSync(path, data, options),
  stat: async (path) => statSync(path),
  mkdir: async (path, options) => mkdirSync(path, options),
  readdir: async (path) => readdirSync(path),
  unlink: async (path) => unlinkSync(path),
  rm: async (path, options) => rmSync(path, options),
  access: async (path) => {
    statSync(path);
  },
};

export const { readFile, writeFile, appendFile, stat, mkdir, readdir, unlink, rm, access } = promises;

export default {
  readFileSync,
  writeFileSync,
  appendFileSync,
  statSync,
  existsSync,
  mkdirSync,
  readdirSync,
  unlinkSync,
  rmdirSync,
  rmSync,
  promises,
};
