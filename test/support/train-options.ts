// Training options of the tiny models the trainer tests use (2 stages, few filters, a
// held-out quarter); each test overrides what it is about.
import type { TrainOptions } from '../../shared/model/training/index.js';

export function tinyTrainOptions(overrides: Partial<TrainOptions> = {}): Omit<TrainOptions, 'epochs'> & Partial<Pick<TrainOptions, 'epochs'>> {
  return {
    filters: [4, 8],
    kernelSize: 3,
    batchSize: 8,
    learningRate: 5e-3,
    optimizer: 'adam',
    weightDecay: 0,
    patience: 0,
    validationSplit: 0.25,
    seed: 3,
    fit: 'crop',
    source: 'file:///toy',
    progressBar: false,
    ...overrides,
  };
}
