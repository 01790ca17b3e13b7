/** Opens the embedded mail store of a data directory: Maildir under <data>/mail. */
import { join } from 'node:path';
import { createMaildirStore } from '../store/maildir/index.js';
import type { MailStore } from '../store/types.js';

export async function openStore(dataDir: string, hostname: string): Promise<MailStore> {
  return createMaildirStore({ root: join(dataDir, 'mail'), hostname });
}
