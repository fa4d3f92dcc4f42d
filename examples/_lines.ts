/**
 * The writer's loop of the docs' shm2.c and msg2.c, shared by shm2 and msg2.
 *
 * @module
 */
import process from "node:process";
import { createInterface } from "node:readline";

/**
 * Prompts "Enter some text: " when standard input is a terminal, passes
 * each line (without its line end) to `send` until one that starts with
 * "end", and at the end of input without one sends "end" itself, so that
 * the reader stops. Returns how many texts were sent and whether the input
 * said "end". Reading is asynchronous, so SIGINT is handled while waiting.
 */
export async function sendLines(
  send: (line: string) => Promise<unknown>,
): Promise<{ sent: number; ended: boolean }> {
  const prompt = () => process.stdin.isTTY && process.stdout.write("Enter some text: ");
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
  let sent = 0;
  try {
    prompt();
    for await (const line of lines) {
      await send(line);
      sent += 1;
      if (line.startsWith("end")) return { sent, ended: true };
      prompt();
    }
  } finally {
    lines.close();
  }
  await send("end");
  return { sent: sent + 1, ended: false };
}
