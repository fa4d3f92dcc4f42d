/**
 * The errors only a {@linkcode Channel} throws.
 *
 * @module
 */

/**
 * Sending on a channel whose stream has ended: every sender closed, or
 * someone called `end()`.
 *
 * @example
 * ```ts
 * import { Channel, ChannelEndedError } from "../mod.ts";
 * using ch = Channel.create(`/doc-ended-${Date.now()}`, { capacity: 4096 });
 * ch.end();
 * try {
 *   ch.send(new Uint8Array([1]));
 * } catch (error) {
 *   console.assert(error instanceof ChannelEndedError);
 * }
 * ch.unlink();
 * ```
 */
export class ChannelEndedError extends Error {
  /**
   * Builds the error.
   *
   * @param what Names the channel, e.g. `channel "/jobs"`.
   */
  constructor(what: string) {
    super(`Cannot send on ${what}: its stream has ended`);
    this.name = "ChannelEndedError";
  }
}

/**
 * Opening a shared memory object that is not a channel, or a channel of a
 * format version this shmkit does not read. The message names what was
 * found.
 *
 * @example
 * ```ts
 * import { Channel, ChannelFormatError, SharedMemory } from "../mod.ts";
 * const name = `/doc-format-${Date.now()}`;
 * using shm = SharedMemory.create(name, 4096);
 * try {
 *   Channel.open(name);
 * } catch (error) {
 *   console.assert(error instanceof ChannelFormatError);
 * }
 * shm.unlink();
 * ```
 */
export class ChannelFormatError extends Error {
  /**
   * Builds the error.
   *
   * @param what Names the object, e.g. `shared memory "/jobs"`.
   * @param found What its bytes hold instead.
   */
  constructor(what: string, found: string) {
    super(`Cannot open ${what} as a channel: ${found}`);
    this.name = "ChannelFormatError";
  }
}
