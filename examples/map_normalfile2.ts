/**
 * map_normalfile2: the docs' reader (`map_normalfile2.c`): maps the file
 * that `map_normalfile1` wrote and prints its ten `people` records.
 *
 *   deno run --allow-ffi examples/map_normalfile2.ts /tmp/test_shm
 *   bun examples/map_normalfile2.ts /tmp/test_shm
 *
 * Where the docs' program creates an empty file and would fault (SIGBUS) on
 * the first record, this one refuses with a clear error when the file is
 * missing or shorter than the records asked for.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { MappedFile } from "../mod.ts";
import { ARGS, integer, main, noMore } from "./_cli.ts";
import { People } from "./_people.ts";

const HELP =
  `map_normalfile2: print the \`people\` records of a mapped regular file (the docs' reader)

usage: map_normalfile2 [PATH] [options]

arguments:
  PATH                       the file to map (default "/tmp/test_shm")

options:
  --records N                records to read (default 10)
  -h, --help                 show this help and exit

Prints "name: a age 20;" and so on, one line per record. The file must exist
and hold --records records; map_normalfile1 writes it.

run with:
  deno run --allow-ffi examples/map_normalfile2.ts ...
  bun examples/map_normalfile2.ts ...`;

await main("map_normalfile2", HELP, () => {
  const { values, positionals: [path = "/tmp/test_shm", ...extra] } = parseArgs({
    args: ARGS,
    allowPositionals: true,
    options: { records: { type: "string", default: "10" } },
  });
  noMore(extra);
  const records = integer("--records", values.records, { min: 1, max: 1 << 20 });

  using file = MappedFile.open(path, { size: records * People.byteLength, readOnly: true });
  for (const { name, age } of People.array(file, 0, records)) {
    console.log(`name: ${name} age ${age};`);
  }
});
