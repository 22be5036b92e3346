// `node --import ./test/support/import-trace.mjs …`: every ES module the process resolves
// is appended (its URL, one a line) to the file named by IMGSIM_IMPORT_TRACE. The
// start-up tests use it to see which packages a command loads. Plain JS: it registers a
// loader hook before anything else (tsx included) is loaded.
import { register } from 'node:module';

if (process.env.IMGSIM_IMPORT_TRACE) register('./import-trace-hooks.mjs', import.meta.url, { data: process.env.IMGSIM_IMPORT_TRACE });
