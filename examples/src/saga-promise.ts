// The saga from the product brief, with the Promise API.
// Run: node --conditions=source --import tsx examples/src/saga-promise.ts
import { pathToFileURL } from "node:url"
import { Saga, SagaStepError } from "@integration-patterns/saga/promise"

const inventoryService = {
  reserve: async (productId: string) => ({ reservationId: `r-${productId}` }),
  release: async (productId: string) => {
    console.log(`released ${productId}`)
  }
}

const paymentService = {
  charge: async (amount: number) => {
    if (amount > 100) throw new Error(`card declined for ${amount}`)
    return { chargeId: "c-1" }
  }
}

export const main = async (): Promise<void> => {
  const saga = new Saga()
  saga.addStep("reserve-inventory", async (context) => inventoryService.reserve(context.productId))
  saga.addCompensation("reserve-inventory", async (context) => inventoryService.release(context.productId))
  const result = await saga.execute({ productId: "123" })
  console.log("result:", result)

  const checkout = new Saga<{ readonly productId: string; readonly amount: number }>({ name: "checkout" })
  checkout.addStep("reserve-inventory", async (context) => inventoryService.reserve(context.productId))
  checkout.addCompensation("reserve-inventory", async (context) => inventoryService.release(context.productId))
  checkout.addStep("charge-card", async (context) => paymentService.charge(context.amount))
  try {
    await checkout.execute({ productId: "456", amount: 500 })
  } catch (error) {
    if (error instanceof SagaStepError) {
      console.log(`${error.step} failed: ${String((error.cause as Error).message)}; compensated`, error.compensated)
    } else {
      throw error
    }
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
