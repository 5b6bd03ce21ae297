/**
 * The RADIUS backend against a real FreeRADIUS (radius-cases.ts). In `npm test` it skips with a
 * message when FreeRADIUS is not installed; `npm run test:interop` runs the same cases and never
 * skips (test/interop/radius.test.ts).
 */
import { freeRadiusSkipReason } from './freeradius.js';
import { registerFreeRadiusCases } from './radius-cases.js';

const skip = freeRadiusSkipReason();
if (skip) console.log(`# RADIUS tests against FreeRADIUS skipped: ${skip}`);
registerFreeRadiusCases(skip);
