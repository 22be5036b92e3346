// S3Storage against a real S3-compatible server: @20minutes/s3rver in its own process.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, mock, test } from 'node:test';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { UserError, isTransient } from '../../../shared/errors.js';
import {
  createS3Client,
  openS3Storage,
  PART_SIZE,
  S3NoSuchKeyError,
  S3Storage,
  S3UnreachableError,
  type S3ClientConfig,
} from '../../../shared/storage/s3/index.js';
import { ObjectRangeError, type ObjectInfo } from '../../../shared/storage/types.js';
import { startS3Server, type S3TestServer } from '../../support/s3-server.js';

let server: S3TestServer;
let strictServer: S3TestServer;
const clients: S3Client[] = [];

before(async () => {
  [server, strictServer] = await Promise.all([startS3Server(), startS3Server({ strictSignatures: true })]);
});

after(async () => {
  for (const client of clients) client.destroy();
  await Promise.all([server?.stop(), strictServer?.stop()]);
});

let bucketCounter = 0;
/** A bucket name no other test uses (3–63 chars, lowercase). */
function uniqueBucket(label: string): string {
  bucketCounter += 1;
  return `t-${label}-${process.pid}-${bucketCounter}-${randomBytes(3).toString('hex')}`;
}

function configFor(s: S3TestServer, overrides: Partial<S3ClientConfig> = {}): S3ClientConfig {
  return {
    endpoint: s.endpoint,
    region: s.region,
    accessKeyId: s.accessKeyId,
    secretAccessKey: s.secretAccessKey,
    forcePathStyle: true,
    timeoutMs: 5_000,
    maxAttempts: 2,
    ...overrides,
  };
}

function storageOn(s: S3TestServer, bucket: string, prefix = '', overrides: Partial<S3ClientConfig> = {}): S3Storage {
  const cfg = configFor(s, overrides);
  const client = createS3Client(cfg);
  clients.push(client);
  return new S3Storage({ client, bucket, prefix, endpoint: cfg.endpoint ?? '' });
}

async function collect(items: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Names of the SDK commands sent through a spied client. */
function commandNames(spy: { mock: { calls: Array<{ arguments: unknown[] }> } }): string[] {
  return spy.mock.calls.map((c) => (c.arguments[0] as object).constructor.name);
}

async function rejectsWith(promise: Promise<unknown>, check: (error: Error) => void): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof Error, `expected an Error, got ${String(error)}`);
    check(error);
    return true;
  });
}

