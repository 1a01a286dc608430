/**
 * How this program opens a PostgreSQL session: the migrations provider (inside
 * `pulumi up`), `npm run local` and the recovery drill all connect through
 * here, so they share one set of rules:
 *
 * - TLS always verifies the server against the instance's server CA; a
 *   plain-text session is refused unless the caller allows it explicitly AND
 *   the host is a loopback address (the embedded server of `npm run local`).
 * - Connecting is bounded by a timeout, and every failure becomes a
 *   {@link ConnectError} that says what is wrong and how to fix it.
 * - Passwords never appear in messages: {@link scrub} removes them.
 * - A private-IP-only instance is reached either directly from a runner inside
 *   the VPC, or through the Cloud SQL Node.js connector (private IP, IAM
 *   authentication). See docs/connectivity.md.
 *
 * This module is serialized into the dynamic provider by value (Pulumi's
 * closure serializer), so it keeps to plain functions and data, and loads the
 * connector lazily.
 */
import * as net from "net";
import type * as tls from "tls";
import { Client, type ClientConfig } from "pg";

/** PostgreSQL's port; Cloud SQL listens on it on private and public IPs. */
export const DEFAULT_PORT = 5432;
/**
 * Upper bound on opening a session (TCP, TLS, authentication). A Cloud SQL
 * instance answers on its private IP within a few hundred milliseconds; 15 s
 * leaves room for a connector cold start (ephemeral certificate fetch) and
 * still fails a `pulumi up` quickly when a firewall drops the packets.
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
/** Idle time before TCP keepalives start, so a long migration notices a dead peer. Linux's default (2 h) is far too long. */
export const KEEPALIVE_INITIAL_DELAY_MS = 30_000;
/** What replaces a secret in every message. */
export const REDACTED = "[secret]";

/** How to reach the instance through the Cloud SQL Node.js connector instead of a direct TCP connection. */
export interface ConnectorTarget {
  /** Instance connection name, `project:region:instance`. */
  readonly instanceConnectionName: string;
  /** Which of the instance's addresses to dial. @default "PRIVATE" */
  readonly ipType?: "PRIVATE" | "PUBLIC" | "PSC";
  /** Log in with IAM database authentication (no password; `user` is the IAM database user). @default false */
  readonly iamAuth?: boolean;
}

/** One database session to open. */
export interface PgTarget {
  /** Host name or IP address (the instance's private IP inside the VPC); ignored with `connector`. */
  readonly host: string;
  /** TCP port. @default 5432 */
  readonly port?: number;
  /** Database to connect to. */
  readonly database: string;
  /** Login user. */
  readonly user: string;
  /** Password; a secret. Not needed with IAM authentication. @default undefined */
  readonly password?: string;
  /** PEM of the CA that signed the server's certificate (Cloud SQL: the instance's server CA). Required unless plain text is allowed. @default undefined */
  readonly serverCa?: string;
  /**
   * Name the server certificate must carry (CN or DNS SAN), e.g. Cloud SQL's
   * `project:instance`. Without it the chain is verified but not the name,
   * like libpq's `sslmode=verify-ca`; a per-instance CA already pins the instance.
   * @default undefined
   */
  readonly serverName?: string;
  /** Allow a plain-text session; honoured only for loopback hosts. @default false */
  readonly allowPlaintext?: boolean;
  /** Bound on opening the session, in ms. @default DEFAULT_CONNECT_TIMEOUT_MS */
  readonly connectTimeoutMs?: number;
  /** Reach the instance through the Cloud SQL connector. @default undefined (direct TCP) */
  readonly connector?: ConnectorTarget;
  /** `application_name` the server shows in pg_stat_activity. @default "lp-db" */
  readonly applicationName?: string;
}

/** What went wrong while connecting. */
export type ConnectErrorKind = "config" | "plaintext-refused" | "tls" | "auth" | "timeout" | "unreachable" | "other";

/** A connection failure with a message that names the target, the cause and the fix, and no secret. */
export interface ConnectError extends Error {
  readonly name: "ConnectError";
  readonly kind: ConnectErrorKind;
  /** SQLSTATE or Node error code of the underlying failure, if any. */
  readonly code?: string;
}

/**
 * Makes a {@link ConnectError}. A factory rather than an `Error` subclass:
 * Pulumi's closure serializer rewrites `super(message)` into
 * `Error.call(this, message)`, which leaves the message empty.
 */
export function connectError(kind: ConnectErrorKind, message: string, code?: string): ConnectError {
  return Object.assign(new Error(message), { name: "ConnectError" as const, kind, code });
}

