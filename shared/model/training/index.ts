// Training the autoencoder, one building block: trainAutoencoder (train-autoencoder.ts)
// and its steps, the data-parallel step over worker threads (data-parallel.ts with
// protocol.ts and worker.ts), the train/validation split and previews.
export { trainAutoencoder } from './train-autoencoder.js';
export { trainingSeeds, type TrainOptions, type TrainResult } from './options.js';
export { splitIndices } from './split.js';
export { reconstruct } from './reconstruct.js';
export { createDataParallelStep, shardCounts, startDataParallel, type DataParallelOptions, type DataParallelStep } from './data-parallel.js';