describe('S3Storage on s3rver', () => {
  test('put/get/exists round trip keeps binary bytes and unicode keys intact', async () => {
    const bucket = uniqueBucket('rt');
    await server.createBucket(bucket);
    const storage = storageOn(server, bucket, 'data/');
    assert.equal(storage.uri, `s3://${bucket}/data`);

    const bytes = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(4096)]);
    await storage.put('img/all-bytes.bin', bytes);
    await storage.put('notes/é ü+=;.txt', 'grüße\n');
    await storage.put('empty.bin', new Uint8Array(0));

    assert.deepEqual(await storage.get('img/all-bytes.bin'), bytes);
    assert.equal((await storage.get('notes/é ü+=;.txt')).toString('utf8'), 'grüße\n');
    assert.equal((await storage.get('empty.bin')).length, 0);

    assert.equal(await storage.exists('img/all-bytes.bin'), true);
    assert.equal(await storage.exists('notes/é ü+=;.txt'), true);
    assert.equal(await storage.exists('img/missing.bin'), false);
    assert.equal(await storage.exists('img'), false, 'a folder is not an object');
    const etags = new Map<string, string>();
    for await (const o of storage.list('img')) etags.set(o.key, o.etag);
    assert.equal(await storage.versionOf('img/all-bytes.bin'), etags.get('img/all-bytes.bin'), "versionOf is the listing's etag");
    assert.equal(await storage.versionOf('img/missing.bin'), undefined);

    await rejectsWith(storage.get('img/missing.bin'), (error) => {
      assert.ok(error instanceof S3NoSuchKeyError);
      assert.match(error.message, new RegExp(`s3://${bucket}/data/img/missing\\.bin does not exist`));
    });
    await assert.rejects(storage.get('../escape'), UserError);
    await assert.rejects(storage.put('/abs', 'x'), UserError);

    const listed = await collect(storage.list());
    assert.deepEqual(
      listed.map((o) => [o.key, o.size]),
      [
        ['empty.bin', 0],
        ['img/all-bytes.bin', bytes.length],
        ['notes/é ü+=;.txt', Buffer.byteLength('grüße\n')],
      ],
    );

    // XML-special characters in keys: put/get/exists are fine. (Listing them is not tested:
    // s3rver 5.0.0 escapes XML text twice, so it lists "a&b" as "a&amp;b"; real S3 does not.)
    const other = storageOn(server, bucket, 'xml/');
    await other.put('a&b<c>"d\'.txt', 'special');
    assert.equal((await other.get('a&b<c>"d\'.txt')).toString(), 'special');
    assert.equal(await other.exists('a&b<c>"d\'.txt'), true);
  });

  test('getRange: one GET with a Range header; a range past the end is ObjectRangeError, a missing key S3NoSuchKeyError as get', async () => {
    const bucket = uniqueBucket('range');
    await server.createBucket(bucket);
    const storage = storageOn(server, bucket, 'data/');
    const bytes = randomBytes(300 * 1024);
    await storage.put('f.bin', bytes);
    assert.ok((await storage.getRange('f.bin', 0, bytes.length)).equals(bytes));
    assert.ok((await storage.getRange('f.bin', 1234, 1235)).equals(bytes.subarray(1234, 1235)));
    assert.ok((await storage.getRange('f.bin', 100_000, 200_000)).equals(bytes.subarray(100_000, 200_000)));
    assert.ok((await storage.getRange('f.bin', bytes.length - 10, bytes.length)).equals(bytes.subarray(-10)));
    await rejectsWith(storage.getRange('f.bin', bytes.length - 10, bytes.length + 1), (error) => {
      assert.ok(error instanceof ObjectRangeError, `${error.name}: ${error.message}`);
      assert.match(error.message, new RegExp(`11 bytes from offset ${bytes.length - 10} of s3://${bucket}/data/f\\.bin asked, 10 answered \\(the object has ${bytes.length}\\)`));
    });
    await rejectsWith(storage.getRange('f.bin', bytes.length, bytes.length + 5), (error) => {
      assert.ok(error instanceof ObjectRangeError, `${error.name}: ${error.message}`);
      assert.ok(!isTransient(error), 'permanent');
    });
    await assert.rejects(storage.getRange('f.bin', 10, 10), ObjectRangeError);
    await rejectsWith(storage.getRange('missing.bin', 0, 10), (error) => {
      assert.ok(error instanceof S3NoSuchKeyError);
      assert.match(error.message, new RegExp(`s3://${bucket}/data/missing\\.bin does not exist`));
    });
  });

  test('lists past 1,000 keys: complete, sorted, relative to the prefix, nothing outside it', async () => {
    const bucket = uniqueBucket('list');
    await server.createBucket(bucket);
    const root = storageOn(server, bucket);
    const storage = storageOn(server, bucket, 'photos/');

    const inside = [
      ...Array.from({ length: 1_200 }, (_, i) => `img-${String(i).padStart(4, '0')}.bin`),
      'sub/a.bin',
      'sub/b.bin',
      'é.bin',
    ];
    assert.equal(inside.length, 1_203);
    // Seeded straight into the server's store: 1,203 PUTs through the SDK take ~8 s here.
    await server.seedObjects(bucket, inside.map((key) => ({ key: `photos/${key}`, body: key })));
    // Neighbours that share the text prefix but are outside the folder, and a console-style folder marker.
    await Promise.all([
      root.put('photos-old/x.bin', 'x'),
      root.put('photosx.bin', 'x'),
      root.put('other/y.bin', 'y'),
      storage.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'photos/', Body: new Uint8Array(0) })),
    ]);

    const spy = mock.method(storage.client, 'send');
    const listed = await collect(storage.list());
    const listCalls = commandNames(spy).filter((n) => n === 'ListObjectsV2Command').length;
    spy.mock.restore();

    const keys = listed.map((o) => o.key);
    const expected = [...inside].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    assert.equal(keys.length, 1_203);
    assert.deepEqual(keys, expected, 'UTF-8 binary order, relative keys, no outside keys, no folder marker');
    assert.ok(listCalls >= 2, `expected a paginated listing, got ${listCalls} ListObjectsV2 call(s)`);
    for (const o of listed) {
      assert.equal(o.size, Buffer.byteLength(o.key));
      assert.match(o.etag, /^[0-9a-f]{32}$/, 'etag without quotes');
    }

    assert.equal((await storage.get('é.bin')).toString(), 'é.bin');

    // A sub-folder listing: keys stay relative to the storage prefix.
    assert.deepEqual(
      (await collect(storage.list('sub'))).map((o) => o.key),
      ['sub/a.bin', 'sub/b.bin'],
    );
    assert.deepEqual((await collect(storage.list('sub/'))).map((o) => o.key), ['sub/a.bin', 'sub/b.bin']);
    assert.deepEqual(await collect(storage.list('nothing-here')), []);
  });

  test('the etag changes when the content changes, and only then', async () => {
    const bucket = uniqueBucket('etag');
    await server.createBucket(bucket);
    const storage = storageOn(server, bucket, 'p/');
    const etagOf = async (): Promise<string> => {
      const [only] = await collect(storage.list());
      assert.ok(only);
      return only.etag;
    };

    await storage.put('a.bin', 'version-1');
    const first = await etagOf();
    await storage.put('a.bin', 'version-2'); // same size, other bytes
    const second = await etagOf();
    await storage.put('a.bin', 'version-1');
    const third = await etagOf();

    assert.notEqual(second, first);
    assert.equal(third, first, 'same content, same etag');
    assert.doesNotMatch(first, /"/);
  });

  test('a body of 8 MiB + 1 byte is uploaded in parts and round-trips', async () => {
    const bucket = uniqueBucket('mpu');
    await server.createBucket(bucket);
    const storage = storageOn(server, bucket, 'models/');
    const body = randomBytes(PART_SIZE + 1);

    const spy = mock.method(storage.client, 'send');
    await storage.put('m1/weights.bin', body);
    const names = commandNames(spy);
    spy.mock.restore();

    assert.equal(names.filter((n) => n === 'CreateMultipartUploadCommand').length, 1);
    assert.equal(names.filter((n) => n === 'UploadPartCommand').length, 2);
    assert.equal(names.filter((n) => n === 'CompleteMultipartUploadCommand').length, 1);
    assert.ok(!names.includes('PutObjectCommand'));

    const back = await storage.get('m1/weights.bin');
    assert.equal(back.length, body.length);
    assert.ok(back.equals(body), 'multipart body round-trips byte for byte');
    const [info] = await collect(storage.list());
    assert.ok(info);
    assert.equal(info.size, PART_SIZE + 1);
    // Real S3 (and MinIO) answer md5-of-part-md5s + "-2"; s3rver 5.0.0 stores the md5 of the whole body.
    assert.match(info.etag, /^[0-9a-f]{32}(-2)?$/, 'etag without quotes');
  });

  test('a missing bucket is a UserError naming the bucket and the endpoint', async () => {
    const bucket = uniqueBucket('none'); // never created
    const storage = storageOn(server, bucket, 'x/');
    const check = (error: Error): void => {
      assert.ok(error instanceof UserError, `expected UserError, got ${error.name}: ${error.message}`);
      assert.equal(error.message, `S3 bucket "${bucket}" does not exist at ${server.endpoint}`);
    };
    await rejectsWith(collect(storage.list()), check);
    await rejectsWith(storage.get('a.bin'), check);
    await rejectsWith(storage.put('a.bin', 'x'), check);
    await rejectsWith(storage.exists('a.bin'), check); // HEAD 404 → HeadBucket tells the bucket is missing
    await rejectsWith(openS3Storage(`s3://${bucket}/x`, configFor(server)), check);
  });

  test('an unknown access key id is rejected: UserError naming the bucket and the endpoint', async () => {
    const bucket = uniqueBucket('cred');
    await server.createBucket(bucket);
    const storage = storageOn(server, bucket, '', { accessKeyId: 'NOT-A-KEY', secretAccessKey: 'whatever' });
    const check = (error: Error): void => {
      assert.ok(error instanceof UserError, `expected UserError, got ${error.name}: ${error.message}`);
      assert.match(error.message, new RegExp(`^S3 credentials rejected by ${server.endpoint} for bucket "${bucket}"`));
      assert.doesNotMatch(error.message, /whatever/, 'the secret never appears');
    };
    await rejectsWith(collect(storage.list()), check);
    await rejectsWith(storage.get('a.bin'), check);
    await rejectsWith(storage.put('a.bin', 'x'), check);
    await rejectsWith(storage.exists('a.bin'), check); // HEAD 403: no body, the status says it
  });

  test('with strict SigV4 checking: correct signatures pass, a wrong secret key is rejected', async () => {
    const bucket = uniqueBucket('sig');
    await strictServer.createBucket(bucket);
    const good = storageOn(strictServer, bucket, 'in/');
    await good.put('k 1/é.bin', Buffer.from([0, 1, 2, 255]));
    assert.deepEqual([...(await good.get('k 1/é.bin'))], [0, 1, 2, 255]);
    assert.equal(await good.exists('k 1/é.bin'), true);
    assert.deepEqual((await collect(good.list())).map((o) => o.key), ['k 1/é.bin']);

    const wrongSecret = storageOn(strictServer, bucket, 'in/', { secretAccessKey: 'not-the-secret' });
    await rejectsWith(wrongSecret.get('k 1/é.bin'), (error) => {
      assert.ok(error instanceof UserError);
      assert.match(error.message, new RegExp(`^S3 credentials rejected by ${strictServer.endpoint} for bucket "${bucket}" \\(SignatureDoesNotMatch`));
      assert.doesNotMatch(error.message, /not-the-secret/);
    });
  });

  test('an endpoint with nothing listening fails fast with an error naming it', async () => {
    const port = await closedPort();
    const endpoint = `http://127.0.0.1:${port}`;
    const storage = storageOn(server, 'some-bucket', '', { endpoint, maxAttempts: 2, timeoutMs: 1_000 });
    const started = Date.now();
    await rejectsWith(storage.get('a.bin'), (error) => {
      assert.ok(error instanceof S3UnreachableError, `expected S3UnreachableError, got ${error.name}: ${error.message}`);
      assert.ok(!(error instanceof UserError), 'retryable, not a user error');
      assert.match(error.message, new RegExp(`^S3 endpoint ${endpoint} is unreachable: .*ECONNREFUSED`));
    });
    assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
  });

  test('an endpoint that accepts but never answers times out after maxAttempts', async () => {
    const hang = await hangingServer();
    try {
      const endpoint = `http://127.0.0.1:${hang.port}`;
      const storage = storageOn(server, 'some-bucket', '', { endpoint, maxAttempts: 2, timeoutMs: 300 });
      const started = Date.now();
      await rejectsWith(storage.exists('a.bin'), (error) => {
        assert.ok(error instanceof S3UnreachableError, `expected S3UnreachableError, got ${error.name}: ${error.message}`);
        assert.match(error.message, new RegExp(`^S3 endpoint ${endpoint} is unreachable: `));
      });
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 550 && elapsed < 5_000, `2 attempts of 300 ms took ${elapsed} ms`);
      assert.equal(hang.connections(), 2, 'one connection per attempt');
    } finally {
      await hang.close();
    }
  });
});

