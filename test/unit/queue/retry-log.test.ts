// Retry log lines during an outage: the first failure of a window as it is, the rest
// summarised in one line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createRetryLog } from '../../../shared/queue/retry-log.js';

test('a burst of retries is one line plus one summary line per window', async () => {
  const lines: Array<{ msg: string; attempts?: number }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as { msg: string; attempts?: number });
      done();
    },
  });
  const log = createRetryLog(pino({ level: 'info' }, stream), 'embed', 200);
  for (let i = 0; i < 50; i++) log.failed({ jobId: `j${i}`, attempt: 1, of: 16, err: 'S3 endpoint http://x is unreachable: ECONNREFUSED' });
  await new Promise((r) => setTimeout(r, 300));
  log.failed({ jobId: 'late', attempt: 2, of: 16, err: 'again' });
  log.flush();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    lines.map((l) => l.msg),
    ['embed job failed; retrying', 'embed: 49 more job attempt(s) failed in the last 200ms; retrying with backoff', 'embed job failed; retrying'],
  );
  assert.equal(lines[1]?.attempts, 49);
});
