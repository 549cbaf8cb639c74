import { Writable } from 'node:stream';
import { logLevel } from 'kafkajs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ImatchError } from './errors.js';
import { kafkaLevelFor, kafkaLogCreator, toKafkaError } from './kafka.js';

describe('kafkajs logs through pino', () => {
  it('maps kafkajs entries to pino lines with their level, namespace and fields', () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()));
        done();
      },
    });
    const log = pino({ level: 'info' }, sink);
    const write = kafkaLogCreator(log)(logLevel.INFO);
    const entry = (message: string, extra: Record<string, unknown> = {}) => ({
      message,
      timestamp: 'ts',
      logger: 'kafkajs',
      ...extra,
    });
    write({
      namespace: 'Consumer',
      level: logLevel.INFO,
      label: 'INFO',
      log: entry('joined', { groupId: 'g' }),
    });
    write({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: entry('refused') });
    write({ namespace: 'Connection', level: logLevel.DEBUG, label: 'DEBUG', log: entry('request') });

    expect(lines).toHaveLength(2); // debug is below the logger's level
    expect(lines[0]).toMatchObject({
      level: 30,
      component: 'kafka',
      namespace: 'Consumer',
      groupId: 'g',
      msg: 'joined',
    });
    expect(lines[1]).toMatchObject({ level: 50, namespace: 'Connection', msg: 'refused' });
    expect(lines[0]).not.toHaveProperty('timestamp');
  });

  it('asks kafkajs for no more than the pino level shows', () => {
    expect(kafkaLevelFor('silent')).toBe(logLevel.NOTHING);
    expect(kafkaLevelFor('error')).toBe(logLevel.ERROR);
    expect(kafkaLevelFor('warn')).toBe(logLevel.WARN);
    expect(kafkaLevelFor('info')).toBe(logLevel.INFO);
    expect(kafkaLevelFor('trace')).toBe(logLevel.DEBUG);
  });
});

describe('Kafka errors', () => {
  it('say whether a retry can help', () => {
    const down = toKafkaError(
      { name: 'KafkaJSConnectionError', message: 'Connection error', retriable: true },
      'send',
    );
    expect(down).toBeInstanceOf(ImatchError);
    expect(down).toMatchObject({ code: 'IM_ERR_KAFKA_UNAVAILABLE', retriable: true });
    expect(down.message).toContain('send: KafkaJSConnectionError');

    const tooBig = toKafkaError(
      { name: 'KafkaJSProtocolError', type: 'MESSAGE_TOO_LARGE', message: 'too large', retriable: false },
      'send',
    );
    expect(tooBig).toMatchObject({ code: 'IM_ERR_KAFKA', retriable: false });
    expect(tooBig.message).toContain('MESSAGE_TOO_LARGE');

    const same = new ImatchError('IM_ERR_KAFKA', 'x');
    expect(toKafkaError(same, 'y')).toBe(same);
  });
});
