// A short-lived Redis lock around "find the active run or create one" (RunStore.createOrJoin),
// so enqueues racing from several processes create one run between them. The lock expires
// by itself if its holder dies; it is released only by its holder (a token check).
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

// Delete the lock only if it is still ours (it may have expired and been taken).
const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
const LOCK_TTL_MS = 10_000;
const LOCK_WAIT_MS = 15_000;

/** Run `fn` holding the lock under `key` (StoreKeys.enqueueLock); waits up to 15 s for it. */
export async function withEnqueueLock<T>(redis: Redis, key: string, fn: () => Promise<T>): Promise<T> {
  const token = randomBytes(8).toString('hex');
  const deadline = Date.now() + LOCK_WAIT_MS;
  while ((await redis.set(key, token, 'PX', LOCK_TTL_MS, 'NX')) !== 'OK') {
    if (Date.now() > deadline) throw new Error(`Could not take the enqueue lock ${key} within ${LOCK_WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 20));
  }
  try {
    return await fn();
  } finally {
    await redis.eval(RELEASE_LOCK, 1, key, token);
  }
}
