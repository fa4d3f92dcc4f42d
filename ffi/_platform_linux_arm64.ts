/**
 * linux-arm64: constants and struct layouts from the asm-generic headers that
 * aarch64 uses (`asm-generic/stat.h`, `asm-generic/unistd.h`).
 *
 * @module
 */
import { LINUX_CONSTANTS } from "./_linux.ts";

export const PLATFORM = {
  ...LINUX_CONSTANTS,
  name: "linux-arm64",
  /** Candidate C libraries, tried in order: glibc, then musl. */
  libraries: [
    "libc.so.6",
    "libc.musl-aarch64.so.1",
    "/lib/ld-musl-aarch64.so.1",
  ],
  /** struct stat (asm-generic: st_mode and st_nlink are 32-bit, 128 bytes). */
  STAT_SIZE: 128,
  STAT_MODE: 16,
  STAT_UID: 24,
  STAT_GID: 28,
  STAT_SIZE_FIELD: 48,
  /** Differs between architectures (asm/fcntl.h). */
  O_NOFOLLOW: 0o100000,
  SYS_futex: 98,
  /** futex_waitv(2), Linux 5.16+ (unistd_64.h / asm-generic/unistd.h). */
  SYS_futex_waitv: 449,
  /** process_vm_readv(2): reads memory that may not be readable, with EFAULT instead of a fault. */
  SYS_process_vm_readv: 270,
} as const;
