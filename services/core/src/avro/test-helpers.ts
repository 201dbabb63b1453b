import { UmbraError } from '../errors.ts';

/** Runs `fn` and returns the UmbraError it threw or rejected with; fails on success or on any other error. */
export async function umbraFailure(fn: () => unknown): Promise<UmbraError> {
  let result: unknown;
  try {
    result = await fn();
  } catch (e) {
    if (e instanceof UmbraError) return e;
    throw new Error(`expected an UmbraError, got ${String(e)}`, { cause: e });
  }
  throw new Error(`expected an UmbraError, but it returned ${JSON.stringify(result)}`);
}
