/** Dates (RFC 5322 section 3.3, with the obsolete zones and two-digit years of section 4.3). */
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const ZONES: Record<string, number> = { ut: 0, gmt: 0, utc: 0, z: 0, est: -300, edt: -240, cst: -360, cdt: -300, mst: -420, mdt: -360, pst: -480, pdt: -420 };

/** Parse a Date header; null when it cannot be understood. */
export function parseMailDate(input: string | undefined): Date | null {
  if (!input) return null;
  // a date is short: cut first so that no expression below ever sees a hostile megabyte
  const s = input.slice(0, 300).replace(/\([^()]*\)/g, ' ').replace(/\s+/g, ' ').trim();
  const m = /^(?:[A-Za-z]{2,}\s*,?\s*)?(\d{1,2})\s*[ -]\s*([A-Za-z]{3})[a-z]*\.?\s*[ -]\s*(\d{2,4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*([+-]\d{2}:?\d{2}|[A-Za-z]{1,5})?/.exec(s);
  if (m) {
    const month = MONTHS.indexOf(m[2].toLowerCase());
    if (month >= 0) {
      let year = Number(m[3]);
      if (m[3].length === 2) year += year < 50 ? 2000 : 1900;
      else if (m[3].length === 3) year += 1900;
      let offset = 0;
      const z = m[7];
      if (z && /^[+-]/.test(z)) {
        const digits = z.replace(':', '');
        offset = (digits[0] === '-' ? -1 : 1) * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5)));
      } else if (z) offset = ZONES[z.toLowerCase()] ?? 0;
      const ms = Date.UTC(year, month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)) - offset * 60000;
      const d = new Date(ms);
      return Number.isNaN(d.getTime()) ? null : d;
    }
  }
  const fallback = new Date(s);
  return Number.isNaN(fallback.getTime()) ? null : fallback;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * Format a date as RFC 5322 date-time (section 3.3) in UTC ("+0000"): "Tue, 2 Jan 2024 03:04:05 +0000". The one date
 * formatter of the project (message headers, Received:, DSN fields). `twoDigitDay` writes the day as two digits
 * ("02 Jan"), which the grammar equally allows (1*2DIGIT) and which trace and DSN fields have always used here.
 */
export function formatMailDate(date: Date | number, options?: { twoDigitDay?: boolean }): string {
  const d = typeof date === 'number' ? new Date(date) : date;
  const p = (n: number): string => String(n).padStart(2, '0');
  const day = options?.twoDigitDay ? p(d.getUTCDate()) : String(d.getUTCDate());
  return `${DAYS[d.getUTCDay()]}, ${day} ${MONTH_NAMES[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
