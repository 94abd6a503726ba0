import { RequestResponse } from "@integration-patterns/core"
import { RequestResponsePattern } from "@integration-patterns/core/promise"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import { measure, type Suite } from "../harness.js"

// One exchange through the in-memory transport: validation of the request, payload
// encode/decode, admission, duplicate bookkeeping (unique ids), the handler, and the
// response encode/decode. The baseline is the handler alone.
const Echo = RequestResponse.endpoint("echo", { payload: Schema.String, response: Schema.String })

const suites: ReadonlyArray<Suite> = [
  {
    name: "requestresponse.memory",
    run: (ctx) => {
      const scope = Effect.runSync(Scope.make())
      const rr = Effect.runSync(Scope.extend(RequestResponse.make({ name: "bench" }), scope))
      const handler = (request: RequestResponse.Request<string>) => Effect.succeed(request.payload)
      Effect.runSync(Scope.extend(rr.register(Echo, handler), scope))
      let n = 0
      return measure("requestresponse.memory", [
        { impl: "baseline.in-fiber", kind: "effect", effect: Effect.suspend(() => Effect.succeed(`${n++}`)) },
        {
          impl: "integration-patterns",
          kind: "effect",
          effect: Effect.suspend(() => rr.send(Echo, { id: `${n++}`, payload: "ping" }))
        }
      ], ctx)
    }
  },
  {
    name: "facade.requestresponse",
    run: (ctx) => {
      const rr = new RequestResponsePattern({ name: "bench" })
      const handler = async (request: { readonly payload: string }) => request.payload
      rr.registerHandler("echo", handler)
      let n = 0
      return measure("facade.requestresponse", [
        { impl: "baseline.await", kind: "promise", fn: () => handler({ payload: `${n++}` }) },
        {
          impl: "integration-patterns.promise",
          kind: "promise",
          fn: () => rr.sendRequest({ id: `${n++}`, type: "echo", payload: "ping" })
        }
      ], ctx)
    }
  }
]

export default suites
