// A dataset to run queued duplicates passes on, for the integration tests of the duplicates
// queue (test/integration/runs/duplicates-*.test.ts): the pipeline stack (redis-server, the S3
// server, the Qdrant emulator), generated collages in s3://imgsim-src/photos/ with four edited
// copies (c01 rotated, c02 cropped, c03 an exact copy, c05 mirrored), every stage's worker
// as an `imgsim worker` process, and a queued run that indexed them.
import assert from 'node:assert/strict';
import { loadConfig } from '../../shared/config/index.js';
import { renderCollage } from '../../shared/images/collage.js';
import { makeDuplicate } from '../../shared/images/edits.js';
import { STAGES } from '../../shared/jobs/contracts.js';
import { silentLogger } from '../../shared/logger.js';
import { createRng } from '../../shared/random.js';
import { connectServices, type Services } from '../../shared/services.js';
import { openS3Storage, type S3Storage } from '../../shared/storage/s3/index.js';
import { jsonOf, runCli } from './cli.js';
import { startPipelineStack, type PipelineStack } from './pipeline-stack.js';
import { startWorkers, type WorkerPool } from './workers.js';

export const SOURCE_URI = 's3://imgsim-src/photos';

export interface DuplicatesStack {
  stack: PipelineStack;
  workers: WorkerPool;
  /** Services of this process (config from the stack's env plus `serviceEnv`). */
  services: Services;
  env: Record<string, string>;
  /** The source bucket prefix the run lists. */
  src: S3Storage;
  /** Enqueue a run of the dataset (extra enqueue flags) and wait until it completed. */
  runAndWait: (args?: string[]) => Promise<void>;
  /** Stop everything started, last first. */
  stop: () => Promise<void>;
}

export interface DuplicatesStackOptions {
  dataset: string;
  /** Generated originals c00 … c<n−1>.png. */
  collages: number;
  /** Their side in pixels, and the seed of the first (one more each). */
  size: number;
  seed: number;
  /** IMGSIM_JOB_BATCH_SIZE: images per fingerprint (and embed) job. */
  batchSize: number;
  trainSample: number;
  /** Extra settings of this process's services (e.g. IMGSIM_API_TOKEN). */
  serviceEnv?: Record<string, string>;
}

export async function startDuplicatesStack(o: DuplicatesStackOptions): Promise<DuplicatesStack> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const stop = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const stack = await startPipelineStack({ IMGSIM_JOB_BATCH_SIZE: String(o.batchSize), IMGSIM_TRAIN_SAMPLE: String(o.trainSample) });
    cleanups.push(() => stack.stop());
    const env = stack.env;
    const src = await openS3Storage(`${SOURCE_URI}/`, stack.s3cfg);
    const rng = createRng(13);
    const originals = await Promise.all(Array.from({ length: o.collages }, (_, i) => renderCollage(o.size, o.seed + i)));
    for (const [i, bytes] of originals.entries()) await src.put(`c${String(i).padStart(2, '0')}.png`, bytes);
    await src.put('edits/c01-rotate.jpg', await makeDuplicate(originals[1] as Buffer, 'rotate', rng));
    await src.put('edits/c02-crop.jpg', await makeDuplicate(originals[2] as Buffer, 'crop', rng));
    await src.put('edits/c03-exact.png', await makeDuplicate(originals[3] as Buffer, 'exact', rng));
    await src.put('edits/c05-flip.jpg', await makeDuplicate(originals[5] as Buffer, 'flip', rng));
    const workers = startWorkers(env, STAGES);
    cleanups.push(() => workers.stop());
    const services = await connectServices(loadConfig({ ...env, ...o.serviceEnv, IMGSIM_LOG_LEVEL: 'silent' }), silentLogger);
    cleanups.push(() => services.close());
    const runAndWait = async (args: string[] = []): Promise<void> => {
      const enq = await runCli(['enqueue', SOURCE_URI, '--dataset', o.dataset, '--json', ...args], env);
      assert.equal(enq.code, 0, enq.stderr);
      const r = await runCli(['run-status', jsonOf<{ id: string }>(enq).id, '--wait', '--timeout', '300', '--json'], env);
      const run = jsonOf<{ run: { status: string; heldBack?: string; error?: string } }>(r).run;
      assert.equal(run.status, 'completed', `${run.error ?? run.heldBack ?? ''}\n${workers.logs().slice(-3000)}`);
      assert.equal(run.heldBack, undefined, run.heldBack);
    };
    await runAndWait(['--train']);
    return { stack, workers, services, env, src, runAndWait, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
