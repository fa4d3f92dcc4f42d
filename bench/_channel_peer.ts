/**
 * One side of a bench/channel_bench.ts measurement, in its own process:
 *
 *   <transport> send|recv <size> <address> <warmMs> <timedMs>
 *
 * transport: `channel` (sync send / recvInto), `channel-borrow` (sync send,
 * zero-copy borrow), `channel-async` (sync send,
 * receiver `for await`), `pipe` (a FIFO, node:fs writeSync / readSync) or
 * `socket` (a Unix domain stream socket through the runtime's own API,
 * Deno.connect / Deno.listen or Bun.connect / Bun.listen, which beat
 * node:net in both; the receiver listens).
 *
 * Every message is `size` bytes. The sender sends until the receiver stops
 * it. The receiver warms up for warmMs after its first message, then counts
 * whole messages for timedMs, prints `{"messages", "ms"}` and stops the
 * sender: it ends the channel (the sender's next send throws
 * ChannelEndedError) or closes its end of the pipe (EPIPE) or the socket.
 * Time is checked every BATCH messages (every read for a stream) only.
 *
 * @module
 */
import process from "node:process";
import { closeSync, lstatSync, openSync, readSync, writeSync } from "node:fs";
import { Channel, ChannelEndedError } from "../mod.ts";

const [transport, role, sizeText, address, warmText, timedText] = process.argv.slice(2);
const size = Number(sizeText);
const warmMs = Number(warmText);
const timedMs = Number(timedText);
const BATCH = 64;

function done(messages: number, ms: number): void {
  console.log(JSON.stringify({ messages, ms }));
}

/** The sender's guard: it stops when the receiver stops it, or after this long. */
const giveUpAt = performance.now() + 60_000;

function channelSend(): void {
  const tx = Channel.open(address);
  const message = new Uint8Array(size);
  try {
    do {
      for (let i = 0; i < BATCH; i++) tx.send(message);
    } while (performance.now() < giveUpAt);
  } catch (error) {
    if (!(error instanceof ChannelEndedError)) throw error;
  }
  tx.close();
}

/**
 * The receiver's clock: warmMs from the first message, then a window of
 * timedMs. `tick(n)` after every n messages (or n stream bytes) says
 * whether the window is over.
 */
