// Node's `fs/promises` for funnel's JS handlers (see funnel_fs.mjs).
import { promises } from "./funnel_fs.mjs";

export default promises;
export const { readFile, writeFile, appendFile, stat, mkdir, readdir, unlink, rm, access } =
  promises;
