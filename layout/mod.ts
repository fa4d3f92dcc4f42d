/**
 * C-compatible struct layouts over shared memory.
 *
 * @module
 */
export {};
