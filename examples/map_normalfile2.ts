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
import { MappedFile } from "../mod.ts";
import { main } from "./_cli.ts";
import { People } from "./_people.ts";

const spec = {
  name: "map_normalfile2",
  summary: "print the `people` records of a mapped regular file (the docs' reader)",
  details: `Prints "name: a age 20;" and so on, one line per record. The file must exist
and hold --records records; map_normalfile1 writes it.`,
  positionals: {
    path: { kind: "string", help: "the file to map", default: "/tmp/test_shm" },
  },
  options: {
    records: { kind: "integer", help: "records to read", default: 10, min: 1, max: 1 << 20 },
  },
} as const;

await main(spec, ({ args }) => {
  using file = MappedFile.open(args.path, {
    size: args.records * People.byteLength,
    readOnly: true,
  });
  for (const { name, age } of People.array(file, 0, args.records)) {
    console.log(`name: ${name} age ${age};`);
  }
});
