/**
 * map_normalfile1: the docs' writer of ten `people` records through a mapped
 * regular file (`map_normalfile1.c`): it maps the file, stores the records,
 * prints `initialize over`, keeps the mapping for a while so that
 * `map_normalfile2` can read it, unmaps and prints `umap ok`.
 *
 *   deno run --allow-ffi --allow-write examples/map_normalfile1.ts /tmp/test_shm
 *   bun examples/map_normalfile1.ts /tmp/test_shm
 *
 * The docs size the file for 5 records and map 10: records past the end of
 * the file never reach it, and touching a page past it raises SIGBUS.
 * `--file-records 5` reproduces that setup, and the mapping is refused with a
 * clear error instead. `--allow-write` is for removing the file at exit.
 *
 * @module
 */
import { unlinkSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { MappedFile } from "../mod.ts";
import { ARGS, integer, main, noMore, number } from "./_cli.ts";
import { People } from "./_people.ts";

const HELP =
  `map_normalfile1: write ten \`people\` records into a mapped regular file (the docs' writer)

usage: map_normalfile1 [PATH] [options]

arguments:
  PATH                       the file to create and map (default "/tmp/test_shm")

options:
  --records N                records to map and write (default 10)
  --file-records N           records the file is sized for (default: --records)
  --sleep SECONDS            seconds to keep the mapping (default 10)
  --keep                     keep the file at exit
  -h, --help                 show this help and exit

Sizes the file for --file-records records, maps --records of them, writes
name "a", "b", ... and age 20, 21, ..., prints "initialize over", keeps the mapping
for --sleep seconds (run map_normalfile2 on the same path meanwhile), unmaps, prints
"umap ok", and removes the file if it created it, unless --keep.
With --file-records smaller than --records (the docs used 5 and 10), the mapping
is refused: pages past the end of a file fault with SIGBUS.

run with:
  deno run --allow-ffi --allow-write examples/map_normalfile1.ts ...
  bun examples/map_normalfile1.ts ...`;

await main("map_normalfile1", HELP, async ({ cleanup, signal }) => {
  const { values, positionals: [path = "/tmp/test_shm", ...extra] } = parseArgs({
    args: ARGS,
    allowPositionals: true,
    options: {
      records: { type: "string", default: "10" },
      "file-records": { type: "string" },
      sleep: { type: "string", default: "10" },
      keep: { type: "boolean", default: false },
    },
  });
  noMore(extra);
  const records = integer("--records", values.records, { min: 1, max: 26 });
  const fileRecords = values["file-records"] === undefined
    ? records
    : integer("--file-records", values["file-records"], { min: 1, max: 1 << 20 });
  const seconds = number("--sleep", values.sleep, { min: 0 });

  // Create (or open) the file at the docs' size: fileRecords people.
  const sized = MappedFile.open(path, {
    create: true,
    exclusive: false,
    size: fileRecords * People.byteLength,
  });
  if (sized.created && !values.keep) cleanup.defer(() => unlinkSync(path));
  sized.close();

  // Map the records; MappedFile refuses to map past the end of the file.
  let file: MappedFile;
  try {
    file = cleanup.use(MappedFile.open(path, { size: records * People.byteLength }));
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new Error(
      `the file is sized for ${fileRecords} records but ${records} are mapped (the docs' setup): ${error.message}`,
    );
  }
  const people = People.array(file, 0, records);
  for (let i = 0; i < records; i++) {
    people[i].name = String.fromCharCode("a".charCodeAt(0) + i);
    people[i].age = 20 + i;
  }
  file.flush();
  console.log("initialize over");
  await sleep(seconds * 1000, undefined, { signal });
  file.close();
  console.log("umap ok");
});