describe('S3Storage when connections fail (issue 10)', () => {
  const body = randomBytes(256 * 1024);
  let bucket: string;
  before(async () => {
    bucket = uniqueBucket('faults');
    await server.createBucket(bucket);
    await storageOn(server, bucket).put('obj.bin', body);
  });

  /** S3Storage on `bucket` through a proxy with these faults. */
  async function throughProxy(options: FaultyProxyOptions, overrides: Partial<S3ClientConfig> = {}): Promise<{ storage: S3Storage; proxy: FaultyProxy }> {
    const proxy = await faultyProxy(server.port, options);
    proxies.push(proxy);
    return { storage: storageOn(server, bucket, '', { endpoint: proxy.endpoint, ...overrides }), proxy };
  }

  const unreachable = (pattern: RegExp) => (error: Error): void => {
    assert.ok(error instanceof S3UnreachableError, `expected S3UnreachableError, got ${error.name}: ${error.message}`);
    assert.ok(isTransient(error), 'transient: a job-level retry may succeed');
    assert.match(error.message, pattern);
  };

  test('a GET on a pooled socket the server closed while the event loop was blocked is retried by the SDK', async () => {
    // The server side closes idle connections after 200 ms; the thread is blocked for 1 s, so
    // the pooled socket is dead when the GET goes out on it (as after the cluster math).
    for (const maxAttempts of [1, 3]) {
      const { storage, proxy } = await throughProxy({ idleCloseMs: 200 }, { maxAttempts });
      assert.equal(await storage.exists('obj.bin'), true);
      assert.equal(proxy.connections(), 1);
      blockEventLoop(1_000);
      if (maxAttempts === 1) {
        // Without the SDK's retry the stale socket fails the call: the failure is real.
        await rejectsWith(storage.get('obj.bin'), unreachable(/is unreachable: .*ECONNRESET/));
      } else {
        assert.ok((await storage.get('obj.bin')).equals(body));
        assert.equal(proxy.connections(), 2, 'the retry opened a new connection');
      }
    }
  });

  test('a connection reset before the answer is retried by the SDK; with no attempt left it is S3UnreachableError', async () => {
    const once = await throughProxy({ faults: [{ kind: 'cut', afterBytes: 10 }] }, { maxAttempts: 2 });
    assert.ok((await once.storage.get('obj.bin')).equals(body));
    assert.equal(once.proxy.connections(), 2);
    const always = await throughProxy({ faults: [{ kind: 'cut', afterBytes: 10 }, { kind: 'cut', afterBytes: 10 }] }, { maxAttempts: 2 });
    await rejectsWith(always.storage.exists('obj.bin'), unreachable(/is unreachable: .*ECONNRESET/));
    assert.equal(always.proxy.connections(), 2);
  });

  test('a body that breaks off mid-way is read again with a new GET; out of attempts it is S3UnreachableError', async () => {
    const cut = { kind: 'cut', afterBytes: 64 * 1024 } as const;
    const once = await throughProxy({ faults: [cut] }, { maxAttempts: 2 });
    assert.ok((await once.storage.get('obj.bin')).equals(body), 'the second GET read it whole');
    assert.equal(once.proxy.connections(), 2);

    const always = await throughProxy({ faults: [cut, cut, cut] }, { maxAttempts: 3 });
    await rejectsWith(always.storage.get('obj.bin'), unreachable(new RegExp(`the body of ${body.length} bytes of s3://${bucket}/obj\\.bin broke off \\(ECONNRESET: aborted\\)`)));
    assert.equal(always.proxy.connections(), 3, 'maxAttempts GETs in all');

    const single = await throughProxy({ faults: [cut] }, { maxAttempts: 1 });
    await rejectsWith(single.storage.get('obj.bin'), unreachable(/broke off/));
    assert.equal(single.proxy.connections(), 1);
  });

  test('a ranged GET whose body breaks off is read again, as get() is', async () => {
    const cut = { kind: 'cut', afterBytes: 64 * 1024 } as const;
    const once = await throughProxy({ faults: [cut] }, { maxAttempts: 2 });
    assert.ok((await once.storage.getRange('obj.bin', 1000, 201_000)).equals(body.subarray(1000, 201_000)));
    assert.equal(once.proxy.connections(), 2);
    const single = await throughProxy({ faults: [cut] }, { maxAttempts: 1 });
    await rejectsWith(single.storage.getRange('obj.bin', 1000, 201_000), unreachable(/broke off/));
  });

  test('a body that stalls mid-way times out (socket idle timeout) and is read again', async () => {
    const stall = { kind: 'stall', afterBytes: 64 * 1024 } as const;
    const once = await throughProxy({ faults: [stall] }, { maxAttempts: 2, timeoutMs: 300 });
    assert.ok((await once.storage.get('obj.bin')).equals(body));
    const single = await throughProxy({ faults: [stall] }, { maxAttempts: 1, timeoutMs: 300 });
    await rejectsWith(single.storage.get('obj.bin'), unreachable(/broke off .*timed out after 300 ms/));
  });

  test('5xx is retried by the SDK; a 5xx left after its retries is S3UnreachableError, not a permanent error', async () => {
    const once = await throughProxy({ faults: [{ kind: 'status', status: 503 }] }, { maxAttempts: 2 });
    assert.ok((await once.storage.get('obj.bin')).equals(body));
    assert.equal(once.proxy.connections(), 2);
    const down = { kind: 'status', status: 503 } as const;
    const always = await throughProxy({ faults: [down, down, down, down] }, { maxAttempts: 2 });
    await rejectsWith(always.storage.get('obj.bin'), unreachable(/is unavailable: it answered HTTP 503 \(2 attempts\)/));
    await rejectsWith(always.storage.exists('obj.bin'), unreachable(/is unavailable: it answered HTTP 503/));
    const internal = await throughProxy({ faults: [{ kind: 'status', status: 500 }] }, { maxAttempts: 1 });
    await rejectsWith(collect(internal.storage.list()), unreachable(/HTTP 500/));
  });
});

