// What the CLI tests of Redis-backed commands share: a real redis-server (optionally
// with AOF, to restart it with its data), a RunStore on it, a temporary folder for the
// artefact store, and the IMGSIM_* environment that points `imgsim` at them (Qdrant on a
// port nothing listens on: these commands must not need it).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Redis } from 'ioredis';
import { connectRedis, createRedis } from '../../shared/queue/connection.js';
import { RunStore } from '../../shared/runs/index.js';
import { startRedis, type RedisPersistence, type RedisTestServer } from './redis-server.js';

export interface CliRedis {
  server: RedisTestServer;
  redis: Redis;
  runs: RunStore;
  dir: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startCliRedis(name: string, o: { persistence?: RedisPersistence } = {}): Promise<CliRedis> {
  const dir = await mkdtemp(path.join(tmpdir(), `imgsim-${name}-`));
  const server = await startRedis(o.persistence ? { persistence: o.persistence } : {});
  const redis = createRedis(server.url);
  await connectRedis(redis, server.url);
  return {
    server,
    redis,
    runs: new RunStore(redis, 'imgsim'),
    dir,
    env: {
      IMGSIM_REDIS_URL: server.url,
      IMGSIM_ARTIFACTS: pathToFileURL(path.join(dir, 'artifacts')).href,
      IMGSIM_QDRANT_URL: 'http://127.0.0.1:9',
    },
    async stop() {
      redis.disconnect();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
