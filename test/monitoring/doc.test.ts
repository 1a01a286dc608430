import * as fs from "fs";
import * as path from "path";
import { describe, expect, test } from "vitest";
import { ROOT } from "../../lib/mock-runtime";
import { SIGNALS, signal } from "../../lib/monitoring";
import { DOC_BEGIN, DOC_END, renderSignalTable, timeToFire, windows, withSignalTable } from "../../lib/monitoring/doc";

describe("docs/monitoring.md's signal table", () => {
  test("the committed doc is the render of the catalog (run `npm run docs:monitoring`)", () => {
    const doc = fs.readFileSync(path.join(ROOT, "docs/monitoring.md"), "utf8");
    expect(doc).toBe(withSignalTable(doc));
  });

  test("every signal has one row, by id", () => {
    const table = renderSignalTable();
    for (const s of SIGNALS) expect(table).toContain(`(\`${s.id}\`)`);
    expect(table.split("\n")).toHaveLength(SIGNALS.length + 2);
  });

  test("a doc without the markers is refused", () => {
    expect(() => withSignalTable("# Monitoring\n")).toThrow(/markers .* missing/);
    expect(() => withSignalTable(`${DOC_END}\n${DOC_BEGIN}`)).toThrow(/out of order/);
  });

  test.each([
    // 60 s sample + 165 s visibility + 30 s evaluation + duration (0 / 120 s), + 5 min when silent.
    ["instance-down", /^≤ 4 min 15 s \/ 6 min 15 s; silent series: \+ 5 min/],
    // Sustained 5 min on a Cloud SQL gauge.
    ["cpu", /^≤ 9 min 15 s \/ 9 min 15 s$/],
    // Query Insights: no published sampling statement.
    ["slow-executions", /sampling assumed \(none published\)/],
    // Log-based: ingestion delay unbounded.
    ["backup-failures", /log ingestion \(no published bound\)/],
  ])("time to fire of %s", (id, expected) => {
    expect(timeToFire(signal(id))).toMatch(expected);
  });

  test("a tile has no time to fire", () => {
    expect(timeToFire(signal("deadlocks-logged"))).toBe("—");
  });

  test("windows come from the expression's range selectors", () => {
    expect(windows(signal("slow-executions"))).toEqual(["1h"]);
    expect(windows(signal("cpu"))).toEqual([]);
  });
});
