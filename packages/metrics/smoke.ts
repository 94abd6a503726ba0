import { HttpEndpoints } from "./src/index.ts"
const s = await HttpEndpoints.serve({ port: 0, snapshotInterval: 200 })
const mode = process.argv[2]
if (mode !== "none") { const r = await fetch(s.url + "/health"); await r.text() }
if (mode === "events") {
  const r = await fetch(s.url + "/events"); const reader = r.body!.getReader(); await reader.read()
  ;(async () => { try { while (true) { const x = await reader.read(); if (x.done) { console.log("stream done at", Date.now() - t1); break } } } catch (e) { console.log("stream error", String(e), Date.now() - t1) } })()
}
const t1 = Date.now()
await s.close()
console.log(mode, "closed in", Date.now() - t1)
await new Promise((r) => setTimeout(r, 100)); process.exit(0)
