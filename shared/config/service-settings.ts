// The settings of the services around the pipeline (Redis and the queues, the artefact
// store and S3, Qdrant, the workers, the HTTP server, re-indexing): the second part of
// the configuration table, in the order of the README's table (schema.ts joins the parts).
import { z } from 'zod';
import { int, setting } from './setting.js';

export const SERVICE_SETTINGS = {
  // --- queue-driven mode (workers, enqueue, runs) ---
  redisUrl: setting({
    env: 'IMGSIM_REDIS_URL',
    flag: '--redis',
    schema: z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL'),
    default: 'redis://127.0.0.1:6379',
    doc: 'Redis holding the queues and runs (must use maxmemory-policy noeviction)',
  }),
  queuePrefix: setting({
    env: 'IMGSIM_QUEUE_PREFIX',
    schema: z.string().regex(/^[a-zA-Z0-9_-]+$/, 'letters, digits, - or _'),
    default: 'imgsim',
    doc: 'prefix of every Redis key imgsim writes (queues, runs, datasets)',
  }),
  artifacts: setting({
    env: 'IMGSIM_ARTIFACTS',
    flag: '--artifacts',
    schema: z.string().regex(/^(s3|file):\/\//, 's3://bucket/prefix or file:///absolute/path'),
    default: 'file:///tmp/imgsim-artifacts',
    doc: 'where models, embedding snapshots and cluster plots are stored',
  }),
  s3Endpoint: setting({
    env: 'IMGSIM_S3_ENDPOINT',
    schema: z.union([z.literal(''), z.url({ protocol: /^https?$/ })]),
    default: '',
    doc: 'S3-compatible endpoint (MinIO, s3rver…); empty = AWS S3',
  }),
  s3Region: setting({ env: 'IMGSIM_S3_REGION', schema: z.string().min(1), default: 'us-east-1', doc: 'S3 region' }),
  s3AccessKeyId: setting({ env: 'IMGSIM_S3_ACCESS_KEY_ID', schema: z.string(), default: '', doc: 'S3 access key id (empty = SDK default chain)', secret: true }),
  s3SecretAccessKey: setting({ env: 'IMGSIM_S3_SECRET_ACCESS_KEY', schema: z.string(), default: '', doc: 'S3 secret access key', secret: true }),
  s3ForcePathStyle: setting({
    env: 'IMGSIM_S3_FORCE_PATH_STYLE',
    schema: z.enum(['true', 'false']).transform((v) => v === 'true'),
    default: 'true',
    doc: 'path-style bucket addressing (needed by MinIO and most S3-compatible servers)',
  }),
  s3TimeoutMs: setting({ env: 'IMGSIM_S3_TIMEOUT_MS', schema: int(100, 600_000), default: 30_000, doc: 'S3 connection / socket idle timeout (ms)' }),
  s3MaxAttempts: setting({ env: 'IMGSIM_S3_MAX_ATTEMPTS', schema: int(1, 20), default: 3, doc: 'S3 attempts per request (exponential backoff)' }),
  s3ListPageSize: setting({ env: 'IMGSIM_S3_LIST_PAGE_SIZE', schema: int(1, 1000), default: 1000, doc: 'keys per S3 listing page' }),
  qdrantUrl: setting({
    env: 'IMGSIM_QDRANT_URL',
    flag: '--qdrant',
    schema: z.url({ protocol: /^https?$/ }),
    default: 'http://127.0.0.1:6333',
    doc: 'Qdrant REST endpoint',
  }),
  qdrantApiKey: setting({ env: 'IMGSIM_QDRANT_API_KEY', schema: z.string(), default: '', doc: 'Qdrant API key (empty = none)', secret: true }),
  concurrency: setting({
    env: 'IMGSIM_WORKER_CONCURRENCY',
    flag: '--concurrency',
    schema: int(1, 64),
    default: 1,
    doc: 'jobs a worker process runs at once',
  }),
  jobBatchSize: setting({
    env: 'IMGSIM_JOB_BATCH_SIZE',
    schema: int(1, 10_000),
    default: 64,
    doc: 'images per embed/index job when a run fans out',
  }),
  trainSample: setting({
    env: 'IMGSIM_TRAIN_SAMPLE',
    flag: '--train-sample',
    schema: int(2, 10_000_000),
    default: 5000,
    doc: 'images (a seeded sample) the model trains on, in a local run and in a queued run alike; the rest are embedded only',
  }),
  jobLockMs: setting({
    env: 'IMGSIM_JOB_LOCK_MS',
    schema: int(1000, 3_600_000),
    default: 60_000,
    doc: 'job lock of ingest/embed/index jobs (train and cluster hold at least 2 and 10 minutes); a killed worker\'s job is picked up again after it expires',
  }),
  jobAttempts: setting({
    env: 'IMGSIM_JOB_ATTEMPTS',
    schema: int(1, 1000),
    default: 16,
    doc: 'attempts per job when a service is unreachable or failing (transient faults); with the default backoff 16 attempts ride out about 10 minutes of outage. Other errors get at most 3, bad input 1',
  }),
  jobBackoffMs: setting({
    env: 'IMGSIM_JOB_BACKOFF_MS',
    schema: int(1, 3_600_000),
    default: 1000,
    doc: 'delay before a failed job\'s first retry; doubled each retry (±25 % jitter) up to IMGSIM_JOB_BACKOFF_MAX_MS',
  }),
  jobBackoffMaxMs: setting({
    env: 'IMGSIM_JOB_BACKOFF_MAX_MS',
    schema: int(1, 3_600_000),
    default: 60_000,
    doc: 'longest delay between two attempts of a job',
  }),
  shutdownTimeoutMs: setting({
    env: 'IMGSIM_SHUTDOWN_TIMEOUT_MS',
    schema: int(100, 3_600_000),
    default: 30_000,
    doc: 'after SIGINT/SIGTERM, how long a worker waits for running jobs before exiting',
  }),
  // --- server ---
  serverHost: setting({
    env: 'IMGSIM_SERVER_HOST',
    flag: '--host',
    schema: z.string().min(1),
    default: '127.0.0.1',
    doc: 'address `imgsim serve` listens on (0.0.0.0 or :: for every interface; needs credentials)',
  }),
  serverPort: setting({
    env: 'IMGSIM_SERVER_PORT',
    flag: '--port',
    schema: int(0, 65_535),
    default: 8080,
    doc: 'port `imgsim serve` listens on (0 = any free port)',
  }),
  apiToken: setting({
    env: 'IMGSIM_API_TOKEN',
    schema: z.string().refine((v) => v === '' || v.length >= 16, 'at least 16 characters (or empty for none)'),
    default: '',
    doc: 'bearer token for the HTTP API, Bull Board and /metrics (`Authorization: Bearer <token>`)',
    secret: true,
  }),
  basicAuth: setting({
    env: 'IMGSIM_BASIC_AUTH',
    schema: z.string().refine((v) => v === '' || /^[^:]+:.+$/.test(v), 'user:password (or empty for none)'),
    default: '',
    doc: 'HTTP basic-auth credentials `user:password` for the API, Bull Board and /metrics (what a browser asks for)',
    secret: true,
  }),
  uploadLimitBytes: setting({
    env: 'IMGSIM_UPLOAD_LIMIT_BYTES',
    flag: '--upload-limit',
    schema: int(1024, 1024 ** 3),
    default: 10 * 1024 * 1024,
    doc: 'largest image a search upload may be (bytes); larger ones get 413',
  }),
  // --- re-indexing ---
  keepCollections: setting({
    env: 'IMGSIM_KEEP_COLLECTIONS',
    schema: int(1, 100),
    default: 2,
    doc: 'Qdrant collections kept per dataset: the live one and the previous ones for `imgsim dataset rollback`; older ones are deleted when a new build goes live',
  }),
};
