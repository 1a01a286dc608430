/**
 * `npm run docs:monitoring`: rewrites the per-signal table of
 * docs/monitoring.md (between its markers) from lib/monitoring.
 * test/monitoring/doc.test.ts fails while the committed doc differs.
 */
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../lib/mock-runtime";
import { withSignalTable } from "../lib/monitoring/doc";

const file = path.join(ROOT, "docs/monitoring.md");
fs.writeFileSync(file, withSignalTable(fs.readFileSync(file, "utf8")));
console.log(`wrote ${path.relative(ROOT, file)}`);
