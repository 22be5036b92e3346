// Runs @20minutes/s3rver in its own process for the S3 integration tests.
// Started by test/support/s3-server.ts as:
//   node --openssl-legacy-provider test/support/s3rver-process.mjs <directory> [--strict-signatures] [--port N]
// <directory> is the server's own scratch folder: it is deleted when the server exits on
// SIGTERM/SIGINT or a closed stdin (not when it is killed with SIGKILL: that is how the
// parent simulates an outage and starts a new server on the same store later).
// --port N: listen on N (default 0: any free port); a port in use makes it exit with 1.
// --openssl-legacy-provider: s3rver encrypts ListObjectsV2 continuation tokens with DES,
// which OpenSSL 3 only offers through its legacy provider.
// Prints one JSON line {"port": N} on stdout once listening; exits on SIGTERM/SIGINT or
// when its stdin closes (the parent went away), so a crashed test run leaves no server.
//
// Test set-up shortcut on stdin, one JSON line per command, answered by one JSON line:
//   {"id":1,"op":"seed","bucket":"b","objects":[{"key":"k","base64":"…"}]} -> {"id":1,"ok":true}
// writes objects straight into s3rver's store (no HTTP, no signing): s3rver spends ~4 ms
// of CPU per PUT, the SDK ~4.5 ms more, so 1,000+ objects through the API take ~8 s here.
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import S3rver from '@20minutes/s3rver';

const require = createRequire(import.meta.url);

const [directory, ...flags] = process.argv.slice(2);
const portFlag = flags.indexOf('--port');
const port = portFlag === -1 ? 0 : Number(flags[portFlag + 1]);
if (!directory || !Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write('usage: s3rver-process.mjs <directory> [--strict-signatures] [--port N]\n');
  process.exit(2);
}
const strict = flags.includes('--strict-signatures');

const server = new S3rver({
  address: '127.0.0.1',
  port,
  silent: true,
  directory,
  // Path-style requests only: never read the Host header as a bucket name.
  vhostBuckets: false,
  allowMismatchedSignatures: !strict,
});

if (strict) fixCanonicalUri(server);

/**
 * s3rver 5.0.0 rebuilds the SigV4 canonical URI from the routed bucket and key, which
 * drops the trailing slash of bucket-level requests (the SDK signs PUT /bucket/,
 * GET /bucket/?list-type=2 …, s3rver checks /bucket): every such request fails with
 * SignatureDoesNotMatch. Real S3 signs the request path as sent; make s3rver do the
 * same by handing its v4 string-to-sign the raw path of the request.
 */
function fixCanonicalUri(app) {
  const v4 = require('@20minutes/s3rver/lib/signature/v4.js');
  const rawPaths = new WeakMap(); // request headers object -> raw path
  const getStringToSign = v4.getStringToSign;
  v4.getStringToSign = (canonicalRequest, request) => {
    const rawPath = rawPaths.get(canonicalRequest.headers);
    return getStringToSign(rawPath === undefined ? canonicalRequest : { ...canonicalRequest, uri: rawPath }, request);
  };
  const callback = app.callback.bind(app);
  app.callback = () => {
    const handle = callback();
    return (req, res) => {
      rawPaths.set(req.headers, (req.url ?? '/').split('?')[0]);
      return handle(req, res);
    };
  };
}

let closing = false;
async function shutdown(code) {
  if (closing) return;
  closing = true;
  try {
    await server.close();
  } catch {
    // not running
  }
  // The directory belongs to this server (the parent made it for it): leave nothing behind
  // even when the parent died without calling stop().
  rmSync(directory, { recursive: true, force: true });
  process.exit(code);
}

process.on('SIGTERM', () => void shutdown(0));
process.on('SIGINT', () => void shutdown(0));
process.stdin.on('end', () => void shutdown(0));
process.stdin.on('close', () => void shutdown(0));
createInterface({ input: process.stdin }).on('line', (line) => void handleCommand(line));

async function handleCommand(line) {
  let id;
  try {
    const command = JSON.parse(line);
    id = command.id;
    if (command.op !== 'seed') throw new Error(`unknown op ${JSON.stringify(command.op)}`);
    await seed(command.bucket, command.objects);
    process.stdout.write(`${JSON.stringify({ id, ok: true })}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ id, error: error instanceof Error ? error.message : String(error) })}\n`);
  }
}

async function seed(bucket, objects) {
  const S3Object = require('@20minutes/s3rver/lib/models/object.js');
  if (!(await server.store.getBucket(bucket))) throw new Error(`bucket ${bucket} does not exist`);
  let next = 0;
  const lane = async () => {
    while (next < objects.length) {
      const { key, base64 } = objects[next++];
      const object = new S3Object(bucket, key, Buffer.from(base64, 'base64'), { 'content-type': 'binary/octet-stream' });
      await server.store.putObject(object);
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
}

try {
  const address = await server.run();
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
} catch (error) {
  process.stderr.write(`s3rver failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
}
