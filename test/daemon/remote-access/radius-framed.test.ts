/**
 * RADIUS Framed-IP-Address as the virtual address (radius-framed-cases.ts). In `npm test` it skips
 * with a message when FreeRADIUS is missing; the interop run never skips
 * (test/interop/radius.test.ts).
 */
import { freeRadiusSkipReason } from './freeradius.js';
import { registerFramedIpCases } from './radius-framed-cases.js';

const skip = freeRadiusSkipReason();
if (skip) console.log(`# RADIUS Framed-IP-Address tests skipped: ${skip}`);
registerFramedIpCases(skip);
