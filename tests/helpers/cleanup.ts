type Cleanup = () => unknown | Promise<unknown>

const stack: Cleanup[] = []

/** Registers teardown for the current test; runs after it, last registered first, even when it fails. */
export function defer(cleanup: Cleanup): void {
  stack.push(cleanup)
}

export async function runDeferred(): Promise<void> {
  const errors: unknown[] = []
  while (stack.length > 0) {
    const cleanup = stack.pop()!
    try {
      await cleanup()
    } catch (error) {
      errors.push(error)
    }
  }
  if (errors.length > 0) throw errors[0]
}
