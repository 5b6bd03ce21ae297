/**
 * The RADIUS backend end to end against a real FreeRADIUS from Debian's packages (installed by
 * interop/install.sh): the cases of test/daemon/remote-access/radius-cases.ts, never skipped here.
 * Run by `npm run test:interop`.
 */
import { registerFreeRadiusCases } from '../daemon/remote-access/radius-cases.js';

registerFreeRadiusCases(false);
