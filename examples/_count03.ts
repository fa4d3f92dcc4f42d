/**
 * The struct that count03_server creates and count03_client adds to:
 *
 * ```c
 * struct count03 {
 *   sem_t mutex;   // guards the ints below
 *   sem_t done;    // posted once by each client that finished
 *   int count;     // the counter
 *   int clients;   // clients that started
 *   int finished;  // clients that finished
 * };
 * ```
 *
 * It sits behind a layout header, so a client built with another idea of
 * the struct fails at attach instead of counting garbage.
 *
 * @module
 */
import { i32, semaphore, struct } from "../mod.ts";

export const Count03 = struct({
  mutex: semaphore,
  done: semaphore,
  count: i32,
  clients: i32,
  finished: i32,
}, { name: "count03" });

/** Bytes of the object: the header, then the struct. */
export const COUNT03_BYTES = Count03.headerByteLength + Count03.byteLength;

/** The default name of the shared memory object. */
export const COUNT03_NAME = "/count03";
