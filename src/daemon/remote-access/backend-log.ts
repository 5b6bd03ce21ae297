/**
 * How the user backends report what happens outside a single request (a users file that no longer
 * parses, a RADIUS server that stops answering, a forged RADIUS response). The daemon passes a
 * function that writes to its log; nothing secret (no password, no shared secret) is ever passed.
 */
export type BackendLogLevel = 'error' | 'warn' | 'info' | 'debug';
export type BackendLogFields = Readonly<Record<string, string | number | boolean | undefined>>;
export type BackendLog = (level: BackendLogLevel, message: string, fields?: BackendLogFields) => void;

/** The default: backends used without a daemon (tests, `isakmp daemon --check`) log nothing. */
export const noBackendLog: BackendLog = () => {};
