import { InvalidArgumentError } from 'commander';

/** An error the CLI reports as `error: <message>` (plus detail lines) and exits with `exitCode`. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1, readonly lines: string[] = []) {
    super(message);
  }
}

/** Bad arguments: exit 2, like commander's own usage errors. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** Prints an error on stderr; with `--json`, an API error's own JSON also goes to stdout for scripts. */
export function report(err: unknown, json = false): number {
  if (err instanceof CliError) {
    const text = (err as CliError & { text?: string }).text;
    if (json && text) process.stdout.write(text.endsWith('\n') ? text : text + '\n');
    console.error([`error: ${err.message}`, ...err.lines].join('\n'));
    return err.exitCode;
  }
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  return 1;
}

/** `--json` prints the API's body untouched (key order, numbers); otherwise the readable rendering. */
export function emit(json: boolean, reply: { text: string }, render: () => string): void {
  if (json) process.stdout.write(reply.text.endsWith('\n') ? reply.text : reply.text + '\n');
  else console.log(render());
}

type Cell = string | number | boolean | null | undefined;

/** An aligned table; numbers are right-aligned, a footer row (e.g. a total) sits under a rule. */
export function table(headers: string[], rows: Cell[][], footer?: Cell[]): string {
  const all = footer ? [...rows, footer] : rows;
  const text = all.map((r) => r.map((c) => (c === null || c === undefined ? '' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => r[i].length)));
  const right = headers.map((_, i) => all.length > 0 && all.every((r) => typeof r[i] === 'number' || r[i] == null));
  const line = (cells: string[]) =>
    cells.map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const out = [line(headers.map((h) => h.toUpperCase())), ...text.slice(0, rows.length).map(line)];
  if (footer) out.push('-'.repeat(widths.reduce((a, b) => a + b + 2, -2)), line(text[rows.length]));
  return out.join('\n');
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `2026-11-23 08:01:54` in the local time zone; accepts ISO strings or epoch milliseconds. */
export function localTime(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function truncate(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max - 1) + '…';
}

/** A history detail on one line: `from=greet changed=["msg"]`. */
export function summarize(detail: unknown, max = 80): string {
  if (detail === null || detail === undefined) return '';
  if (typeof detail !== 'object') return truncate(String(detail), max);
  const parts = Object.entries(detail).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return truncate(parts.join(' ').replace(/\s+/g, ' '), max);
}

/** A commander argument parser for whole numbers (ids, limits, ports). */
export function wholeNumber(what: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    const range = max < Number.MAX_SAFE_INTEGER ? `from ${min} to ${max}` : `${min} or more`;
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`${what} must be a whole number, ${range}.`);
    return n;
  };
}
