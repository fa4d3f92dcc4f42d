/**
 * The docs' `people` record, shared by map_normalfile1 and map_normalfile2:
 *
 * ```c
 * typedef struct { char name[4]; int age; } people;
 * ```
 *
 * @module
 */
import { char, i32, struct } from "../mod.ts";

/** `people`, laid out as the C compiler does (8 bytes). */
export const People = struct({ name: char(4), age: i32 }, { name: "people" });
