/** A one-line progress bar with rate and ETA on a terminal; a line every few seconds otherwise. */
export class Progress {
  private readonly started = Date.now();
  private lastLine = 0;
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(private readonly label: string, private total: number, private readonly startAt = 0) {}

  update(done: number, total = this.total, force = false): void {
    this.total = total;
    const now = Date.now();
    if (!force && now - this.lastLine < (this.tty ? 200 : 5000)) return;
    this.lastLine = now;
    const secs = Math.max(0.001, (now - this.started) / 1000);
    const rate = (done - this.startAt) / secs;
    const left = Math.max(0, total - done);
    const eta = rate > 0 ? formatDuration(left / rate) : '?';
    const frac = total ? Math.min(1, done / total) : 0;
    const bar = '█'.repeat(Math.round(frac * 24)).padEnd(24, '░');
    const line = `${this.label} ${bar} ${done.toLocaleString('en')}/${total.toLocaleString('en')} ${(frac * 100).toFixed(1)} %  ${Math.round(rate).toLocaleString('en')}/s  ETA ${eta}`;
    process.stderr.write(this.tty ? `\r${line}\u001b[K` : `${line}\n`);
  }

  finish(done: number): void {
    this.update(done, this.total, true);
    if (this.tty) process.stderr.write('\n');
  }
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.round(s % 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}
