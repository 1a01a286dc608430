/** Editing recorded resource inputs in policy tests: the shape of a bad resource is a good one with one path changed. */

/** A resource's inputs as the recorder keeps them. */
export type Inputs = Record<string, unknown>;

/** Sets the dotted `path` of `obj` to `value`, creating objects on the way; `undefined` deletes the last key. */
export function set(obj: Inputs, path: string, value: unknown): void {
  const keys = path.split(".");
  let node = obj;
  for (const k of keys.slice(0, -1)) node = (node[k] ??= {}) as Inputs;
  if (value === undefined) delete node[keys[keys.length - 1]];
  else node[keys[keys.length - 1]] = value;
}
