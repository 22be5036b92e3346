// In-process Qdrant REST emulator for tests (see server.ts).
export { startQdrantEmulator, EMULATED_VERSION, type QdrantEmulator, type QdrantEmulatorOptions, type EmulatorFault, type EmulatorIssue } from './server.js';
