/**
 * What System V segments and message queues share: how a key is checked
 * and how an object is named in errors.
 *
 * @module
 */
import { platform } from "./_libc.ts";
import { validateInteger } from "./_validate.ts";

/** key_t is a C int; ftok keys above 2^31 arrive as negative ints. */
export function validateKey(key: unknown): asserts key is number {
  validateInteger(key, "key", -0x8000_0000, 0xffff_ffff);
}

/** Names an object in errors, e.g. `message queue with key 0x000004d2`. */
export function describeKey(kind: string, key: number): string {
  return `${kind} with key 0x${(key >>> 0).toString(16).padStart(8, "0")}`;
}

/** The owner and permission fields of struct ipc_perm, as both stat() calls report them. */
interface IpcOwnership {
  key: number;
  mode: number;
  uid: number;
  gid: number;
  cuid: number;
  cgid: number;
}

/** Reads struct ipc_perm, which starts both shmid_ds and msqid_ds. */
export function readIpcPerm(v: DataView): IpcOwnership {
  return {
    key: v.getInt32(0, true),
    // mode is 16 bits on x86-64 and 32 on aarch64; the permission bits sit
    // in the low 16 either way (little-endian).
    mode: v.getUint16(platform.IPC_PERM_MODE, true) & 0o777,
    uid: v.getUint32(platform.IPC_PERM_UID, true),
    gid: v.getUint32(platform.IPC_PERM_GID, true),
    cuid: v.getUint32(platform.IPC_PERM_CUID, true),
    cgid: v.getUint32(platform.IPC_PERM_CGID, true),
  };
}

/** A time_t field as a Date, or null when it is 0 (never happened). */
export function readTime(v: DataView, offset: number): Date | null {
  const seconds = Number(v.getBigInt64(offset, true));
  return seconds === 0 ? null : new Date(seconds * 1000);
}