const proxies: FaultyProxy[] = [];
after(async () => {
  await Promise.all(proxies.map((p) => p.close()));
});

/** Blocks this thread for `ms`, as CPU-bound work on a worker's event loop does. */
function blockEventLoop(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy: no timer, no socket event is handled meanwhile
  }
}

/** What goes wrong on one proxied connection. */
type ConnectionFault =
  /** After `afterBytes` bytes of the answer: reset the connection (RST) / stop forwarding (it stalls). */
  | { kind: 'cut' | 'stall'; afterBytes: number }
  /** Answer the first request with this status (no body) and close. */
  | { kind: 'status'; status: number };

interface FaultyProxyOptions {
  /** Close a connection idle this long (no byte either way), as a server's keep-alive timeout does. */
  idleCloseMs?: number;
  /** faults[i]: what goes wrong on the i-th connection (none past the end). */
  faults?: ConnectionFault[];
}

interface FaultyProxy {
  endpoint: string;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/** A TCP proxy in front of 127.0.0.1:`targetPort` that fails connections as told. */
async function faultyProxy(targetPort: number, options: FaultyProxyOptions): Promise<FaultyProxy> {
  const sockets = new Set<Socket>();
  let count = 0;
  const srv = createServer((client) => {
    const fault = options.faults?.[count];
    count += 1;
    sockets.add(client);
    client.on('error', () => undefined);
    client.on('close', () => sockets.delete(client));
    if (fault?.kind === 'status') {
      client.once('data', () => client.end(`HTTP/1.1 ${fault.status} Injected\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`));
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(upstream);
    let idle: NodeJS.Timeout | undefined;
    const touch = (): void => {
      if (options.idleCloseMs === undefined) return;
      clearTimeout(idle);
      idle = setTimeout(() => {
        client.destroy();
        upstream.destroy();
      }, options.idleCloseMs);
    };
    const drop = (): void => {
      clearTimeout(idle);
      client.destroy();
      upstream.destroy();
      sockets.delete(upstream);
    };
    upstream.on('error', drop).on('close', drop);
    client.on('close', drop);
    touch();
    client.on('data', (chunk: Buffer) => {
      touch();
      upstream.write(chunk);
    });
    let forwarded = 0;
    let stopped = false;
    upstream.on('data', (chunk: Buffer) => {
      touch();
      if (stopped) return;
      if (fault && forwarded + chunk.length > fault.afterBytes) {
        client.write(chunk.subarray(0, fault.afterBytes - forwarded));
        stopped = true;
        clearTimeout(idle);
        if (fault.kind === 'cut') {
          client.resetAndDestroy();
          upstream.destroy();
        }
        return;
      }
      forwarded += chunk.length;
      client.write(chunk);
    });
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    connections: () => count,
    async close() {
      for (const s of sockets) s.destroy();
      srv.close();
      await once(srv, 'close');
    },
  };
}

/** A port on 127.0.0.1 with nothing listening (bound, then released). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  await once(probe, 'close');
  return port;
}

/** A TCP server that accepts connections and never writes a byte. */
async function hangingServer(): Promise<{ port: number; connections(): number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let count = 0;
  const srv: Server = createServer((socket) => {
    count += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as { port: number };
  return {
    port,
    connections: () => count,
    async close() {
      for (const s of sockets) s.destroy();
      srv.close();
      await once(srv, 'close');
    },
  };
}
