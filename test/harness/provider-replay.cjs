// Replays a serialized SchemaMigrations provider in a fresh Node process, as
// Pulumi's dynamic-provider host does (require-from-string, then .handler()),
// with no ts-node: the text must be self-contained. Plain JavaScript on purpose.
//
// Usage: node test/harness/provider-replay.cjs <provider-file> <ops-json-file> <results-file>
// ops: [{ op: "check"|"diff"|"create"|"update"|"read"|"delete", args: [...] }]
// Each argument passes through google.protobuf.Struct, like the gRPC wire.
// results: { results: [{ ok: true, value } | { ok: false, error: { name, message } }], log: [lines] }
"use strict";
const fs = require("fs");
const requireFromString = require("require-from-string");
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");

const wire = (v) => (v !== null && typeof v === "object" && !Array.isArray(v) ? Struct.fromJavaScript(v).toJavaScript() : v);

// The provider's log lines, kept in the results file too: a pipe may lose what is
// still buffered when the process exits.
const logged = [];
for (const level of ["log", "info", "warn", "error"]) {
  const original = console[level].bind(console);
  console[level] = (...args) => {
    logged.push(args.map(String).join(" "));
    original(...args);
  };
}

async function main([providerFile, opsFile, resultsFile]) {
  const provider = requireFromString(fs.readFileSync(providerFile, "utf8")).handler();
  const ops = JSON.parse(fs.readFileSync(opsFile, "utf8"));
  const results = [];
  for (const { op, args } of ops) {
    try {
      const value = await provider[op](...args.map(wire));
      results.push({ ok: true, value: value === undefined ? null : JSON.parse(JSON.stringify(value)) });
    } catch (err) {
      results.push({ ok: false, error: { name: err && err.name, message: String(err && err.message) } });
    }
  }
  fs.writeFileSync(resultsFile, JSON.stringify({ results, log: logged }));
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err) => {
    console.error(err && err.stack ? err.stack : String(err));
    process.exit(1);
  },
);
