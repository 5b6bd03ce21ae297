// The diagrams in a real browser, in the interop suite: interop/install.sh installs Debian's
// chromium, so this test fails (never skips) when it cannot run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromiumPath } from '../helpers/chromium.js';
import { checkRenderedDiagrams } from '../helpers/diagram-render.js';

test('decode --diagram renders in headless Chromium (Debian package): not blank, encrypted in blue, failing in red', { timeout: 240_000 }, async () => {
  assert.ok(chromiumPath() !== undefined, 'chromium is missing: interop/install.sh should have installed it');
  await checkRenderedDiagrams();
});
