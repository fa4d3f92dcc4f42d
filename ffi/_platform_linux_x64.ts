/**
 * linux-x64: constants and struct layouts from glibc's and the kernel's
 * x86-64 headers (`bits/struct_stat.h`, `asm/unistd_64.h`).
 *
 * @module
 */
import { LINUX_CONSTANTS } from "./_linux.ts";

export const PLATFORM = {
  ...LINUX_CONSTANTS,
  name: "linux-x64",
  /** Candidate C libraries, tried in order: glibc, then musl. */
  libraries: ["libc.so.6", "libc.musl-x86_64.so.1", "/lib/ld-musl-x86_64.so.1"],
  /** struct stat (x86-64 has its own, not asm-generic). */
  STAT_SIZE: 144,
  STAT_MODE: 24,
  STAT_UID: 28,
  STAT_GID: 32,
  STAT_SIZE_FIELD: 48,
  /** Differs between architectures (asm/fcntl.h). */
  O_NOFOLLOW: 0o400000,
  SYS_futex: 202,
  /** futex_waitv(2), Linux 5.16+ (unistd_64.h / asm-generic/unistd.h). */
  SYS_futex_waitv: 449,
  /** process_vm_readv(2): reads memory that may not be readable, with EFAULT instead of a fault. */
  SYS_process_vm_readv: 310,
} as const;