/** True for errors made by {@link connectError}. */
export function isConnectError(err: unknown): err is ConnectError {
  return err instanceof Error && err.name === "ConnectError" && typeof (err as { kind?: unknown }).kind === "string";
}

/** True for 127.0.0.0/8, ::1 and `localhost`: the only hosts a plain-text session may go to. */
export function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, "");
  if (h === "localhost" || h === "::1") return true;
  return net.isIPv4(h) && h.startsWith("127.");
}

/** Anything that starts like a URL (`scheme://`), up to whitespace or a quote. */
const URL_TOKEN = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'`<>]+/gi;

/** Replaces every secret (raw and URL-encoded) and the password of anything that looks like a URL in `text`. */
export function scrub(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join(REDACTED);
  }
  return out
    .replace(URL_TOKEN, (url) => {
      // Userinfo ends at the LAST "@" (WHATWG URL parsing does the same), so a password holding "@", "/", ":" or "#" goes whole.
      const at = url.lastIndexOf("@");
      if (at < 0) return url;
      const scheme = url.indexOf("://") + 3;
      const userinfo = url.slice(scheme, at);
      const colon = userinfo.indexOf(":");
      return colon < 0 ? url : `${url.slice(0, scheme)}${userinfo.slice(0, colon)}:${REDACTED}${url.slice(at)}`;
    })
    .replace(/(\bpassword\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&]+)/gi, `$1${REDACTED}`);
}

/** `user@host:port/database`, for messages. */
export function describeTarget(target: PgTarget): string {
  const where = target.connector
    ? `${target.connector.instanceConnectionName} (Cloud SQL connector, ${target.connector.ipType ?? "PRIVATE"} IP)`
    : `${target.host}:${target.port ?? DEFAULT_PORT}`;
  return `${target.user}@${where}/${target.database}`;
}

/** Node's TLS options for a target: the server CA as the only trust anchor, and the optional name check. */
export function tlsOptions(target: PgTarget): tls.ConnectionOptions {
  if (!target.serverCa || !target.serverCa.includes("-----BEGIN CERTIFICATE-----")) {
    throw connectError(
      "config",
      `${describeTarget(target)}: no server CA certificate (PEM) given; pass the instance's server CA ` +
        `(gcp.sql.DatabaseInstance serverCaCerts[0].cert) so the server can be verified`,
    );
  }
  const expected = target.serverName;
  return {
    ca: [target.serverCa],
    rejectUnauthorized: true,
    // Cloud SQL certificates name the instance, not the IP we dial, so the host
    // name check is replaced by an optional check of the instance name.
    checkServerIdentity: (_host: string, cert: tls.PeerCertificate) => {
      if (!expected) return undefined;
      const names = [String(cert.subject?.CN ?? ""), ...String(cert.subjectaltname ?? "").split(/,\s*/).map((n) => n.replace(/^DNS:/, ""))];
      return names.includes(expected)
        ? undefined
        : new Error(`server certificate is for ${names.filter(Boolean).join(", ") || "(no name)"}, not ${expected}`);
    },
  };
}

/**
 * The `pg` client settings for a direct connection. Throws a
 * {@link ConnectError} when the target would send credentials in plain text.
 */
export function clientConfig(target: PgTarget): ClientConfig {
  const base: ClientConfig = {
    host: target.host,
    port: target.port ?? DEFAULT_PORT,
    database: target.database,
    user: target.user,
    password: target.password,
    connectionTimeoutMillis: target.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_INITIAL_DELAY_MS,
    application_name: target.applicationName ?? "lp-db",
  };
  if (target.allowPlaintext && !target.serverCa) {
    if (!isLoopback(target.host)) {
      throw connectError(
        "plaintext-refused",
        `${describeTarget(target)}: plain-text connections are allowed only to loopback hosts (127.0.0.1, ::1, localhost); ` +
          `give the instance's server CA to connect over TLS`,
      );
    }
    return { ...base, ssl: false };
  }
  if (!target.serverCa) {
    throw connectError(
      "plaintext-refused",
      `${describeTarget(target)}: refusing a plain-text connection; give the instance's server CA ` +
        `(or, for a local embedded server only, allow plain text explicitly)`,
    );
  }
  return { ...base, ssl: tlsOptions(target) };
}

