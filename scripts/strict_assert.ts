// Preloaded by `npm run check` before the documentation examples run:
// `console.assert` only logs, so an example whose assertion is false would
// pass. Here it throws, and the example fails.
console.assert = (condition?: boolean, ...data: unknown[]): void => {
  if (!condition) throw new Error(`Assertion failed: ${data.map(String).join(" ")}`);
};
