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
      // kafkajs logs a broker's "busy, ask again" answers as errors and then retries them; if
      // the retries run out, the caller gets the error and umbra reports it there.
      if (level === logLevel.ERROR && TRANSIENT.test(String(extra.error ?? '')))
        child.info(fields, message);
      else if (level === logLevel.ERROR) child.error(fields, message);
      else if (level === logLevel.WARN) child.warn(fields, message);
    };
}

export const KAFKAJS_LOG_LEVEL = logLevel.WARN;

/** Retriable broker answers seen while a broker or group is starting or moving. */
const TRANSIENT =
  /coordinator is loading|coordinator is not available|no leader for this topic-partition|not the leader for that topic-partition|group is rebalancing/i;
