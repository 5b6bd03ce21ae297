/**
 * The RADIUS backend end to end against a real FreeRADIUS from Debian's packages (installed by
 * interop/install.sh): the cases of test/daemon/remote-access/radius-cases.ts, never skipped here.
 * The Framed-IP-Address cases (radius-framed-cases.ts) run here too. Run by `npm run test:interop`.
 */
import { registerFramedIpCases } from '../daemon/remote-access/radius-framed-cases.js';
import { registerFreeRadiusCases } from '../daemon/remote-access/radius-cases.js';

registerFreeRadiusCases(false);
registerFramedIpCases(false);
