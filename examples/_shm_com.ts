/**
 * The docs' `shm_com.h`, shared by shm1 and shm2 (and the docs' C programs):
 *
 * ```c
 * #define TEXT_SZ 2048
 * struct shared_use_st {
 *   int written_by_you;   // 1: a text waits for the reader; 0: the writer's turn
 *   char some_text[TEXT_SZ];
 * };
 * ```
 *
 * `written_by_you` is a `flag` slot: a plain C int that a `Flag` waits on.
 *
 * @module
 */
import { char, ErrnoError, flag, struct, SysVSharedMemory } from "../mod.ts";

export const TEXT_SZ = 2048;

/** struct shared_use_st; a text longer than TEXT_SZ - 1 bytes is cut. */
export const SharedUse = struct({
  writtenByYou: flag,
  someText: char(TEXT_SZ, { truncate: true }),
}, { name: "shared_use_st" });

/** The docs' key. */
export const SHM_KEY = 1234;

/** Removes the segment; one that another process removed first is fine. */
export function removeQuietly(seg: SysVSharedMemory): void {
  try {
    seg.remove();
  } catch (error) {
    if (!(error instanceof ErrnoError && (error.code === "EINVAL" || error.code === "EIDRM"))) {
      throw error;
    }
  }
}
