import { describe, expect, it } from 'vitest';
import { errorFingerprint } from '../src/app-activity';

describe('errorFingerprint', () => {
  it('masks what varies between events (uuids, long hex ids, quoted values, numbers) and keeps the rest', () => {
    const a = errorFingerprint('TypeError: cannot handle 6f1c2f3e-1111-4abc-8def-0123456789ab at row 12');
    const b = errorFingerprint('TypeError: cannot handle 93ab0000-2222-4abc-8def-ba9876543210 at row 7');
    expect(a).toBe('TypeError: cannot handle <uuid> at row <n>');
    expect(b).toBe(a);
    expect(errorFingerprint('RetryError: HTTP 503 from "https://x.example/1"')).toBe('RetryError: HTTP <n> from <str>');
    expect(errorFingerprint('id deadbeefdeadbeef42 missing')).toBe('id <hex> missing');
    expect(errorFingerprint('TypeError: a')).not.toBe(errorFingerprint('RangeError: a'));
  });
});
