import { logLevel, type logCreator } from 'kafkajs';
import type { Logger } from '../logging/index.ts';

/**
 * kafkajs's logCreator that forwards its warnings and errors to our pino logger, as one child
 * per client. Below warn kafkajs is chatty (every join, every fetch) and adds nothing we
 * do not get from consumer events.
 */
export function pinoLogCreator(logger: Logger): logCreator {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = log;
      const fields = { kafkajs: { namespace, ...extra } };
      if (level === logLevel.ERROR) child.error(fields, message);
      else if (level === logLevel.WARN) child.warn(fields, message);
    };
}

export const KAFKAJS_LOG_LEVEL = logLevel.WARN;
