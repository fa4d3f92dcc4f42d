/**
 * Constants every Linux architecture shmkit supports shares: the generic
 * `fcntl.h`, `mman.h`, `ipc.h` and errno values. The per-architecture files
 * add what differs (struct layouts, library names).
 *
 * @module
 */

/** Linux errno numbers by name (asm-generic/errno-base.h and errno.h). */
export const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  7: "E2BIG",
  9: "EBADF",
  10: "ECHILD",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  27: "EFBIG",
  28: "ENOSPC",
  30: "EROFS",
  34: "ERANGE",
  35: "EDEADLK",
  36: "ENAMETOOLONG",
  38: "ENOSYS",
  42: "ENOMSG",
  43: "EIDRM",
  61: "ENODATA",
  75: "EOVERFLOW",
  95: "EOPNOTSUPP",
  110: "ETIMEDOUT",
  122: "EDQUOT",
  130: "EOWNERDEAD",
  131: "ENOTRECOVERABLE",
};

/** Human wording for the errno values a user of shared memory meets most. */
export const ERRNO_TEXT: Readonly<Record<string, string>> = {
  EPERM: "operation not permitted",
  ENOENT: "it does not exist",
  EINTR: "interrupted by a signal",
  EBADF: "bad file descriptor",
  EAGAIN: "resource temporarily unavailable",
  ENOMEM: "out of memory",
  EACCES: "permission denied",
  EFAULT: "bad address",
  EBUSY: "resource busy",
  EEXIST: "it already exists",
  ENODEV: "no such device",
  EISDIR: "it is a directory",
  EINVAL: "invalid argument",
  ENFILE: "too many open files in the system",
  EMFILE: "too many open files",
  EFBIG: "file too large",
  ENOSPC: "no space left",
  EROFS: "read-only file system",
  EDEADLK: "it would deadlock",
  ENAMETOOLONG: "name too long",
  ENOSYS: "not implemented",
  ENOMSG: "no message of the desired type",
  EIDRM: "it was removed",
  EOVERFLOW: "value too large",
  ETIMEDOUT: "timed out",
  EOWNERDEAD: "the previous owner died",
  ENOTRECOVERABLE: "state not recoverable",
};

/** Values from the generic Linux headers, identical on x86-64 and aarch64. */
export const LINUX_CONSTANTS = {
  O_RDONLY: 0,
  O_WRONLY: 1,
  O_RDWR: 2,
  O_CREAT: 0o100,
  O_EXCL: 0o200,
  O_TRUNC: 0o1000,
  O_NONBLOCK: 0o4000,
  /** lseek: the first hole at or after the offset (the size when there is none). */
  SEEK_HOLE: 4,
  O_CLOEXEC: 0o2000000,

  PROT_NONE: 0,
  PROT_READ: 1,
  PROT_WRITE: 2,
  MAP_SHARED: 1,
  MAP_PRIVATE: 2,
  MAP_ANONYMOUS: 0x20,
  /** Replace whatever is mapped at the address (same value on x86-64 and arm64). */
  MAP_FIXED: 0x10,
  /** Reserve no swap: untouched zero pages cost address space only. */
  MAP_NORESERVE: 0x4000,
  /** madvise: fault every page in now, reporting failure instead of SIGBUS (Linux 5.14+). */
  MADV_POPULATE_READ: 22,
  MADV_POPULATE_WRITE: 23,
  MS_ASYNC: 1,
  MS_INVALIDATE: 2,
  MS_SYNC: 4,

  IPC_PRIVATE: 0,
  IPC_CREAT: 0o1000,
  IPC_EXCL: 0o2000,
  IPC_NOWAIT: 0o4000,
  IPC_RMID: 0,
  IPC_SET: 1,
  IPC_STAT: 2,
  SHM_RDONLY: 0o10000,
  SHM_DEST: 0o1000,
  MSG_NOERROR: 0o10000,

  CLOCK_REALTIME: 0,
  CLOCK_MONOTONIC: 1,

  FUTEX_WAIT: 0,
  FUTEX_WAKE: 1,
  FUTEX_WAIT_BITSET: 9,
  FUTEX_BITSET_MATCH_ANY: 0xffffffff,
  FUTEX_CLOCK_REALTIME: 256,
  /** The futex is private to this process (FUTEX_PRIVATE_FLAG). */
  FUTEX_PRIVATE_FLAG: 128,
  FUTEX_WAKE_BITSET: 10,
  /** futex2 flag for futex_waitv entries: the word is 32 bits. */
  FUTEX2_SIZE_U32: 2,
  /** struct futex_waitv { u64 val; u64 uaddr; u32 flags; u32 reserved; } */
  FUTEX_WAITV_SIZE: 24,
  /** The most entries futex_waitv accepts in one call. */
  FUTEX_WAITV_MAX: 128,

  /** st_mode's file type bits (sys/stat.h). */
  S_IFMT: 0o170000,
  S_IFREG: 0o100000,
  S_IFDIR: 0o040000,
  S_IFCHR: 0o020000,
  S_IFBLK: 0o060000,
  S_IFIFO: 0o010000,
  S_IFSOCK: 0o140000,
  S_IFLNK: 0o120000,

  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EAGAIN: 11,
  EBUSY: 16,
  EEXIST: 17,
  EINVAL: 22,
  EDEADLK: 35,
  EISDIR: 21,
  ENODEV: 19,
  EOPNOTSUPP: 95,
  ENOMSG: 42,
  EIDRM: 43,
  EPERM: 1,
  ETIMEDOUT: 110,
  EOVERFLOW: 75,
  EFAULT: 14,
  ENOSYS: 38,
  EOWNERDEAD: 130,
  ENOTRECOVERABLE: 131,

  NAME_MAX: 255,
  PATH_MAX: 4096,

  /** struct timespec { time_t tv_sec; long tv_nsec; } on LP64. */
  TIMESPEC_SIZE: 16,
  /** struct ipc_perm offsets inside shmid_ds / msqid_ds (LP64 glibc and musl). */
  IPC_PERM_UID: 4,
  IPC_PERM_GID: 8,
  IPC_PERM_CUID: 12,
  IPC_PERM_CGID: 16,
  IPC_PERM_MODE: 20,
  /** struct shmid_ds (LP64). */
  SHMID_DS_SIZE: 112,
  SHM_SEGSZ: 48,
  SHM_ATIME: 56,
  SHM_DTIME: 64,
  SHM_CTIME: 72,
  SHM_CPID: 80,
  SHM_LPID: 84,
  SHM_NATTCH: 88,
  /** struct msqid_ds (LP64). */
  MSQID_DS_SIZE: 120,
  MSG_STIME: 48,
  MSG_RTIME: 56,
  MSG_CTIME: 64,
  MSG_CBYTES: 72,
  MSG_QNUM: 80,
  MSG_QBYTES: 88,
  MSG_LSPID: 96,
  MSG_LRPID: 100,
  /** sem_t is four longs on LP64 glibc and musl. */
  SEM_T_SIZE: 32,
  SEM_T_ALIGN: 8,
  /** The largest value a sem_t holds (INT_MAX on glibc and musl). */
  SEM_VALUE_MAX: 0x7fffffff,
} as const;
