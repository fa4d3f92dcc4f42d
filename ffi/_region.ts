/**
 * The internal side of {@linkcode SharedRegion}: the one check that a value
 * is one, and the hooks that run before one is released. `sync/` and
 * `layout/` reach regions only through the interface and these.
 *
 * @module
 */
import type { RegionAccess, SharedRegion } from "./region.ts";
import { describe } from "./_validate.ts";

const ACCESS: ReadonlySet<unknown> = new Set<RegionAccess>([
  "read-write",
  "copy-on-write",
  "read-only",
]);

/**
 * Checks that `region` has the members of a SharedRegion that layouts and
 * sync primitives use, before anything else touches it.
 *
 * @throws {TypeError} Naming what is missing.
 */
export function checkRegion(region: unknown): asserts region is SharedRegion {
  if (
    region === null || typeof region !== "object" ||
    typeof (region as SharedRegion).view !== "function" ||
    typeof (region as SharedRegion).unsafePointer !== "function"
  ) {
    throw new TypeError(
      `region must be a SharedRegion (SharedMemory, SysVSharedMemory or MappedFile), got ${
        describe(region)
      }`,
    );
  }
  const { description, access, size } = region as SharedRegion;
  if (typeof description !== "string") {
    throw new TypeError(
      `region.description must be a string naming the region, got ${describe(description)}`,
    );
  }
  if (!ACCESS.has(access)) {
    throw new TypeError(
      `region.access must be "read-write", "copy-on-write" or "read-only", got ${describe(access)}`,
    );
  }
  if (typeof size !== "number") {
    throw new TypeError(`region.size must be a number, got ${describe(size)}`);
  }
}

/**
 * Why a hook runs: `null` when the region is released (close, detach), else
 * the bytes a resize keeps mapped, which no longer reach the hook's words.
 */
export type Release = number | null;

interface Hook {
  readonly run: (release: Release) => void;
  /** The end of the words the hook tidies: a resize keeping this many runs none. */
  readonly byteEnd: number;
}

// By region; only regions with something pending have an entry. A WeakMap,
// so a hook never keeps a region alive by itself.
const hooks = new WeakMap<SharedRegion, Set<Hook>>();

/**
 * Runs `callback` when `region` is about to be released (close, detach), or
 * resized to fewer than `byteEnd` bytes, while its memory is still mapped: a
 * pending wait withdraws what it registered in shared words there. Runs once
 * at most. Returns the function that cancels it; call that when the wait
 * settles, so that nothing piles up.
 *
 * Only shmkit's own regions run the hooks; a region of another make is
 * released without them (its waits then notice on their next look).
 */
export function onRelease(
  region: SharedRegion,
  callback: (release: Release) => void,
  byteEnd: number,
): () => void {
  let registered = hooks.get(region);
  if (registered === undefined) hooks.set(region, registered = new Set());
  const set = registered;
  const hook: Hook = { run: callback, byteEnd };
  set.add(hook);
  return () => {
    set.delete(hook);
    if (set.size === 0 && hooks.get(region) === set) hooks.delete(region);
  };
}

/**
 * Runs and forgets the hooks of `region` that `release` cuts off: all of
 * them when it is released (`null`), those past the bytes a resize keeps
 * otherwise. Called by the region before it unmaps. A failing hook cannot
 * keep the memory mapped, so its error is dropped after the others have run.
 */
export function runReleaseHooks(region: SharedRegion, release: Release = null): void {
  const set = hooks.get(region);
  if (set === undefined) return;
  const due = [...set].filter((hook) => release === null || hook.byteEnd > release);
  for (const hook of due) set.delete(hook);
  if (set.size === 0) hooks.delete(region);
  for (const hook of due) {
    try {
      hook.run(release);
    } catch {
      // The memory goes all the same; the wait notices on its next poll.
    }
  }
}
