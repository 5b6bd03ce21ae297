// The diagrams in a real browser: headless Chromium renders the SVG and the HTML page of known
// captures to PNG (test/helpers/diagram-render.ts). Skipped here when chromium is not installed;
// test/interop/diagram-render.test.ts runs the same check and never skips.
import { test } from 'node:test';
import { chromiumPath } from '../helpers/chromium.js';
import { checkRenderedDiagrams } from '../helpers/diagram-render.js';

const skip = chromiumPath() === undefined ? 'chromium not installed (npm run test:interop installs it through interop/install.sh)' : false;
if (skip) console.log(`# diagram rendering skipped: ${skip}`);

test('decode --diagram renders in headless Chromium: not blank, encrypted in blue, failing in red', { skip, timeout: 240_000 }, async () => {
  await checkRenderedDiagrams();
});
