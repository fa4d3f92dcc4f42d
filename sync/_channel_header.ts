/**
 * The bytes of a channel's shared memory object: a 4 KiB header, then the
 * ring. Written down here once, for `Channel` and for anyone (C included)
 * who wants to follow the format.
 *
 * Header, as 32-bit little-endian words at these byte offsets (each group
 * that one side writes often has a 64-byte cache line of its own):
 *
 * | byte | word |
 * |---|---|
 * | 0, 4 | magic: `SHMK`, `CHAN` |
 * | 8 | format version (1) |
 * | 12 | header bytes (4096): the ring starts there |
 * | 16 | capacity: bytes of ring, a multiple of 8 |
 * | 20 | maxMessage: the largest message, at most capacity / 2 - 8 |
 * | 24 | sender slots (768) |
 * | 28 | ended: 1 once the stream has ended |
 * | 32 | sendersEver: 1 once any handle has sent |
 * | 64 | the send mutex (a shmkit `Mutex`, 8 bytes) |
 * | 72 | tail: where the next message goes |
 * | 76 | last sender: a token of the handle that last moved tail |
 * | 128 | the receive mutex (8 bytes) |
 * | 136 | head: the first message not yet taken |
 * | 140 | claim: 0, or while a message is lent out, where head moves when it is released, plus 1 |
 * | 144 | last receiver: a token of the handle that last moved head |
 * | 192 | a receiver sleeps on tail: 1, cleared by the sender that wakes it |
 * | 256 | a sender sleeps on head: 1, cleared by the receiver that wakes it |
 * | 1024 | 768 sender slots: the Mutex-style identity of a sending thread, or 0 |
 *
 * Positions (tail, head, claim) count bytes modulo 2 × capacity, so that a
 * full ring (tail − head = capacity) differs from an empty one. A message
 * is a record at position % capacity: its length (word), its kind (word:
 * 1 a message, 2 padding to the ring's end), then the bytes, padded to 8.
 * A record never wraps: one that does not fit before the end is put at 0
 * after a padding record. Senders write records past tail under the send
 * mutex and publish them with one store of tail; receivers take them at
 * head under the receive mutex, copy, then store head. A receiver that
 * lends a message out (zero-copy) stores claim first and clears it after
 * head moved: the next holder of a dead receiver's mutex skips a claimed
 * message.
 *
 * @module
 */
import { CorruptedError } from "../ffi/errors.ts";
import { ChannelFormatError } from "./channel_errors.ts";

export const HEADER_BYTES = 4096;
export const VERSION = 1;
export const MAGIC0 = 0x4b4d4853; // "SHMK"
export const MAGIC1 = 0x4e414843; // "CHAN"
export const SLOT_COUNT = 768;
export const RECORD_HEADER = 8;
export const MIN_CAPACITY = 64;
export const MAX_CAPACITY = 1 << 30;
export const DEFAULT_CAPACITY = 1 << 20;

export const KIND_MESSAGE = 1;
export const KIND_PAD = 2;

/** Word indexes into the header's Int32Array. */
export const W = {
  magic0: 0,
  magic1: 1,
  version: 2,
  headerBytes: 3,
  capacity: 4,
  maxMessage: 5,
  slots: 6,
  ended: 7,
  sendersEver: 8,
  sendMutex: 16, // byte 64
  tail: 18, // byte 72
  lastSender: 19, // byte 76
  recvMutex: 32, // byte 128
  head: 34, // byte 136
  claim: 35, // byte 140
  lastReceiver: 36, // byte 144
  recvAsleep: 48, // byte 192
  sendAsleep: 64, // byte 256
  firstSlot: 256, // byte 1024
} as const;

/** The largest message a ring of `capacity` bytes always has room for. */
export function largestMessage(capacity: number): number {
  return capacity / 2 - RECORD_HEADER;
}

/** Bytes a record holding `length` bytes takes in the ring. */
export function recordBytes(length: number): number {
  return RECORD_HEADER + ((length + 7) & ~7);
}

/** Writes a fresh header (magic last, so an open never sees half of one). */
export function writeHeader(words: Int32Array, capacity: number, maxMessage: number): void {
  words.fill(0);
  words[W.version] = VERSION;
  words[W.headerBytes] = HEADER_BYTES;
  words[W.capacity] = capacity;
  words[W.maxMessage] = maxMessage;
  words[W.slots] = SLOT_COUNT;
  words[W.magic1] = MAGIC1;
  Atomics.store(words, W.magic0, MAGIC0);
}

/** What `readHeader` found: the fixed numbers a handle keeps. */
export interface Geometry {
  readonly capacity: number;
  readonly maxMessage: number;
}

function hex(value: number): string {
  return "0x" + (value >>> 0).toString(16).padStart(8, "0");
}

/**
 * Checks the header of an object of `size` bytes that claims to be a
 * channel, before any position in it is trusted: a corrupted or hostile
 * header gives an error, never a read outside the mapping.
 */
export function readHeader(words: Int32Array, size: number, what: string): Geometry {
  const magic0 = Atomics.load(words, W.magic0);
  const magic1 = words[W.magic1];
  if (magic0 !== MAGIC0 || magic1 !== MAGIC1) {
    throw new ChannelFormatError(
      what,
      `its first 8 bytes are ${hex(magic0)} ${hex(magic1)}, not a channel's magic ` +
        `${hex(MAGIC0)} ${hex(MAGIC1)} ("SHMKCHAN")`,
    );
  }
  const version = words[W.version];
  if (version !== VERSION) {
    throw new ChannelFormatError(
      what,
      `it is a channel of format version ${version}; this shmkit reads version ${VERSION}`,
    );
  }
  const capacity = words[W.capacity];
  const maxMessage = words[W.maxMessage];
  const bad = (why: string) => new CorruptedError(what, why);
  if (words[W.headerBytes] !== HEADER_BYTES) {
    throw bad(`its header size is ${words[W.headerBytes]}, not ${HEADER_BYTES}`);
  }
  if (words[W.slots] !== SLOT_COUNT) {
    throw bad(`it has ${words[W.slots]} sender slots, not ${SLOT_COUNT}`);
  }
  if (capacity < MIN_CAPACITY || capacity > MAX_CAPACITY || capacity % 8 !== 0) {
    throw bad(`its capacity ${capacity} is not a multiple of 8 from ${MIN_CAPACITY} to 2^30`);
  }
  if (HEADER_BYTES + capacity > size) {
    throw bad(`its capacity ${capacity} does not fit in its ${size} bytes`);
  }
  if (maxMessage < 0 || maxMessage > largestMessage(capacity)) {
    throw bad(`its maxMessage ${maxMessage} is not from 0 to ${largestMessage(capacity)}`);
  }
  return { capacity, maxMessage };
}
