/**
 * Descriptor-level helpers shared by the objects that map a file descriptor:
 * fstat, mmap, munmap and close, each failing through `check()`.
 *
 * @module
 */
import { backend, libc, platform } from "./_libc.ts";
import { check, checkAddress, MAP_FAILED } from "./_check.ts";
import { ErrnoError } from "./errors.ts";

/**
 * Maps `size` bytes of private zero pages for this process's own use (the
 * sleepers' pages, the Worker registry), reserving no swap.
 *
 * @throws {ErrnoError} When mmap fails.
 */
export function mapAnonymous(size: number, action: string): bigint {
  const { PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_ANONYMOUS, MAP_NORESERVE } = platform;
  const flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
  const address = libc.mmap(null, BigInt(size), PROT_READ | PROT_WRITE, flags, -1, 0n);
  return checkAddress(address, MAP_FAILED, "mmap", action);
}

/** What fstat tells about an open descriptor. */
interface FileStatus {
  size: number;
  /** Permission bits only (`st_mode & 0o7777`). */
  mode: number;
  /** The file type bits (`st_mode & S_IFMT`). */
  type: number;
  uid: number;
  gid: number;
}

export function fstat(fd: number, action: string, path?: string): FileStatus {
  const out = new Uint8Array(platform.STAT_SIZE);
  check(libc.fstat(fd, out), "fstat", action, path);
  const view = new DataView(out.buffer);
  const mode = view.getUint32(platform.STAT_MODE, true);
  return {
    size: Number(view.getBigInt64(platform.STAT_SIZE_FIELD, true)),
    mode: mode & 0o7777,
    type: mode & platform.S_IFMT,
    uid: view.getUint32(platform.STAT_UID, true),
    gid: view.getUint32(platform.STAT_GID, true),
  };
}

export function ftruncate(fd: number, size: number, action: string, path?: string): void {
  check(libc.ftruncate(fd, BigInt(size)), "ftruncate", action, path);
}

/**
 * Grows the file behind `fd` to at least `size` bytes and reserves its blocks
 * (posix_fallocate). It never shrinks, so processes racing to size one object
 * can only make it bigger, never cut pages from under another's mapping; and
 * a full tmpfs or disk is an ENOSPC here instead of a SIGBUS at the first
 * write. Where the file system cannot reserve (musl reports EOPNOTSUPP; glibc
 * emulates it), it falls back to ftruncate, and only when the file is
 * smaller: that fallback reserves nothing and is not atomic against a racer.
 */
export function reserve(fd: number, size: number, action: string, path?: string): void {
  // posix_fallocate returns the error number; errno is not set. tmpfs gives
  // up with EINTR when a signal is pending (a child exiting, say): retry.
  let code: number;
  do code = libc.posix_fallocate(fd, 0n, BigInt(size)); while (code === platform.EINTR);
  if (code === 0) return;
  if (code !== platform.EOPNOTSUPP) throw new ErrnoError(code, "posix_fallocate", action, path);
  if (fstat(fd, action, path).size < size) ftruncate(fd, size, action, path);
}

/**
 * Allocates the holes in the first `size` bytes of a file this process did
 * not size itself. A C program sizes objects with ftruncate, which leaves
 * them sparse: their pages are allocated at the first touch, and in a full
 * tmpfs or disk that touch raises SIGBUS. Free when there is no hole (one
 * lseek); else posix_fallocate, so a full file system is ENOSPC now.
 */
export function reserveHoles(fd: number, size: number, action: string, path?: string): void {
  const hole = Number(libc.lseek(fd, 0n, platform.SEEK_HOLE));
  if (hole >= size) return;
  reserve(fd, size, action, path);
}

/** Sets the exact permission bits, which the umask filtered at creation. */
export function fchmod(fd: number, mode: number, action: string, path?: string): void {
  check(libc.fchmod(fd, mode), "fchmod", action, path);
}

const FILE_TYPES: Readonly<Record<number, string>> = {
  [platform.S_IFDIR]: "a directory",
  [platform.S_IFCHR]: "a character device",
  [platform.S_IFBLK]: "a block device",
  [platform.S_IFIFO]: "a FIFO",
  [platform.S_IFSOCK]: "a socket",
  [platform.S_IFLNK]: "a symbolic link",
};

/** "a FIFO", "a directory"... for a `FileStatus.type`. */
export function describeFileType(type: number): string {
  return FILE_TYPES[type] ?? `a file of type 0o${type.toString(8)}`;
}

/**
 * Maps `size` bytes of `fd`, always readable and writable: shared pages, or
 * private ones when `copyOnWrite` (so a stray write to a read-only object
 * stays in this process instead of faulting).
 */
export function mapDescriptor(
  fd: number,
  size: number,
  copyOnWrite: boolean,
  action: string,
  path?: string,
): bigint {
  const { PROT_READ, PROT_WRITE, MAP_SHARED, MAP_PRIVATE } = platform;
  const flags = copyOnWrite ? MAP_PRIVATE : MAP_SHARED;
  const address = libc.mmap(null, BigInt(size), PROT_READ | PROT_WRITE, flags, fd, 0n);
  return checkAddress(address, MAP_FAILED, "mmap", action, path);
}

export function unmap(address: bigint, size: number, action: string, path?: string): void {
  check(libc.munmap(backend.pointer(address), BigInt(size)), "munmap", action, path);
}

export function closeDescriptor(fd: number, action: string, path?: string): void {
  check(libc.close(fd), "close", action, path);
}
