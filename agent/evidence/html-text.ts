/**
 * Text on the verify report pages: HTML escaping and the time and duration formats a person reads
 * (every clock time labelled UTC: the journal's clock is UTC).
 */
export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export const fmtS = (s: number): string => {
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s - m * 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
};
export const hms = (ms: number): string => new Date(ms).toISOString().slice(11, 19);
/** Every time a person reads is labelled: the journal's clock is UTC. */
export const hmsU = (ms: number): string => `${hms(ms)} UTC`;
export const utc = (iso: string | null): string => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 23)} UTC` : '?');
