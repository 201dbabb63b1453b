import { pino, type Logger as PinoLogger, type LoggerOptions } from 'pino';

export type Logger = PinoLogger;

/** Keys whose values never reach a log line, at any depth we know of. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'token',
  '*.token',
  '*.*.token',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  'sasl',
  '*.sasl',
  '*.*.sasl',
  'apiKey',
  '*.apiKey',
  '*.*.apiKey',
  'secret',
  '*.secret',
  '*.*.secret',
];

export interface LoggingOptions {
  level?: string;
  service?: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to read what was logged. */
  destination?: NodeJS.WritableStream;
}

/** JSON logs with secrets redacted; child loggers carry service, topic, partition, experiment. */
export function createLogger(opts: LoggingOptions = {}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    base: opts.service ? { service: opts.service } : {},
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A logger that drops everything; for library callers that pass none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
