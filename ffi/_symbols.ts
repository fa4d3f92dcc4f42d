/**
 * The libc functions shmkit calls, declared once as data. Each backend
 * (`_deno.ts`, `_bun.ts`) translates this table for its runtime's `dlopen`;
 * nothing else in the project names an FFI type.
 *
 * Types are C-level and exact: `i32` for `int`, `u32` for `mode_t`/`unsigned`,
 * `i64` for `off_t`/`long`/`time_t`, `usize` for `size_t`, `pointer` for an
 * address that libc hands back or that we computed, and `buffer` for memory the
 * caller owns (a NUL-terminated string, an out-struct) that is only read or
 * written during the call.
 *
 * `blocking: true` marks the calls shmkit makes off the JS thread, through
 * `libcAsync`: where the runtime can run a foreign call on another thread
 * (Deno), the backend binds an asynchronous twin of each. Calls that merely
 * may sleep (`msgsnd`, `msgrcv`) are not marked: they are only ever made
 * on the calling thread, and a twin nobody calls is a binding for nothing.
 *
 * @module
 */

/** A C type, spelled as both backends understand after translation. */
export type CType =
  | "void"
  | "i32"
  | "u32"
  | "i64"
  | "u64"
  | "usize"
  | "isize"
  | "pointer"
  | "buffer";

/** One libc function: its parameters, its result and whether it is also called off-thread. */
export interface SymbolSpec {
  readonly parameters: readonly CType[];
  readonly result: CType;
  readonly blocking?: boolean;
}

export const LIBC_SYMBOLS = {
  // int *__errno_location(void): errno is per thread; this finds ours.
  __errno_location: { parameters: [], result: "pointer" },

  // int shm_open(const char *name, int oflag, mode_t mode)
  shm_open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  // int shm_unlink(const char *name)
  shm_unlink: { parameters: ["buffer"], result: "i32" },
  // int open(const char *path, int flags, mode_t mode)
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  // int unlink(const char *path)
  unlink: { parameters: ["buffer"], result: "i32" },
  // int close(int fd)
  close: { parameters: ["i32"], result: "i32" },
  // int ftruncate(int fd, off_t length)
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  // int fstat(int fd, struct stat *buf)
  fstat: { parameters: ["i32", "buffer"], result: "i32" },
  // int posix_fallocate(int fd, off_t offset, off_t len): returns the error
  // number itself (0 on success) and leaves errno alone.
  posix_fallocate: { parameters: ["i32", "i64", "i64"], result: "i32" },
  // int madvise(void *addr, size_t length, int advice)
  madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  // off_t lseek(int fd, off_t offset, int whence)
  lseek: { parameters: ["i32", "i64", "i32"], result: "i64" },
  // int fchmod(int fd, mode_t mode)
  fchmod: { parameters: ["i32", "u32"], result: "i32" },
  // int chmod(const char *path, mode_t mode)
  chmod: { parameters: ["buffer", "u32"], result: "i32" },

  // void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
  mmap: {
    parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"],
    result: "pointer",
  },
  // int munmap(void *addr, size_t length)
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  // int msync(void *addr, size_t length, int flags)
  msync: { parameters: ["pointer", "usize", "i32"], result: "i32" },

  // key_t ftok(const char *pathname, int proj_id)
  ftok: { parameters: ["buffer", "i32"], result: "i32" },
  // int shmget(key_t key, size_t size, int shmflg)
  shmget: { parameters: ["i32", "usize", "i32"], result: "i32" },
  // void *shmat(int shmid, const void *shmaddr, int shmflg)
  shmat: { parameters: ["i32", "pointer", "i32"], result: "pointer" },
  // int shmdt(const void *shmaddr)
  shmdt: { parameters: ["pointer"], result: "i32" },
  // int shmctl(int shmid, int cmd, struct shmid_ds *buf)
  shmctl: { parameters: ["i32", "i32", "buffer"], result: "i32" },

  // int msgget(key_t key, int msgflg)
  msgget: { parameters: ["i32", "i32"], result: "i32" },
  // int msgsnd(int msqid, const void *msgp, size_t msgsz, int msgflg)
  msgsnd: { parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
  // ssize_t msgrcv(int msqid, void *msgp, size_t msgsz, long msgtyp, int msgflg)
  msgrcv: { parameters: ["i32", "buffer", "usize", "i64", "i32"], result: "isize" },
  // int msgctl(int msqid, int cmd, struct msqid_ds *buf)
  msgctl: { parameters: ["i32", "i32", "buffer"], result: "i32" },

  // int sem_init(sem_t *sem, int pshared, unsigned int value)
  sem_init: { parameters: ["pointer", "i32", "u32"], result: "i32" },
  // int sem_destroy(sem_t *sem)
  sem_destroy: { parameters: ["pointer"], result: "i32" },
  // sem_t *sem_open(const char *name, int oflag, mode_t mode, unsigned int value)
  // (variadic in C; on both supported ABIs the two extra arguments travel in
  // registers exactly like fixed ones)
  sem_open: { parameters: ["buffer", "i32", "u32", "u32"], result: "pointer" },
  // int sem_close(sem_t *sem)
  sem_close: { parameters: ["pointer"], result: "i32" },
  // int sem_unlink(const char *name)
  sem_unlink: { parameters: ["buffer"], result: "i32" },

  // long syscall(long number, ...): used for futex(2), which glibc does not
  // wrap. Every argument is passed full width, as the variadic callee reads
  // longs: futex(uaddr, op, val, timeout, uaddr2, val3). Async waits sleep
  // in it off-thread (sync/_helper_threads.ts).
  syscall: {
    parameters: ["i64", "pointer", "i64", "i64", "buffer", "pointer", "i64"],
    result: "i64",
    blocking: true,
  },
  // int kill(pid_t pid, int sig): with sig 0, asks whether a process or
  // thread id exists (used to tell whether a mutex holder is still alive).
  kill: { parameters: ["i32", "i32"], result: "i32" },
  // ssize_t read(int fd, void *buf, size_t count)
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // int clock_gettime(clockid_t clk, struct timespec *tp)
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  // pid_t gettid(void)
  gettid: { parameters: [], result: "i32" },
  // pid_t getpid(void)
  getpid: { parameters: [], result: "i32" },
  // char *getenv(const char *name): the C environment is the one place every
  // thread (every Worker's isolate) of the process can find; see _registry.ts.
  getenv: { parameters: ["buffer"], result: "pointer" },
  // int setenv(const char *name, const char *value, int overwrite)
  setenv: { parameters: ["buffer", "buffer", "i32"], result: "i32" },
  // size_t strlen(const char *s)
  strlen: { parameters: ["pointer"], result: "usize" },
} as const satisfies Record<string, SymbolSpec>;
