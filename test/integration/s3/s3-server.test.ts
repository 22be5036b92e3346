// The s3rver test helper's outage control: pause()/resume()/restart()/outage() keep the
// port and the store, and during the outage the S3 adapter's errors are transient.
import assert from 'node:assert/strict';
import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { connect } from 'node:net';
import { after, test } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import { isTransient } from '../../../shared/errors.js';
import { createS3Client, S3Storage, S3UnreachableError } from '../../../shared/storage/s3/index.js';
import type { ObjectInfo } from '../../../shared/storage/types.js';
import { startS3Server, type S3TestServer } from '../../support/s3-server.js';

const clients: S3Client[] = [];
after(() => {
  for (const client of clients) client.destroy();
});

function storageOn(server: S3TestServer, bucket: string): S3Storage {
  const client = createS3Client({
    endpoint: server.endpoint,
    region: server.region,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    forcePathStyle: true,
    timeoutMs: 2_000,
    maxAttempts: 1,
  });
  clients.push(client);
  return new S3Storage({ client, bucket, prefix: '', endpoint: server.endpoint });
}

async function keys(items: AsyncIterable<ObjectInfo>): Promise<string[]> {
  const out: string[] = [];
  for await (const item of items) out.push(item.key);
  return out.sort();
}

/** A raw TCP connection to the port must be refused. */
async function refused(port: number): Promise<void> {
  await assert.rejects(
    new Promise<void>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', reject);
    }),
    { code: 'ECONNREFUSED' },
  );
}

test('pause()/resume(): buckets and objects survive on the same port; during the pause GetObject fails transiently', async () => {
  const server = await startS3Server();
  try {
    const { port, endpoint } = server;
    assert.equal(endpoint, `http://127.0.0.1:${port}`);
    await server.createBucket('outage-a');
    const storage = storageOn(server, 'outage-a');
    await storage.put('put/one.txt', 'through the API');
    await server.seedObjects('outage-a', [{ key: 'seeded/two.bin', body: new Uint8Array([1, 2, 3]) }]);

    await server.pause();
    assert.equal(server.paused, true);
    await server.pause(); // already paused: nothing happens
    await refused(port);
    await assert.rejects(storage.get('put/one.txt'), (error: unknown) => {
      assert.ok(error instanceof S3UnreachableError, String(error));
      assert.equal(isTransient(error), true);
      assert.ok(error.message.includes(endpoint), error.message);
      return true;
    });
    await assert.rejects(server.seedObjects('outage-a', []), /seedObjects\(\) while paused/);

    await server.resume();
    assert.equal(server.paused, false);
    assert.equal(server.port, port);
    assert.equal(server.endpoint, endpoint);
    // The client made before the outage works again.
    assert.equal((await storage.get('put/one.txt')).toString(), 'through the API');
    assert.deepEqual([...(await storage.get('seeded/two.bin'))], [1, 2, 3]);
    assert.deepEqual(await keys(storage.list()), ['put/one.txt', 'seeded/two.bin']);
    // The server's own client and the seeding channel work with the new process.
    await server.createBucket('outage-b');
    await server.seedObjects('outage-b', [{ key: 'k', body: 'v' }]);
    assert.equal((await storageOn(server, 'outage-b').get('k')).toString(), 'v');
    await server.resume(); // not paused: nothing happens
  } finally {
    await server.stop();
  }
});

test('a PUT cut short by the kill (truncated metadata.json) is gone after resume(); without that s3rver answers 500 to GET and list', async () => {
  const server = await startS3Server();
  try {
    await server.createBucket('cut-short');
    const storage = storageOn(server, 'cut-short');
    await storage.put('kept.txt', 'acknowledged');
    await storage.put('cut.txt', 'never acknowledged');
    await server.pause();
    // What a kill between writing the content and finishing metadata.json leaves behind.
    const metadata = path.join(server.directory, 'cut-short', 'cut.txt._S3rver_metadata.json');
    await writeFile(metadata, '{\n  "content-type": "text/pl');
    await server.resume();
    assert.deepEqual(await keys(storage.list()), ['kept.txt']);
    assert.equal((await storage.get('kept.txt')).toString(), 'acknowledged');
    await assert.rejects(access(metadata));
  } finally {
    await server.stop();
  }
});

test('restart() and outage(ms) keep the store and the port, strict signatures included', async () => {
  const server = await startS3Server({ strictSignatures: true });
  try {
    const port = server.port;
    await server.createBucket('outage-c');
    const storage = storageOn(server, 'outage-c');
    await storage.put('a.txt', 'A');

    await server.restart();
    assert.equal(server.port, port);
    assert.equal((await storage.get('a.txt')).toString(), 'A');
    await storage.put('b.txt', 'B');

    const started = Date.now();
    await server.outage(200);
    assert.ok(Date.now() - started >= 200);
    assert.equal(server.port, port);
    assert.deepEqual(await keys(storage.list()), ['a.txt', 'b.txt']);
  } finally {
    await server.stop();
  }
});

test('stop() while paused removes the store; nothing can be resumed after stop()', async () => {
  const server = await startS3Server();
  await server.pause();
  await access(server.directory);
  await server.stop();
  await server.stop();
  await assert.rejects(access(server.directory), { code: 'ENOENT' });
  await assert.rejects(server.resume(), /resume\(\) after stop\(\)/);
  await assert.rejects(server.pause(), /pause\(\) after stop\(\)/);
});
