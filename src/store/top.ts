/**
 * POP3 TOP on a whole message held in memory: the header, the blank line, and at most `lines` body lines.
 * A message that starts with an empty line has an empty header. Without a blank line, the whole message.
 */
export function topOfMessage(data: Buffer, lines: number): Buffer {
  const headerEnd = data[0] === 0x0d && data[1] === 0x0a ? -2 : data.indexOf('\r\n\r\n');
  if (headerEnd === -1) return data;
  let pos = headerEnd + 4;
  for (let i = 0; i < lines; i++) {
    const nl = data.indexOf('\n', pos);
    if (nl < 0) return data;
    pos = nl + 1;
  }
  return data.subarray(0, pos);
}
