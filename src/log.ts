// Structured logs: one JSON object a line on stderr (a detached mount's stderr is its log file).

export type LogFields = Record<string, unknown>;

export function log(level: 'info' | 'warn' | 'error', message: string, fields: object = {}): void {
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level, message, ...fields }) + '\n');
}
