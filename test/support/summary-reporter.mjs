// A node:test reporter printing a final "N passed, N failed, N skipped" line
// (used beside the spec reporter). Plain JS: node loads reporters before tsx's hooks.
/** @param {AsyncIterable<{type: string, data: any}>} source */
export default async function* summaryReporter(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (event.data.details?.type === 'suite') continue;
    if (event.type === 'test:fail') failed += 1;
    else if (event.data.skip || event.data.todo) skipped += 1;
    else passed += 1;
  }
  yield `\n${passed} passed, ${failed} failed, ${skipped} skipped\n`;
}
