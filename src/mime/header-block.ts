/** Collects the fields of one header block line by line, within maxHeaderBytes and maxHeaderFields. */
import { parseHeaderField, type HeaderField } from './header.js';

export class HeaderBlock {
  private lines: Buffer[] = [];
  private fields: HeaderField[] = [];
  private bytes = 0;
  private overflow = false;
  private tooMany = false;

  constructor(
    private readonly maxBytes: number,
    private readonly maxFields: number,
    private readonly warn: (w: string) => void,
    private readonly truncate: (w: string) => void,
  ) {}

  get hasField(): boolean {
    return this.lines.length > 0;
  }

  /** A line that starts a new field. */
  startField(line: Buffer): void {
    this.flushField();
    this.addLine(line);
  }

  /** A continuation line (starts with white space). Ignored when no field is open. */
  continueField(line: Buffer): void {
    if (this.lines.length) this.addLine(line);
  }

  /** Called when a line is too long to keep: the rest of the block is skipped. */
  overflowNow(): void {
    if (this.overflow) return;
    this.overflow = true;
    this.flushField();
    this.lines = [];
    this.truncate(`header block over maxHeaderBytes (${this.maxBytes}); rest of the block skipped`);
  }

  /** The fields, in order; resets the block for the next part. */
  finish(): HeaderField[] {
    this.flushField();
    const fields = this.fields;
    this.fields = [];
    this.lines = [];
    this.bytes = 0;
    this.overflow = false;
    this.tooMany = false;
    return fields;
  }

  private addLine(line: Buffer): void {
    if (this.overflow) return;
    this.bytes += line.length;
    if (this.bytes > this.maxBytes) {
      this.overflowNow();
      return;
    }
    this.lines.push(Buffer.from(line));
  }

  private flushField(): void {
    if (!this.lines.length) return;
    let raw = this.lines.length === 1 ? this.lines[0] : Buffer.concat(this.lines);
    this.lines = [];
    let end = raw.length;
    if (end && raw[end - 1] === 10) end--;
    if (end && raw[end - 1] === 13) end--;
    raw = raw.subarray(0, end);
    if (this.fields.length >= this.maxFields) {
      if (!this.tooMany) {
        this.tooMany = true;
        this.truncate(`more than maxHeaderFields (${this.maxFields}) header fields; rest skipped`);
      }
      return;
    }
    const f = parseHeaderField(raw, this.warn);
    if (f) this.fields.push(f);
  }
}
