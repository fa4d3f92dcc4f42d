/**
 * count01, count02 (parent and child of one script) and count03 (a server
 * and separately started clients), under Deno and Bun: exact totals, every
 * value printed once, bad input, and Ctrl-C leaving nothing behind.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, unlinkSync } from "node:fs";
import { SharedMemory } from "../mod.ts";
import { runCommand, RUNTIMES, scratchPath, uniqueName } from "./_helpers.ts";
import * as ex from "./examples_helpers.ts";

const LOOPS = 2000;
/** Enough that two processes counting without the lock collide. */
const UNLOCKED_LOOPS = 20_000;

/** Processes still running with `text` on their command line. */
async function processesWith(text: string): Promise<string[]> {
  const out = await runCommand("pgrep", ["-f", text]);
  return out.stdout.split("\n").filter(Boolean);
}

for (const runtime of RUNTIMES) {
  for (const name of ["count01", "count02"]) {
    test(`${runtime} ${name}: parent and child each add ${LOOPS}, started together; every value printed once, final ${2 * LOOPS}`, async () => {
      const file = scratchPath(name);
      const sem = uniqueName(name);
      const args = [String(LOOPS), "--file", file, ...(name === "count01" ? ["--sem", sem] : [])];
      const result = await ex.run(runtime, name, args);
      ex.assertExit(result, 0, name);
      const lines = result.stdout.trimEnd().split("\n");
      assert.equal(
        lines.at(-1),
        `${name}: final value ${2 * LOOPS}, expected 2 x ${LOOPS} = ${2 * LOOPS}`,
      );
      const seen = lines.slice(0, -1).map((line) => /^(parent|child): (\d+)$/.exec(line));
      assert.ok(seen.every((m) => m !== null), "only parent/child lines before the total");
      const by = (who: string) => seen.filter((m) => m![1] === who).map((m) => Number(m![2]));
      const [parent, child] = [by("parent"), by("child")];
      assert.equal(parent.length, LOOPS);
      assert.equal(child.length, LOOPS);
      const values = [...parent, ...child].sort((a, b) => a - b);
      assert.deepEqual(values, Array.from({ length: 2 * LOOPS }, (_, i) => i + 1));
      await ex.assertClean({ file, label: sem.slice(1) });
    });

    test(`${runtime} ${name} --unlocked (control): the same count without the lock loses updates`, async () => {
      const file = scratchPath(name);
      const sem = uniqueName(name);
      const args = [
        String(UNLOCKED_LOOPS),
        "--unlocked",
        "--file",
        file,
        ...(name === "count01" ? ["--sem", sem] : []),
      ];
      const result = await ex.run(runtime, name, args);
      const final = Number(/final value (\d+)/.exec(result.stdout)?.[1]);
      assert.ok(final < 2 * UNLOCKED_LOOPS, `expected lost updates, got ${final}`);
      assert.equal(result.code, 1, "a short total exits 1");
      await ex.assertClean({ file, label: sem.slice(1) });
    });

    test(`${runtime} ${name} refuses bad input and cleans up on Ctrl-C, child included`, async () => {
      const [negative, word, extra] = await Promise.all([
        ex.run(runtime, name, ["-3"]),
        ex.run(runtime, name, ["many"]),
        ex.run(runtime, name, ["3", "4"]),
      ]);
      ex.assertOneLineError(
        negative,
        2,
        new RegExp(`^${name}: LOOPS must be an integer at least 0`),
      );
      ex.assertOneLineError(word, 2, new RegExp(`^${name}: LOOPS must be an integer, got "many"`));
      ex.assertOneLineError(extra, 2, /unexpected argument "4"/);

      const file = scratchPath(`${name}-int`);
      const sem = uniqueName(`${name}-int`);
      const args = ["100000000", "--file", file, ...(name === "count01" ? ["--sem", sem] : [])];
      using run = ex.start(runtime, name, args);
      try {
        await run.waitFor(/child: \d+/);
        assert.ok(existsSync(file));
        if (name === "count01") assert.equal(ex.shmEntries(sem.slice(1)).length, 1);
        const stopped = await run.interrupt("SIGINT");
        ex.assertExit(stopped, 130, `interrupted ${name}`);
        assert.match(stopped.stderr, /interrupted by SIGINT, cleaned up/);
        await ex.assertClean({ file, label: sem.slice(1) });
        // The child was told to stop too (its SIGTERM handler may take a
        // while on a loaded machine: a bound, not a pause).
        const deadline = performance.now() + 20_000;
        while ((await processesWith(file)).length > 0 && performance.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        assert.deepEqual(await processesWith(file), []);
      } finally {
        if (existsSync(file)) unlinkSync(file);
      }
    });
  }

  test(`a ${runtime} count03_server counts a Deno and a Bun count03_client exactly`, async () => {
    const name = uniqueName("count03");
    using server = ex.start(runtime, "count03_server", ["--name", name, "--clients", "3"]);
    await server.waitFor(/ready on /);
    const clients = await Promise.all([
      ex.run("deno", "count03_client", [String(LOOPS), "--name", name, "--quiet"]),
      ex.run("bun", "count03_client", [String(LOOPS), "--name", name, "--quiet"]),
      ex.run(runtime, "count03_client", ["5", "--name", name]),
    ]);
    for (const c of clients) ex.assertExit(c, 0, "count03_client");
    assert.match(
      clients[0].stdout,
      new RegExp(`^count03_client: deno pid \\d+ added ${LOOPS}, counter now \\d+\\n$`),
    );
    assert.match(
      clients[1].stdout,
      new RegExp(`^count03_client: bun pid \\d+ added ${LOOPS}, counter now \\d+\\n$`),
    );
    assert.equal(clients[2].stdout.split("\n").filter((l) => /^pid \d+: \d+$/.test(l)).length, 5);
    const done = await server.done;
    ex.assertExit(done, 0, "count03_server");
    assert.match(done.stdout, /client 3 finished/);
    assert.match(
      done.stdout,
      new RegExp(`count03_server: total ${2 * LOOPS + 5} from 3 clients \\(3 started\\)\\n$`),
    );
    await ex.assertClean({ label: name.slice(1) });
  });

  test(`${runtime} count03_server --keep, ${ex.other(runtime)} --status, Ctrl-C, bad input`, async () => {
    const name = uniqueName("count03k");
    try {
      using kept = ex.start(runtime, "count03_server", ["--name", name, "--keep"]);
      await kept.waitFor(/ready on /);
      const client = await ex.run(ex.other(runtime), "count03_client", [
        "7",
        "-q",
        "--name",
        name,
      ]);
      ex.assertExit(client, 0, "count03_client");
      const stopped = await kept.interrupt("SIGINT");
      ex.assertExit(stopped, 130, "interrupted count03_server");
      assert.match(
        stopped.stdout,
        /count03_server: final count = 7 \(1 clients started, 1 finished\)/,
      );
      const status = await ex.run(ex.other(runtime), "count03_server", [
        "--status",
        "--name",
        name,
      ]);
      ex.assertExit(status, 0, "count03_server --status");
      assert.equal(
        status.stdout,
        `count03_server: ${name}: count = 7 (1 clients started, 1 finished)\n`,
      );
      // Without --keep, Ctrl-C removes the object.
      SharedMemory.unlink(name);
      using plain = ex.start(runtime, "count03_server", ["--name", name]);
      await plain.waitFor(/ready on /);
      ex.assertExit(await plain.interrupt("SIGINT"), 130, "interrupted count03_server");
      await ex.assertClean({ label: name.slice(1) });

      const [noServer, badLoops, badClients] = await Promise.all([
        ex.run(runtime, "count03_client", ["--name", name]),
        ex.run(runtime, "count03_client", ["1.5"]),
        ex.run(runtime, "count03_server", ["--clients", "-1"]),
      ]);
      ex.assertOneLineError(
        noServer,
        1,
        /^count03_client: Cannot open shared memory .* does not exist/,
      );
      ex.assertOneLineError(badLoops, 2, /^count03_client: LOOPS must be an integer, got "1.5"/);
      ex.assertOneLineError(
        badClients,
        2,
        /^count03_server: --clients must be an integer at least 0/,
      );
    } finally {
      try {
        SharedMemory.unlink(name);
      } catch { /* removed */ }
    }
  });
}
