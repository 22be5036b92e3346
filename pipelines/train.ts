// The train stage (to come). The trainer itself is a building block in shared/model/training/.
export { trainAutoencoder, splitIndices, reconstruct, type TrainOptions, type TrainResult } from '../shared/model/training/index.js';
