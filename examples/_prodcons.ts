/**
 * The region producer and consumer share: a control struct behind a layout
 * header, then the message slots.
 *
 * ```c
 * struct prodcons {
 *   sem_t mutex;     // guards everything below
 *   sem_t nempty;    // free slots
 *   sem_t nstored;   // filled slots
 *   int slots;       // how many slots follow
 *   int nput;        // the next slot a producer fills
 *   int sent;        // messages producers tried to send
 *   int dropped;     // ... of which dropped: no slot was free
 *   int producers;   // producers that started
 *   int finished;    // producers that finished
 * };
 * char msgdata[slots][MESSAGE_BYTES];
 * ```
 *
 * @module
 */
import { array, char, i32, semaphore, type SharedRegion, struct } from "../mod.ts";

export const Control = struct({
  mutex: semaphore,
  nempty: semaphore,
  nstored: semaphore,
  slots: i32,
  nput: i32,
  sent: i32,
  dropped: i32,
  producers: i32,
  finished: i32,
}, { name: "prodcons" });

/** Bytes of one slot: a NUL-terminated message. */
export const MESSAGE_BYTES = 256;
/** One slot; a longer message is cut to fit. */
const Message = char(MESSAGE_BYTES, { truncate: true });
/** Where the slots start: after the header and the control struct. */
const DATA = Control.headerByteLength + Control.byteLength;

/** The default name of the shared memory object. */
export const PRODCONS_NAME = "/prodcons";

/** Bytes the region needs for `slots` slots. */
export function prodconsBytes(slots: number): number {
  return DATA + slots * MESSAGE_BYTES;
}

/** The slots of a region holding `slots` of them. */
export function messages(region: SharedRegion, slots: number) {
  return array(Message, slots).at(region, DATA);
}
