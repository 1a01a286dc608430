/** The database flags of a Cloud SQL instance's inputs, as name → lowercase value (known values only). */
import { itemsKnown, readKnown } from "./common";

export function flagsOf(props: unknown): Map<string, string> {
  const flags = new Map<string, string>();
  for (const flag of itemsKnown(props, "settings", "databaseFlags")) {
    const name = readKnown(flag, "name");
    const value = readKnown(flag, "value");
    if (typeof name === "string") flags.set(name, String(value));
  }
  return flags;
}
