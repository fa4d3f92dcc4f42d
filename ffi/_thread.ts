/**
 * Who holds a Mutex, and whether they still live.
 *
 * A holder is a thread (the JS thread of a process or of a Worker). Its
 * identity fits in the mutex's 32-bit futex word next to the WAITERS bit:
 *
 *     bit 31      WAITERS: someone may sleep on the word; unlock must wake
 *     bits 22-30  tag: 1 + (the thread's start time in clock ticks % 511),
 *                 or 0 when /proc could not tell it
 *     bits 0-21   the thread id (Linux ids stay below 2^22, PID_MAX_LIMIT)
 *
 * A holder is dead when no task has its id any more (kill(tid, 0) fails with
 * ESRCH), when the task is a zombie waiting to be reaped, or when the id was
 * reused by a task whose start-time tag differs. Ids are those of the pid
 * namespace the processes share: every user of a mutex must see the same ids.
 *
 * @module
 */
import { errno, libc, platform } from "./_libc.ts";
import { cString } from "./_validate.ts";

export const WAITERS = 0x8000_0000 | 0;
export const ID_MASK = 0x7fff_ffff;
const TID_MASK = 0x3f_ffff;
const TAG_SHIFT = 22;

interface TaskStatus {
  state: string;
  tag: number;
}

const statBuffer = new Uint8Array(1024);
const decoder = new TextDecoder();

/** Reads /proc/<path>/stat: the task's state letter and start-time tag. */
function readStat(path: string): TaskStatus | null {
  const { O_RDONLY, O_CLOEXEC } = platform;
  const fd = libc.open(cString(`/proc/${path}/stat`), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return null;
  let length: number;
  try {
    length = Number(libc.read(fd, statBuffer, BigInt(statBuffer.length)));
  } finally {
    libc.close(fd);
  }
  if (length <= 0) return null;
  const text = decoder.decode(statBuffer.subarray(0, length));
  // The command name (field 2) may hold spaces and parentheses: fields are
  // counted from the last ")". Field 3 is the state, field 22 the start time.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const startTime = Number(fields[19]);
  if (fields.length < 20 || !Number.isFinite(startTime)) return null;
  return { state: fields[0], tag: 1 + (startTime % 511) };
}

let identity = 0;

/**
 * This thread's identity as it appears in a held mutex word (without the
 * WAITERS bit); computed once per thread.
 */
export function threadIdentity(): number {
  if (identity === 0) {
    const tid = libc.gettid();
    const status = readStat("thread-self") ?? readStat(`self/task/${tid}`);
    identity = (tid & TID_MASK) | ((status?.tag ?? 0) << TAG_SHIFT);
  }
  return identity;
}

/**
 * `identity` with another start-time tag: the word of a holder that gave
 * its lock up without unlocking (its region closed under the lock). To
 * every peer following the protocol, C included, the holder then looks dead
 * (same id, other tag), so the next locker takes the lock over and is told
 * `ownerDied`: what was guarded may be half-updated.
 */
export function abandonedIdentity(identity: number): number {
  const tag = (identity >>> TAG_SHIFT) & 0x1ff;
  return (identity & TID_MASK) | (((tag % 511) + 1) << TAG_SHIFT);
}

/**
 * True when no task has the thread id inside `word` any more (kill(tid, 0)
 * says ESRCH): the cheap first half of `holderAlive`.
 */
export function holderGone(word: number): boolean {
  return libc.kill(word & TID_MASK, 0) !== 0 && errno() === platform.ESRCH;
}

/**
 * Whether the holder recorded in `word` still runs. Answers true when it
 * cannot tell (a live holder must never lose its lock).
 */
export function holderAlive(word: number): boolean {
  const tid = word & TID_MASK;
  const tag = (word >>> TAG_SHIFT) & 0x1ff;
  if (tid === 0) return true;
  if (holderGone(word)) return false;
  const status = readStat(String(tid));
  if (status === null) return true;
  if (status.state === "Z" || status.state === "X" || status.state === "x") return false;
  return tag === 0 || status.tag === tag;
}
