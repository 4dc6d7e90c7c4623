/** What a progress line shows: how far, how fast. */
export interface Progress {
  done: number;
  total: number;
  eventsPerSecond: number;
}

const BAR_WIDTH = 30;

/** "12 s", "3 min 4 s", "1 h 2 min": an ETA people read at a glance. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** The ETA from the current rate; unknown until there is one. */
function eta(progress: Progress): string {
  const left = Math.max(0, progress.total - progress.done);
  if (left === 0) return '0 s';
  return progress.eventsPerSecond > 0 ? formatDuration(left / progress.eventsPerSecond) : '?';
}

/** `[#####.....]  45%  9000/20000 events  1000 ev/s  ETA 11 s`; `bar: false` leaves the bar out (plain log lines). */
export function progressLine(progress: Progress, options: { bar: boolean }): string {
  const fraction = progress.total > 0 ? Math.min(1, progress.done / progress.total) : 1;
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = options.bar ? `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ` : '';
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  return `${bar}${percent}  ${progress.done}/${progress.total} events  ${Math.round(progress.eventsPerSecond)} ev/s  ETA ${eta(progress)}`;
}
