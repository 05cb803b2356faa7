import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parseDuration,
  parseFraction,
  parseQueue,
  parseRate,
  parseSize,
  ScenarioError,
} from '../../src/sim/units.ts';

function fails(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ScenarioError, `expected a ScenarioError, got ${String(e)}`);
    assert.equal(e.message, message);
    return true;
  });
}

describe('rates', () => {
  it('reads bit and byte rates and plain bits/s', () => {
    assert.equal(parseRate('100Mbps', 'r'), 100e6);
    assert.equal(parseRate('1.5Gbps', 'r'), 1.5e9);
    assert.equal(parseRate('800kbps', 'r'), 800e3);
    assert.equal(parseRate('4MB/s', 'r'), 32e6);
    assert.equal(parseRate('1KiB/s', 'r'), 8192);
    assert.equal(parseRate(' 10 Mbit/s ', 'r'), 10e6);
    assert.equal(parseRate(250000, 'r'), 250000);
    assert.equal(parseRate(0, 'r'), 0);
  });

  it('names the field and the expected form', () => {
    fails(
      () => parseRate('fast', 'links.wifi.rate'),
      'links.wifi.rate: expected a rate like "100Mbps", got "fast"',
    );
    fails(() => parseRate('100 furlongs', 'x'), 'x: expected a rate like "100Mbps", got "100 furlongs"');
    fails(() => parseRate(-5, 'x'), 'x: expected a rate like "100Mbps", got -5');
    fails(() => parseRate('100', 'x'), 'x: expected a rate like "100Mbps", got "100"');
    fails(() => parseRate(true, 'x'), 'x: expected a rate like "100Mbps", got true');
  });
});

describe('durations', () => {
  it('reads units into integer microseconds', () => {
    assert.equal(parseDuration('10ms', 'd'), 10_000);
    assert.equal(parseDuration('2.5s', 'd'), 2_500_000);
    assert.equal(parseDuration('500us', 'd'), 500);
    assert.equal(parseDuration('500µs', 'd'), 500);
    assert.equal(parseDuration('1min', 'd'), 60_000_000);
    assert.equal(parseDuration(1234, 'd'), 1234);
    assert.equal(parseDuration('0.0004ms', 'd'), 0);
  });

  it('refuses negative, unitless and unknown', () => {
    fails(() => parseDuration(-1, 'links.a.delay'), 'links.a.delay: expected a duration like "10ms", got -1');
    fails(() => parseDuration('-10ms', 'd'), 'd: expected a duration like "10ms", got "-10ms"');
    fails(() => parseDuration('10', 'd'), 'd: expected a duration like "10ms", got "10"');
    fails(() => parseDuration('10h', 'd'), 'd: expected a duration like "10ms", got "10h"');
  });
});

describe('sizes', () => {
  it('reads decimal and binary units', () => {
    assert.equal(parseSize('64KB', 's'), 64000);
    assert.equal(parseSize('10MiB', 's'), 10 * 1024 * 1024);
    assert.equal(parseSize('1448B', 's'), 1448);
    assert.equal(parseSize('1.5MB', 's'), 1_500_000);
    assert.equal(parseSize(1000, 's'), 1000);
  });

  it('refuses fractions of a byte and bad units', () => {
    fails(() => parseSize('1.5B', 's'), 's: expected a whole number of bytes, got "1.5B"');
    fails(() => parseSize(10.5, 's'), 's: expected a whole number of bytes, got 10.5');
    fails(() => parseSize('10 bits', 's'), 's: expected a size like "64KB", got "10 bits"');
  });
});

describe('loss and shares', () => {
  it('reads percentages and fractions', () => {
    assert.equal(parseFraction('1%', 'l'), 0.01);
    assert.equal(parseFraction('0%', 'l'), 0);
    assert.equal(parseFraction('100%', 'l'), 1);
    assert.equal(parseFraction(0.25, 'l'), 0.25);
  });

  it('refuses impossible shares', () => {
    fails(
      () => parseFraction('101%', 'links.x.loss'),
      'links.x.loss: expected a share between 0% and 100%, got "101%"',
    );
    fails(() => parseFraction(1.5, 'l'), 'l: expected a share between 0% and 100%, got 1.5');
    fails(() => parseFraction(-0.1, 'l'), 'l: expected a share between 0% and 100%, got -0.1');
    fails(() => parseFraction('1', 'l'), 'l: expected a share like "1%" or 0.01, got "1"');
  });
});

describe('queue limits', () => {
  it('reads packets, time and bytes', () => {
    assert.deepEqual(parseQueue('100pkt', 'q'), { packets: 100 });
    assert.deepEqual(parseQueue(64, 'q'), { packets: 64 });
    assert.deepEqual(parseQueue('50ms', 'q'), { time: 50_000 });
    assert.deepEqual(parseQueue('64KB', 'q'), { bytes: 64000 });
    assert.deepEqual(parseQueue('1MiB', 'q'), { bytes: 1048576 });
  });

  it('refuses empty and fractional queues', () => {
    fails(() => parseQueue('0pkt', 'q'), 'q: expected a whole number of packets (at least 1), got "0pkt"');
    fails(
      () => parseQueue('1.5pkt', 'q'),
      'q: expected a whole number of packets (at least 1), got "1.5pkt"',
    );
    fails(() => parseQueue('0KB', 'q'), 'q: expected a queue of at least 1 byte, got "0KB"');
    fails(
      () => parseQueue('big', 'q'),
      'q: expected a queue limit like "100pkt", "50ms" or "64KB", got "big"',
    );
    fails(() => parseQueue(0, 'q'), 'q: expected a queue limit like "100pkt", "50ms" or "64KB", got 0');
  });
});
