/** Address classification shared by the login rules, the link check and webhooks. */
import { isIP } from 'node:net';

/** 127/8, ::1, ::ffff:127/104 or "localhost". */
export function isLoopbackAddress(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  return /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) && isIP(h) === 6;
}
