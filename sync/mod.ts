/**
 * Synchronization primitives that live inside shared memory.
 *
 * @module
 */
export {};
