/** The message the crash tests deliver: big enough to be written in several pieces, and recognisable whole. */
export function crashMessage(): Buffer {
  const lines = Array.from({ length: 400 }, (_, i) => `line ${String(i).padStart(4, '0')} ${'x'.repeat(60)}\r\n`);
  return Buffer.from(`From: crash@example.org\r\nSubject: crash test\r\n\r\n${lines.join('')}-- end --\r\n`);
}
