/**
 * What channel_producer and channel_consumer share: the channel's default
 * name and size, opening it whichever of the two comes first, and the
 * consumer's account of what each producer sent.
 *
 * Each message is the text "RUNTIME pid P: message I", I counting from 0 for
 * each producer, as in producer/consumer.
 *
 * @module
 */
import { Channel, ErrnoError } from "../mod.ts";

/** The default name of the channel. */
export const CHANNEL_NAME = "/channel";

/** The default ring size in bytes: the 16 slots of 256 bytes of producer/consumer. */
export const CHANNEL_CAPACITY = 4096;

/** Removes the channel's name; one already removed is no error. */
export function unlinkQuietly(name: string): void {
  try {
    Channel.unlink(name);
  } catch (error) {
    if (!(error instanceof ErrnoError && error.code === "ENOENT")) throw error;
  }
}

const MESSAGE = /^(deno|bun) pid (\d+): message (\d+)$/;

/** The text of a producer's message `index`. */
export function messageText(runtime: string, pid: number, index: number): string {
  return `${runtime} pid ${pid}: message ${index}`;
}

/**
 * The consumer's account: for each producer ("deno pid 12"), how many of
 * its messages arrived, and the first that broke the order (a message that
 * is not the one after the last from the same producer: reordered, repeated
 * or one missing before it) or that is not a producer's message at all.
 */
export class Tally {
  /** Messages received, all producers. */
  received = 0;
  /** The next index expected from each producer, in order of first message. */
  readonly next: Map<string, number> = new Map();
  /** The first problem seen, if any. */
  problem: string | undefined;

  /** Counts one message. */
  add(text: string): void {
    this.received += 1;
    const m = MESSAGE.exec(text);
    if (m === null) {
      this.problem ??= `not a producer's message: ${JSON.stringify(text.slice(0, 80))}`;
      return;
    }
    const who = `${m[1]} pid ${m[2]}`;
    const expected = this.next.get(who) ?? 0;
    const index = Number(m[3]);
    if (index !== expected) {
      this.problem ??= `${who} sent message ${index} where message ${expected} was due`;
    }
    this.next.set(who, Math.max(expected, index + 1));
  }

  /** Producers heard from. */
  get producers(): number {
    return this.next.size;
  }

  /**
   * "received R from P producers (deno pid 12: 100, bun pid 13: 100), each in
   * order, none missing", or what went wrong instead.
   */
  summary(): string {
    const each = [...this.next].map(([who, n]) => `${who}: ${n}`).join(", ");
    const from = `received ${this.received} from ${this.producers} producers` +
      (each === "" ? "" : ` (${each})`);
    return this.problem === undefined
      ? `${from}, each in order, none missing`
      : `${from}: OUT OF ORDER, ${this.problem}`;
  }
}
