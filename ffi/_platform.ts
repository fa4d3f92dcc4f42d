/**
 * Picks the constants for the machine we run on, once, at load. Any other OS
 * or architecture fails the import with an error naming what is supported.
 *
 * @module
 */
import process from "node:process";
import { PLATFORM as LINUX_X64 } from "./_platform_linux_x64.ts";
import { PLATFORM as LINUX_ARM64 } from "./_platform_linux_arm64.ts";

/** The constants and layouts of one supported platform. */
export type Platform = typeof LINUX_X64 | typeof LINUX_ARM64;

const SUPPORTED: Readonly<Record<string, Platform>> = {
  "linux-x64": LINUX_X64,
  "linux-arm64": LINUX_ARM64,
};

/** The constants for `os`-`arch`; throws naming what is supported otherwise. */
export function selectPlatform(os: string, arch: string): Platform {
  const here = `${os}-${arch}`;
  const found = SUPPORTED[here];
  if (found === undefined) {
    throw new Error(
      `shmkit supports ${Object.keys(SUPPORTED).join(" and ")}; this machine is ${here}`,
    );
  }
  return found;
}

/** The platform this process runs on. */
export const platform: Platform = selectPlatform(process.platform, process.arch);
