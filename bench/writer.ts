/**
 * Application writes that keep going while the optimisation migrations run:
 * one session inserts analytics events, another updates lesson progress. Each
 * records when every write committed (for the longest stall) and what it
 * committed (to count rows lost afterwards).
 */
import type { ClientBase } from "pg";
import type { WriteGap, WriterName } from "./stalls";

/** Pause between writes: ~200 writes/s per writer, a steady trickle that leaves the 2 cores to the migration. */
const WRITE_PAUSE_MS = 5;
/** Progress rows the updater cycles through. */
const PROGRESS_ROWS = 200;
/** Marks the writer's events so they can be counted afterwards. */
export const WRITER_EVENT_TYPE = "bench_writer";

/** What the writers did while they ran. */
export interface WriterReport {
  /** Longest time between two consecutive commits of one writer, or from start to its first commit (ms). */
  readonly maxWriteStallMs: number;
  /** performance.now() when that stall ended, and which writer saw it. */
  readonly maxWriteStallEndedAt: number;
  readonly maxWriteStallWriter: "events" | "progress";
  readonly eventsCommitted: number;
  readonly progressUpdatesCommitted: number;
  /** Writes that failed (counted, never retried as the same row, so they cannot be counted as committed). */
  readonly errors: number;
  readonly firstError?: string;
  /** Every gap between two consecutive commits of either writer, for the stall per migration file (bench/stalls.ts). */
  readonly gaps: readonly WriteGap[];
}

/** One writer loop; `write(seq)` performs one committed write. */
class Loop {
  maxGapMs = 0;
  /** performance.now() when the longest gap ended. */
  maxGapEndedAt = 0;
  committed = 0;
  errors = 0;
  firstError?: string;
  /** Every gap between commits (from start to the first commit, and to the stop), in order. */
  readonly gaps: WriteGap[] = [];
  private stopped = false;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly name: WriterName,
    private readonly write: (seq: number) => Promise<void>,
  ) {}

  start(): void {
    this.done = this.run();
  }

  private async run(): Promise<void> {
    let last = performance.now();
    let seq = 0;
    while (!this.stopped) {
      seq++;
      try {
        await this.write(seq);
        const now = performance.now();
        this.gaps.push({ writer: this.name, start: last, end: now });
        if (now - last > this.maxGapMs) {
          this.maxGapMs = now - last;
          this.maxGapEndedAt = now;
        }
        last = now;
        this.committed++;
      } catch (err) {
        this.errors++;
        this.firstError ??= (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, WRITE_PAUSE_MS));
    }
    // The stall in progress when the run ended counts too.
    const end = performance.now();
    this.gaps.push({ writer: this.name, start: last, end });
    if (end - last > this.maxGapMs) {
      this.maxGapMs = end - last;
      this.maxGapEndedAt = end;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

/** Writers started against the populated database; `stop()` ends them and `verify()` counts rows lost. */
export class Writers {
  private readonly events: Loop;
  private readonly progress: Loop;
  /** Last value each progress row was committed with. */
  private readonly expected = new Map<string, number>();
  /** Sequence numbers of the events whose insert committed. */
  private readonly eventSeqs: number[] = [];
  private progressIds: string[] = [];

  constructor(
    private readonly eventClient: ClientBase,
    private readonly progressClient: ClientBase,
    private readonly sample: { readonly userId: string; readonly courseId: string; readonly lessonId: string },
  ) {
    this.events = new Loop("events", async (seq) => {
      await this.eventClient.query(
        `INSERT INTO analytics_events (user_id, course_id, lesson_id, event_type, properties, occurred_at)
         VALUES ($1, $2, $3, '${WRITER_EVENT_TYPE}', jsonb_build_object('seq', $4::int), now())`,
        [this.sample.userId, this.sample.courseId, this.sample.lessonId, seq],
      );
      this.eventSeqs.push(seq);
    });
    this.progress = new Loop("progress", async (seq) => {
      const id = this.progressIds[seq % this.progressIds.length];
      const r = await this.progressClient.query("UPDATE lesson_progress SET progress_percent = $2::int % 100, updated_at = now() WHERE id = $1", [id, seq]);
      if (r.rowCount !== 1) throw new Error(`lesson_progress row ${id} not found`);
      this.expected.set(id, seq % 100);
    });
  }

  /** Picks the progress rows to update and starts both writers. */
  async start(): Promise<void> {
    const r = await this.progressClient.query<{ id: string }>(`SELECT id FROM lesson_progress ORDER BY id LIMIT ${PROGRESS_ROWS}`);
    this.progressIds = r.rows.map((x) => x.id);
    if (this.progressIds.length === 0) throw new Error("writers: lesson_progress is empty; seed the database first");
    this.events.start();
    this.progress.start();
  }

  async stop(): Promise<WriterReport> {
    await Promise.all([this.events.stop(), this.progress.stop()]);
    const worst = this.events.maxGapMs >= this.progress.maxGapMs ? this.events : this.progress;
    return {
      maxWriteStallMs: worst.maxGapMs,
      maxWriteStallEndedAt: worst.maxGapEndedAt,
      maxWriteStallWriter: worst === this.events ? "events" : "progress",
      eventsCommitted: this.events.committed,
      progressUpdatesCommitted: this.progress.committed,
      errors: this.events.errors + this.progress.errors,
      firstError: this.events.firstError ?? this.progress.firstError,
      gaps: [...this.events.gaps, ...this.progress.gaps],
    };
  }

  /**
   * Rows lost: events whose insert committed but that are missing afterwards
   * (by sequence number), plus progress rows whose value is not the last one
   * committed. A failed write whose commit reached the server anyway can only
   * make this count higher, never hide a loss.
   */
  async verify(client: ClientBase): Promise<{ rowsLost: number; eventsPresent: number }> {
    const ev = await client.query<{ seq: number }>(`SELECT (properties->>'seq')::int AS seq FROM analytics_events WHERE event_type = '${WRITER_EVENT_TYPE}'`);
    const present = new Set(ev.rows.map((r) => r.seq));
    const missingEvents = this.eventSeqs.filter((s) => !present.has(s)).length;
    const ids = [...this.expected.keys()];
    const pr = await client.query<{ id: string; v: string }>("SELECT id, progress_percent::int AS v FROM lesson_progress WHERE id = ANY($1::bigint[])", [ids]);
    const actual = new Map(pr.rows.map((x) => [x.id, Number(x.v)]));
    const staleProgress = ids.filter((id) => actual.get(id) !== this.expected.get(id)).length;
    return { rowsLost: missingEvents + staleProgress, eventsPresent: ev.rows.length };
  }
}