// Arrays, not Sets: the closure serializer turns a captured Set into a plain object.
const TLS_CODES: readonly string[] = [
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_SIGNATURE_FAILURE",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "ERR_SSL_WRONG_VERSION_NUMBER",
];
const UNREACHABLE_CODES: readonly string[] = ["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "ECONNRESET", "EPIPE"];

/** Turns whatever `connect` threw into a {@link ConnectError} with a fix, scrubbed of the password. */
export function explainConnectError(err: unknown, target: PgTarget): ConnectError {
  if (isConnectError(err)) return connectError(err.kind, scrub(err.message, [target.password]), err.code);
  const e = (err ?? {}) as { code?: string; message?: string };
  const code = typeof e.code === "string" ? e.code : undefined;
  const raw = scrub(String(e.message ?? err), [target.password]);
  const who = describeTarget(target);
  const timeout = target.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const privateHint =
    "if the instance has only a private IP, run from inside its VPC or through the Cloud SQL connector (docs/connectivity.md)";
  let kind: ConnectErrorKind = "other";
  let text: string;
  if (target.connector && /credentials|permission|forbidden|403|401|not authorized|Admin API/i.test(raw)) {
    kind = "config";
    text =
      `${who}: the Cloud SQL connector could not get the instance's connection info (${raw}); it needs Application Default ` +
      `Credentials with roles/cloudsql.client (and roles/cloudsql.instanceUser for IAM login) and the Cloud SQL Admin API enabled (docs/connectivity.md)`;
  } else if (code === "28P01" || code === "28000") {
    kind = "auth";
    text = `${who}: authentication failed (${raw}); check the user's password (a secret in the stack config) and that the user exists on the instance`;
  } else if (code === "3D000") {
    kind = "config";
    text = `${who}: database does not exist (${raw}); create it first or fix the database name`;
  } else if (/does not support SSL/i.test(raw)) {
    kind = "tls";
    text = `${who}: the server does not accept TLS connections; a Cloud SQL instance always does, so check the host and port`;
  } else if ((code && TLS_CODES.includes(code)) || /certificate|self[- ]signed|ssl|tls/i.test(raw)) {
    kind = "tls";
    text = `${who}: TLS verification failed (${raw}); the server's certificate is not signed by the given server CA — pass this instance's current server CA`;
  } else if (/timeout expired|timed out|ETIMEDOUT/i.test(raw) || code === "ETIMEDOUT") {
    kind = "timeout";
    text = `${who}: no answer within the ${timeout} ms connect timeout; ${privateHint}, and check firewall rules and the authorized networks`;
  } else if ((code && UNREACHABLE_CODES.includes(code)) || /terminated unexpectedly|connect E/i.test(raw)) {
    kind = "unreachable";
    text = `${who}: cannot reach the server (${raw}); ${privateHint}`;
  } else {
    text = `${who}: connection failed (${raw})`;
  }
  return connectError(kind, text, code);
}

/** Lazily loaded, so that deployments not using the connector never load Google's auth libraries. */
async function connectorOptions(target: PgTarget & { connector: ConnectorTarget }): Promise<{ options: Partial<ClientConfig>; close: () => void }> {
  const lib = require("@google-cloud/cloud-sql-connector") as typeof import("@google-cloud/cloud-sql-connector");
  const connector = new lib.Connector();
  try {
    const driver = await connector.getOptions({
      instanceConnectionName: target.connector.instanceConnectionName,
      ipType: lib.IpAddressTypes[target.connector.ipType ?? "PRIVATE"],
      authType: target.connector.iamAuth ? lib.AuthTypes.IAM : lib.AuthTypes.PASSWORD,
    });
    return { options: driver as unknown as Partial<ClientConfig>, close: () => connector.close() };
  } catch (err) {
    connector.close();
    throw err;
  }
}

/** Rejects with a timeout error if `promise` does not settle within `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error("timeout expired"), { code: "ETIMEDOUT" })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Opens a session. The client's `end()` also releases the connector, if one
 * was used. Every failure is a {@link ConnectError}.
 */
export async function connect(target: PgTarget): Promise<Client> {
  const timeoutMs = target.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  let release: (() => void) | undefined;
  try {
    let config: ClientConfig;
    if (target.connector) {
      const via = await within(connectorOptions({ ...target, connector: target.connector }), timeoutMs);
      release = via.close;
      // The connector's stream carries its own TLS (ephemeral client certificate, instance identity checked by the connector).
      config = {
        ...via.options,
        database: target.database,
        user: target.user,
        password: target.connector.iamAuth ? undefined : target.password,
        connectionTimeoutMillis: timeoutMs,
        application_name: target.applicationName ?? "lp-db",
      };
    } else {
      config = clientConfig(target);
    }
    const client = new Client(config);
    // A session error after connect (e.g. the backend was terminated) must not crash the process; queries still reject.
    client.on("error", () => undefined);
    if (release) client.once("end", release);
    await client.connect();
    return client;
  } catch (err) {
    release?.();
    throw explainConnectError(err, target);
  }
}

/** Runs `fn` with an open session and always closes it. */
export async function withConnection<T>(target: PgTarget, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connect(target);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
