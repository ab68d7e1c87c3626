import { ApiException } from '@kubernetes/client-node';
import { Writable } from 'node:stream';
import winston from 'winston';
import { describeError, statusCode } from '../../../src/runtime/errors.js';
import { createLogger } from '../../../src/runtime/logging.js';

describe('error redaction', () => {
  const secretValue = 'cGFzc3dvcmQtZG8tbm90LWxlYWs='; // base64 of a password
  const body = JSON.stringify({
    kind: 'Status',
    message: 'secrets "hsm-pin" already exists',
    code: 409,
    details: { causes: [{ message: `data.pin: ${secretValue}` }] },
    object: { data: { pin: secretValue } },
  });

  it('describes an API error by its status message only', () => {
    const e = new ApiException(409, 'Conflict', body, {});
    expect(statusCode(e)).toBe(409);
    expect(describeError(e)).toBe('409: secrets "hsm-pin" already exists');
    expect(describeError(e)).not.toContain(secretValue);
  });

  it('keeps the secret out of the log output when the error is logged the supported way', () => {
    let out = '';
    const sink = new Writable({
      write(chunk, _enc, cb) {
        out += chunk.toString();
        cb();
      },
    });
    const log = createLogger('debug', 'json');
    log.clear().add(new winston.transports.Stream({ stream: sink }));
    log.error('create failed', { error: describeError(new ApiException(409, 'Conflict', body, {})) });
    expect(out).toContain('already exists');
    expect(out).not.toContain(secretValue);
  });

  it('falls back to the HTTP code when the body is not a Status', () => {
    expect(describeError(new ApiException(500, 'x', '<html>oops</html>', {}))).toBe('HTTP 500');
    expect(describeError(new Error('boom'))).toBe('boom');
  });
});
