import { defineProject } from "vitest/config"

export default defineProject({
  resolve: { conditions: ["source"] },
  test: {
    name: "core",
    include: ["test/**/*.test.ts"],
    // Property tests run 1,000+ cases; on a busy 2-core machine that can pass 5 s.
    testTimeout: 30_000
  }
})
