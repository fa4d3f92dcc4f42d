/**
 * Descriptor-level helpers shared by the objects that map a file descriptor:
 * fstat, mmap with MAP_FAILED checked, and munmap/close that report errno.
 *
 * @module
 */
import { backend, errno, libc, platform } from "./_libc.ts";
import { ErrnoError } from "./errors.ts";

/** mmap's failure value, (void *) -1. */
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

/** What fstat tells about an open descriptor. */
export interface FileStatus {
  size: number;
  mode: number;
  uid: number;
  gid: number;
}

export function fstat(fd: number, action: string, path?: string): FileStatus {
  const out = new Uint8Array(platform.STAT_SIZE);
  if (libc.fstat(fd, out) !== 0) {
    throw new ErrnoError(errno(), "fstat", action, path);
  }
  const view = new DataView(out.buffer);
  return {
    size: Number(view.getBigInt64(platform.STAT_SIZE_FIELD, true)),
    mode: view.getUint32(platform.STAT_MODE, true) & 0o7777,
    uid: view.getUint32(platform.STAT_UID, true),
    gid: view.getUint32(platform.STAT_GID, true),
  };
}

export function ftruncate(fd: number, size: number, action: string, path?: string): void {
  if (libc.ftruncate(fd, BigInt(size)) !== 0) {
    throw new ErrnoError(errno(), "ftruncate", action, path);
  }
}

/** Maps `size` bytes of `fd`; writable private pages when `copyOnWrite`. */
export function mapDescriptor(
  fd: number,
  size: number,
  access: { writable: boolean; copyOnWrite: boolean },
  action: string,
  path?: string,
): bigint {
  const { PROT_READ, PROT_WRITE, MAP_SHARED, MAP_PRIVATE } = platform;
  const prot = access.writable || access.copyOnWrite ? PROT_READ | PROT_WRITE : PROT_READ;
  const flags = access.copyOnWrite ? MAP_PRIVATE : MAP_SHARED;
  const address = libc.mmap(null, BigInt(size), prot, flags, fd, 0n);
  if (address === MAP_FAILED) {
    throw new ErrnoError(errno(), "mmap", action, path);
  }
  return address;
}

export function unmap(address: bigint, size: number, action: string, path?: string): void {
  if (libc.munmap(backend.pointer(address), BigInt(size)) !== 0) {
    throw new ErrnoError(errno(), "munmap", action, path);
  }
}

export function closeDescriptor(fd: number, action: string, path?: string): void {
  if (libc.close(fd) !== 0) {
    throw new ErrnoError(errno(), "close", action, path);
  }
}
