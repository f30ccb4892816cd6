/**
 * Rows as the text Postgres takes them in bulk: the array literals that `unnest()` reads
 * ({@link arrayColumns}) and the text format of `COPY ... FROM STDIN` ({@link copyRows}). Both are
 * built here rather than by node-postgres, which quotes and escapes every element of an array with
 * two regular expressions.
 *
 * `kinds` has one letter per column: `n` numbers, bigints or decimal strings (written as they
 * are), `t` text (quoted or escaped as the format needs), `b` booleans, `z` a Unix-ms time
 * (written as ISO 8601 UTC text, exact to the millisecond). null or undefined is NULL in any
 * column.
 */

/**
 * The rows as the column arrays unnest() takes, one Postgres array literal per column (text
 * quoted, escaped only when it holds a quote or a backslash).
 */
export function arrayColumns(rows: readonly (readonly unknown[])[], kinds: string): string[] {
  const out = new Array<string>(kinds.length);
  // Joined, not concatenated: a long chain of += keeps one rope node per step alive until the
  // string is flattened, which the garbage collector pays for.
  const parts = new Array<string>(rows.length);
  for (let c = 0; c < kinds.length; c++) {
    const kind = kinds.charCodeAt(c);
    for (let r = 0; r < rows.length; r++) {
      const v = rows[r][c];
      parts[r] = v === null || v === undefined ? 'NULL' : fieldText(v, kind, arrayQuoted);
    }
    out[c] = `{${parts.join(',')}}`;
  }
  return out;
}

/**
 * The rows in COPY's text format: one line per row, fields separated by tabs, null as `\N`, and
 * in text fields a backslash, tab, newline or carriage return escaped with a backslash.
 */
export function copyRows(rows: readonly (readonly unknown[])[], kinds: string): string {
  const lines = new Array<string>(rows.length + 1);
  const fields = new Array<string>(kinds.length);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    for (let c = 0; c < kinds.length; c++) {
      const v = row[c];
      fields[c] =
        v === null || v === undefined ? '\\N' : fieldText(v, kinds.charCodeAt(c), copyEscaped);
    }
    lines[r] = fields.join('\t');
  }
  lines[rows.length] = '';
  return lines.join('\n');
}

const KIND_TEXT = 't'.charCodeAt(0);
const KIND_BOOL = 'b'.charCodeAt(0);
const KIND_TIME = 'z'.charCodeAt(0);

/** A value (not null) as text by its column's kind; `text` quotes or escapes a text field. */
function fieldText(v: unknown, kind: number, text: (s: string) => string): string {
  return kind === KIND_TEXT
    ? text(String(v))
    : kind === KIND_BOOL
      ? v === true
        ? 't'
        : 'f'
      : kind === KIND_TIME
        ? isoTime(v as number)
        : String(v as number | bigint | string);
}

/** A text element of an array literal: double-quoted, a quote or backslash escaped. */
function arrayQuoted(s: string): string {
  if (s.indexOf('"') === -1 && s.indexOf('\\') === -1) return `"${s}"`;
  return `"${s.replace(/[\\"]/g, '\\$&')}"`;
}

/** A text field: backslash, tab, newline and carriage return escaped. */
export function copyEscaped(s: string): string {
  return SPECIAL.test(s) ? s.replace(SPECIALS, escape) : s;
}

const SPECIAL = /[\\\t\n\r]/;
const SPECIALS = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const escape = (ch: string): string => ESCAPES[ch];

const DAY_MS = 86_400_000;
/** 9999-12-31T23:59:59.999Z: the last time with a four-digit year. */
const MAX_ISO_MS = 253_402_300_799_999;
const TWO = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const THREE = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

// Events of one command share their time and a batch's span one day, so the last time and the
// last day's date text are kept (Date#toISOString costs about half a microsecond).
let lastMs = NaN;
let lastText = '';
let dayStart = NaN;
let dayText = '';

/**
 * A Unix-ms time as `YYYY-MM-DDTHH:MM:SS.mmmZ`, what `new Date(ms).toISOString()` gives, for
 * whole milliseconds from 1970 to the end of 9999 (anything else throws).
 */
export function isoTime(ms: number): string {
  if (ms === lastMs) return lastText;
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_ISO_MS) {
    throw new Error(`time ${String(ms)} ms is not a whole millisecond from 1970 to 9999`);
  }
  let t = ms % DAY_MS;
  const day = ms - t;
  if (day !== dayStart) {
    dayStart = day;
    dayText = new Date(day).toISOString().slice(0, 11);
  }
  const milli = t % 1000;
  t = (t - milli) / 1000;
  const sec = t % 60;
  t = (t - sec) / 60;
  const min = t % 60;
  const hour = (t - min) / 60;
  lastMs = ms;
  lastText = `${dayText}${TWO[hour]}:${TWO[min]}:${TWO[sec]}.${THREE[milli]}Z`;
  return lastText;
}
