import { connectRedis, createDbClient, readManifestFile, type EndpointResolver } from "@lp/db-client";

/** Reads a learner's course outline through the cache; writes go to the primary. */
export async function courseOutline(opts: {
  manifestFile: string; // pulumi stack output connectionManifest --json > manifest.json
  cacheAuth: string; // read from the Secret Manager secret named by manifest.cache.authSecretId
  user: string;
  password: string;
  resolve?: EndpointResolver; // leave out in GCP: the manifest's private IPs are used
  resolveCache?: (e: { host: string; port: number }) => { host: string; port: number };
}): Promise<unknown[]> {
  const manifest = readManifestFile(opts.manifestFile);
  const redis = manifest.cache ? connectRedis(manifest.cache, { authString: opts.cacheAuth, resolve: opts.resolveCache }) : undefined;
  const db = createDbClient({ manifest, redis, connection: { user: opts.user, password: opts.password }, resolve: opts.resolve });
  db.events.on("alert", (a) => console.warn(`pool ${a.endpoint} at ${Math.round(a.utilisation * 100)} %: ${a.level}`));
  db.events.on("slowQuery", (q) => console.warn(`slow query on ${q.endpoint}: ${q.durationMs.toFixed(0)} ms`));
  try {
    await db.write("CREATE TABLE IF NOT EXISTS lessons (course_id int, title text)");
    const outline = await db.cachedRead("SELECT title FROM lessons WHERE course_id = $1 ORDER BY title", [42], { ttl: "l3", tags: ["course:42"] });
    await db.write("INSERT INTO lessons VALUES ($1, $2)", [42, "Intro"]);
    await db.cache.invalidateTag("course:42"); // after a write, drop what it changed
    return [outline, await db.cachedRead("SELECT title FROM lessons WHERE course_id = $1 ORDER BY title", [42], { ttl: "l3", tags: ["course:42"] })];
  } finally {
    await db.close();
    redis?.disconnect();
  }
}
