/**
 * A received message lent out of a {@linkcode Channel}'s ring.
 *
 * @module
 */

let lend: (bytes: Uint8Array, release: (taken: boolean) => void) => BorrowedMessage;
let giveBack: (message: BorrowedMessage) => void;

/**
 * Lends `bytes` (a view into the ring) until `release(taken)` is called,
 * once: with true by `release()`, with false by {@linkcode putBack}.
 * For `Channel` only; not exported from `mod.ts`.
 */
export function lendMessage(
  bytes: Uint8Array,
  release: (taken: boolean) => void,
): BorrowedMessage {
  return lend(bytes, release);
}

/** Ends a loan without taking the message: it stays first in the ring. */
export function putBack(message: BorrowedMessage): void {
  giveBack(message);
}

/**
 * A received message lent as a view into the ring, without a copy (see
 * {@linkcode Channel.borrow}). Until it is released, the channel's
 * receiving side is held: other receivers wait, and the bytes stay put.
 * `using` releases it at the end of the block.
 *
 * @example
 * ```ts
 * import { Channel } from "../mod.ts";
 * using ch = Channel.create(`/doc-borrow-${Date.now()}`, { capacity: 4096 });
 * ch.send(new TextEncoder().encode("hi"));
 * {
 *   using message = ch.borrow()!;
 *   console.assert(new TextDecoder().decode(message.bytes) === "hi");
 * } // released: the ring may reuse the bytes
 * ch.unlink();
 * ```
 */
export class BorrowedMessage implements Disposable {
  #bytes: Uint8Array | null;
  #release: ((taken: boolean) => void) | null;

  private constructor(bytes: Uint8Array, release: (taken: boolean) => void) {
    this.#bytes = bytes;
    this.#release = release;
  }

  static {
    lend = (bytes, release) => new BorrowedMessage(bytes, release);
    giveBack = (message) => message.#end(false);
  }

  /**
   * The message: a view into the shared ring, valid until `release()`.
   *
   * @throws {TypeError} After `release()`: the bytes may hold another
   *   message by then.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-borrow-bytes-${Date.now()}`, { capacity: 4096 });
   * ch.send(new Uint8Array([7, 8]));
   * using message = ch.borrow()!;
   * console.assert(message.bytes[1] === 8);
   * ch.unlink();
   * ```
   */
  get bytes(): Uint8Array {
    if (this.#bytes === null) throw new TypeError("The borrowed message was released");
    return this.#bytes;
  }

  /**
   * The message's length in bytes (0 once released).
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-borrow-length-${Date.now()}`, { capacity: 4096 });
   * ch.send(new Uint8Array(5));
   * using message = ch.borrow()!;
   * console.assert(message.length === 5);
   * ch.unlink();
   * ```
   */
  get length(): number {
    return this.#bytes?.length ?? 0;
  }

  /**
   * Gives the message's bytes back to the ring and the receiving side to
   * the next receiver. Idempotent; also done by the channel's `close()`.
   *
   * @example
   * ```ts
   * import { Channel } from "../mod.ts";
   * using ch = Channel.create(`/doc-borrow-release-${Date.now()}`, { capacity: 4096 });
   * ch.send(new Uint8Array([1]));
   * const message = ch.borrow()!;
   * message.release();
   * console.assert(ch.tryRecv() === null);
   * ch.unlink();
   * ```
   */
  release(): void {
    this.#end(true);
  }

  /** Ends the loan: the message counts as taken, or stays first in the ring. */
  #end(taken: boolean): void {
    const release = this.#release;
    if (release === null) return;
    this.#release = null;
    this.#bytes = null;
    release(taken);
  }

  /** Same as {@linkcode BorrowedMessage.release}, for `using`. */
  [Symbol.dispose](): void {
    this.release();
  }
}
