// Test stack for the HTTP server: a real redis-server, an S3 server (s3rver) holding the
// artefacts and the Qdrant emulator, each behind a TCP proxy that can be cut and restored
// (a service "down" then back, with its data kept), the services from connectServices
// and the server listening on a free port.
import { createServer, type Server, type Socket, connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { loadConfig, type Config } from '../../../shared/config/index.js';
import { silentLogger } from '../../../shared/logger.js';
import { buildEncoder, embeddingDim } from '../../../shared/model/architecture.js';
import { initBackend } from '../../../shared/model/backend.js';
import type { ModelMeta } from '../../../shared/model/meta.js';
import { saveLayersModel, saveMeta } from '../../../shared/model/store.js';
import { decodeImage } from '../../../shared/images/decode.js';
import { encodeBatch } from '../../../pipelines/embed.js';
import { aliasName, artifactKeys, collectionName } from '../../../shared/runs/naming.js';
import { connectServices, type Services } from '../../../shared/services.js';
import { buildServer, type ServerOptions } from '../../../workers/server/app.js';
import { startRedis, type RedisTestServer } from '../../support/redis-server.js';
import { startS3Server, type S3TestServer } from '../../support/s3-server.js';
import { startQdrantEmulator, type QdrantEmulator } from '../../support/qdrant-emulator/index.js';

export const TOKEN = 'test-token-0123456789abcdef';
export const BASIC = 'admin:s3cret-pass';
export const basicHeader = `Basic ${Buffer.from(BASIC).toString('base64')}`;
export const bearerHeader = `Bearer ${TOKEN}`;

export interface Stack {
  url: string;
  app: FastifyInstance;
  services: Services;
  config: Config;
  redis: RedisTestServer;
  s3: S3TestServer;
  emulator: QdrantEmulator;
  /** Cut and restore the connection to Redis / Qdrant / the S3 server. */
  redisProxy: TcpProxy;
  qdrantProxy: TcpProxy;
  s3Proxy: TcpProxy;
  /** fetch(url + path) with the bearer token. */
  api(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export async function startStack(env: Record<string, string> = {}, options: ServerOptions = {}): Promise<Stack> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const close = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    await initBackend('cpu');
    const [redis, s3, emulator] = await Promise.all([startRedis(), startS3Server(), startQdrantEmulator()]);
    cleanups.push(() => redis.stop(), () => s3.stop(), () => emulator.close());
    const redisProxy = await startTcpProxy(redis.port);
    cleanups.push(() => redisProxy.close());
    const qdrantProxy = await startTcpProxy(Number(new URL(emulator.url).port));
    const s3Proxy = await startTcpProxy(Number(new URL(s3.endpoint).port));
    cleanups.push(() => qdrantProxy.close(), () => s3Proxy.close());
    await s3.createBucket('imgsim-artifacts');
    const config = loadConfig({
      IMGSIM_REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`,
      IMGSIM_QDRANT_URL: `http://127.0.0.1:${qdrantProxy.port}`,
      IMGSIM_ARTIFACTS: 's3://imgsim-artifacts/imgsim/',
      IMGSIM_S3_ENDPOINT: `http://127.0.0.1:${s3Proxy.port}`,
      IMGSIM_S3_ACCESS_KEY_ID: s3.accessKeyId,
      IMGSIM_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      IMGSIM_S3_MAX_ATTEMPTS: '1',
      IMGSIM_S3_TIMEOUT_MS: '2000',
      IMGSIM_API_TOKEN: TOKEN,
      IMGSIM_BASIC_AUTH: BASIC,
      IMGSIM_LOG_LEVEL: 'silent',
      ...env,
    });
    const services = await connectServices(config, silentLogger);
    cleanups.push(() => services.close());
    const app = await buildServer(services, options);
    cleanups.push(() => app.close());
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    return {
      url,
      app,
      services,
      config,
      redis,
      s3,
      emulator,
      redisProxy,
      qdrantProxy,
      s3Proxy,
      api: (path, init = {}) => fetch(`${url}${path}`, { ...init, headers: { authorization: bearerHeader, ...(init.headers as Record<string, string> | undefined) } }),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

// ---- a seeded dataset ---------------------------------------------------------------------

export const MODEL_ID = 'cae-16-test';
export const SIZE = 16;

/** A 16×16 PNG of seeded noise around a base colour: distinct images, non-zero embeddings. */
export async function testImage(seed: number, size = SIZE): Promise<Buffer> {
  const pixels = Buffer.alloc(size * size * 3);
  let x = (seed * 2654435761) >>> 0 || 1;
  const base = [(seed * 97) % 256, (seed * 57) % 256, (seed * 31) % 256];
  for (let i = 0; i < pixels.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    pixels[i] = ((base[i % 3] as number) + (x % 96)) % 256;
  }
  return sharp(pixels, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
}

function meta(dim: number): ModelMeta {
  return {
    modelId: MODEL_ID,
    createdAt: new Date().toISOString(),
    task: 'reconstruct',
    source: 's3://imgsim-src/photos/',
    inputSize: SIZE,
    fit: 'crop',
    architecture: { filters: [4, 8], kernelSize: 3 },
    embeddingDim: dim,
    training: {
      epochsRequested: 0,
      epochsRun: 0,
      bestEpoch: 0,
      bestValidationLoss: 0,
      stoppedEarly: false,
      batchSize: 1,
      learningRate: 0.001,
      optimizer: 'adam',
      weightDecay: 0,
      patience: 0,
      validationSplit: 0.25,
      seed: 1,
      trainImages: 0,
      validationImages: 0,
    },
    losses: [],
    backend: 'cpu',
    timings: { trainSeconds: 0, imagesPerSecond: 0 },
  };
}

export interface SeededDataset {
  name: string;
  keys: string[];
  images: Map<string, Buffer>;
  vectors: Map<string, Float32Array>;
  dim: number;
}

/**
 * What a completed run leaves behind, without workers: an (untrained) encoder in the
 * artefact store, a collection of the images' embeddings behind the dataset's alias, the
 * dataset record, clusters.json and a plot.
 */
export async function seedDataset(services: Services, name: string, count = 8): Promise<SeededDataset> {
  const arch = { inputSize: SIZE, filters: [4, 8], kernelSize: 3, seed: 7 };
  const encoder = buildEncoder(arch);
  const dim = embeddingDim(arch);
  const prefix = artifactKeys.model(MODEL_ID);
  await saveLayersModel(encoder, services.artifacts, `${prefix}encoder/`);
  await saveMeta(services.artifacts, prefix, meta(dim));
  const keys: string[] = [];
  const images = new Map<string, Buffer>();
  const vectors = new Map<string, Float32Array>();
  for (let i = 0; i < count; i++) {
    const key = `${i % 2 === 0 ? 'even' : 'odd'}/img-${i}.png`;
    const bytes = await testImage(i + 1);
    const { data } = await decodeImage(bytes, { size: SIZE, fit: 'crop', maxPixels: 1e8 });
    keys.push(key);
    images.set(key, bytes);
    vectors.set(key, encodeBatch(encoder, data, 1, SIZE));
  }
  encoder.dispose();
  const collection = collectionName(name, MODEL_ID, 'seed-000001');
  await services.qdrant.ensureCollection(collection, dim);
  await services.qdrant.upsert(
    collection,
    keys.map((key, i) => ({ dataset: name, key, vector: vectors.get(key) as Float32Array, payload: { etag: `e${i}`, modelId: MODEL_ID, width: SIZE, height: SIZE, cluster: i % 2 } })),
  );
  await services.qdrant.swapAlias(aliasName(name), collection);
  await services.runs.setDataset({ name, source: 's3://imgsim-src/photos/', modelId: MODEL_ID, collection, alias: aliasName(name) });
  const points = Object.fromEntries(keys.map((key, i) => [key, { x: i, y: -i, label: i % 2 }]));
  await services.artifacts.put(artifactKeys.clusters(name), JSON.stringify({ modelId: MODEL_ID, k: 2, silhouette: 0.5, points }));
  await services.artifacts.put(artifactKeys.clusterPlot(name), await testImage(99, 32));
  return { name, keys, images, vectors, dim };
}

/** A multipart body with the file in field `image` (and extra text fields). */
export function uploadForm(bytes: Buffer, filename: string, fields: Record<string, string> = {}, type = 'image/png'): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('image', new Blob([new Uint8Array(bytes)], { type }), filename);
  return form;
}

// ---- a TCP proxy that can be cut --------------------------------------------------------

export interface TcpProxy {
  port: number;
  /** Close the listener and every open connection: clients get ECONNREFUSED. */
  cut(): Promise<void>;
  /** Listen again on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(targetPort, '127.0.0.1');
        sockets.add(client).add(upstream);
        const drop = (): void => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
        client.pipe(upstream).pipe(client);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        server = s;
        const a = s.address();
        resolve(typeof a === 'object' && a ? a.port : port);
      });
    });
  const stop = async (): Promise<void> => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  const port = await listen(0);
  return { port, cut: stop, restore: async () => void (await listen(port)), close: stop };
}

/** Poll until `check` passes (returns true) or the deadline. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
