/**
 * Module candidates for the replayer benchmark: they answer at once with a fixed output, so the
 * bench times the replayer's own path (decode, invoke wrappers, compare, batch, store, commit).
 */
const OUTPUT = Object.freeze({ label: 'approve', score: 0.1 });

export function fixedCandidate(): { label: string; score: number } {
  return OUTPUT;
}