class Window {
  #warmUntil = 0;
  #started = 0;
  #count = 0;
  #ms = 0;
  tick(count: number): boolean {
    const now = performance.now();
    if (this.#started !== 0) {
      this.#count += count;
      if (now - this.#started < timedMs) return false;
      this.#ms = now - this.#started;
      return true;
    }
    if (this.#warmUntil === 0) this.#warmUntil = now + warmMs;
    else if (now >= this.#warmUntil) this.#started = now; // counts only what comes after
    return false;
  }
  report(unit: number): void {
    if (this.#ms === 0) throw new Error("the stream ended before the window did");
    done(Math.floor(this.#count / unit), this.#ms);
  }
}

function channelRecv(): void {
  const rx = Channel.open(address);
  const buffer = new Uint8Array(size);
  const window = new Window();
  do {
    for (let i = 0; i < BATCH; i++) {
      if (rx.recvInto(buffer) === null) throw new Error("the stream ended");
    }
  } while (!window.tick(BATCH));
  rx.end(); // stops the sender
  rx.close();
  window.report(1);
}

/** Zero-copy receive: each message is read in place (one byte looked at), then released. */
function channelBorrow(): void {
  const rx = Channel.open(address);
  const window = new Window();
  let sum = 0;
  do {
    for (let i = 0; i < BATCH; i++) {
      const message = rx.borrow();
      if (message === null) throw new Error("the stream ended");
      sum += message.bytes[message.length - 1];
      message.release();
    }
  } while (!window.tick(BATCH));
  if (sum < 0) throw new Error("unreachable");
  rx.end();
  rx.close();
  window.report(1);
}

async function channelRecvAsync(): Promise<void> {
  const rx = Channel.open(address);
  const window = new Window();
  let seen = 0;
  for await (const _message of rx) {
    if (++seen === BATCH) {
      seen = 0;
      if (window.tick(BATCH)) break;
    }
  }
  rx.end();
  rx.close();
  window.report(1);
}

/** Opens the FIFO, refusing anything else (a typo must not fill a file). */
function openFifo(flags: "r" | "w"): number {
  if (!lstatSync(address).isFIFO()) throw new Error(`${address} is not a FIFO`);
  return openSync(address, flags);
}

function pipeSend(): void {
  const fd = openFifo("w");
  const message = new Uint8Array(size);
  try {
    do {
      for (let i = 0; i < BATCH; i++) {
        // A pipe write of at most PIPE_BUF (4096) bytes is whole; larger ones
        // may be partial when the reader is slow.
        let written = writeSync(fd, message);
        while (written < size) written += writeSync(fd, message, written, size - written);
      }
    } while (performance.now() < giveUpAt);
  } catch (error) {
    if ((error as { code?: string }).code !== "EPIPE") throw error; // the receiver closed
  }
  closeSync(fd);
}

function pipeRecv(): void {
  const fd = openFifo("r");
  const buffer = new Uint8Array(1 << 16);
  const window = new Window();
  for (;;) {
    const length = readSync(fd, buffer, 0, buffer.length, null);
    if (length === 0 || window.tick(length)) break;
  }
  closeSync(fd); // stops the sender (EPIPE)
  window.report(size);
}

// Sockets through each runtime's own API: Deno.connect / Deno.listen, Bun.connect / Bun.listen.
// deno-lint-ignore no-explicit-any
const runtime = globalThis as any;

interface DenoConn {
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
}
interface BunSocket {
  write(bytes: Uint8Array): number;
  end(): void;
}

async function retry<T>(connect: () => Promise<T>): Promise<T> {
  for (let attempt = 0;; attempt++) {
    try {
      return await connect();
    } catch (error) {
      if (attempt > 1000) throw error; // the receiver listens: it may not be up yet
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

async function socketSend(): Promise<void> {
  const message = new Uint8Array(size);
  if (runtime.Deno) {
    const conn: DenoConn = await retry(() =>
      runtime.Deno.connect({ transport: "unix", path: address })
    );
    try {
      do {
        for (let i = 0; i < BATCH; i++) {
          let written = await conn.write(message);
          while (written < size) written += await conn.write(message.subarray(written));
        }
      } while (performance.now() < giveUpAt);
    } catch {
      // The receiver closed the connection.
    }
    conn.close();
    return;
  }
  let wake = () => {};
  let closed = false;
  const socket: BunSocket = await retry(() =>
    runtime.Bun.connect({
      unix: address,
      socket: {
        data() {},
        drain: () => wake(),
        close: () => {
          closed = true;
          wake();
        },
      },
    })
  );
  sending: do {
    for (let i = 0; i < BATCH; i++) {
      let written = socket.write(message);
      while (written < size) {
        if (written < 0 || closed) break sending;
        await new Promise<void>((resolve) => (wake = resolve));
        if (closed) break sending;
        written += Math.max(0, socket.write(message.subarray(written)));
      }
    }
  } while (performance.now() < giveUpAt);
  socket.end();
}

async function socketRecv(): Promise<void> {
  const window = new Window();
  if (runtime.Deno) {
    const listener = runtime.Deno.listen({ transport: "unix", path: address });
    const conn = await listener.accept();
    const buffer = new Uint8Array(1 << 16);
    for (;;) {
      const length = await conn.read(buffer);
      if (length === null || window.tick(length)) break;
    }
    conn.close(); // stops the sender
    listener.close();
    window.report(size);
    return;
  }
  await new Promise<void>((resolve) => {
    let over = false;
    const server = runtime.Bun.listen({
      unix: address,
      socket: {
        data(socket: { terminate(): void }, chunk: Uint8Array) {
          if (over || !window.tick(chunk.length)) return;
          over = true;
          socket.terminate(); // stops the sender
          server.stop(true);
          resolve();
        },
        close() {
          server.stop(true);
          resolve();
        },
      },
    });
  });
  window.report(size);
}

const roles: Record<string, () => void | Promise<void>> = {
  "channel send": channelSend,
  "channel recv": channelRecv,
  "channel-borrow send": channelSend,
  "channel-borrow recv": channelBorrow,
  "channel-async send": channelSend,
  "channel-async recv": channelRecvAsync,
  "pipe send": pipeSend,
  "pipe recv": pipeRecv,
  "socket send": socketSend,
  "socket recv": socketRecv,
};
const body = roles[`${transport} ${role}`];
if (body === undefined) throw new Error(`unknown transport/role: ${transport} ${role}`);
await body();
