// The project list lives in vitest.config.ts (`test.projects`); this file keeps the
// conventional name for tools that still look for it.
export default ["packages/*/vitest.config.ts", "examples/vitest.config.ts", "bench/vitest.config.ts", "docs/vitest.config.ts"]
