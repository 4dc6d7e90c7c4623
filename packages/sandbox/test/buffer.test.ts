import { describe, expect, it } from 'vitest';
import { expectNodeParity, runInSandbox } from './node-parity';

/** Node's Buffer API as apps use it (HTTP exports, S3/GCS bodies, base64 credentials), compared with Node's own. */
describe('the global Buffer', () => {
  it('makes, encodes and decodes as Node does', async () => {
    await expectNodeParity({
      fromUtf8: `return Buffer.from('héllo ☃ 𝄞').toString('hex')`,
      base64RoundTrip: `const b = Buffer.from('user:pässword'); return [b.toString('base64'), Buffer.from(b.toString('base64'), 'base64').toString()]`,
      base64url: `return Buffer.from([250, 251, 252, 253, 254, 255]).toString('base64url')`,
      latin1: `return [Buffer.from('ÿé', 'latin1').length, Buffer.from([0xe9, 0xff]).toString('latin1')]`,
      fromHex: `return Array.from(Buffer.from('00ff7f', 'hex'))`,
      fromArrayMasks: `return Array.from(Buffer.from([1, 256, -1, 3.7]))`,
      fromArrayBufferShares: `const ab = new Uint8Array([1, 2, 3, 4]).buffer; const b = Buffer.from(ab, 1, 2); new Uint8Array(ab)[1] = 9; return Array.from(b)`,
      fromViewCopies: `const u = new Uint8Array([1, 2]); const b = Buffer.from(u); u[0] = 7; return Array.from(b)`,
      fromJson: `return Buffer.from(JSON.parse(JSON.stringify(Buffer.from('ab')))).toString()`,
      toJSON: `return JSON.stringify({ body: Buffer.from('hi') })`,
      concat: `return Buffer.concat([Buffer.from('ab'), new Uint8Array([99]), Buffer.from('de')]).toString()`,
      concatLength: `return [Buffer.concat([Buffer.from('abc'), Buffer.from('def')], 4).toString(), Buffer.concat([]).length]`,
      byteLength: `return [Buffer.byteLength('héllo'), Buffer.byteLength('aGk=', 'base64'), Buffer.byteLength(new Uint16Array(3))]`,
      isBuffer: `return [Buffer.isBuffer(Buffer.alloc(1)), Buffer.isBuffer(new Uint8Array(1)), Buffer.isBuffer('x')]`,
      isEncoding: `return [Buffer.isEncoding('UTF-8'), Buffer.isEncoding('base64url'), Buffer.isEncoding('nope')]`,
      alloc: `return [Array.from(Buffer.alloc(3)), Array.from(Buffer.alloc(3, 1)), Buffer.alloc(5, 'ab').toString()]`,
      sliceAndSubarrayAreBuffers: `const b = Buffer.from('hello'); return [Buffer.isBuffer(b.slice(1)), b.subarray(1, 3).toString(), b.slice(-2).toString()]`,
      partialToString: `return Buffer.from('hello world').toString('utf8', 6, 11)`,
      writeCopyCompare: `const b = Buffer.alloc(6); const n = b.write('hé', 1); const c = Buffer.alloc(3); b.copy(c, 0, 1, 4); return [n, Array.from(b), Array.from(c), Buffer.compare(Buffer.from('a'), Buffer.from('b')), Buffer.from('b').compare(Buffer.from('a')), Buffer.from('x').equals(Buffer.from('x'))]`,
      readers: `const b = Buffer.from([0, 1, 2, 3, 4, 5, 6, 7]); return [b.readUInt16BE(0), b.readUInt32LE(4), b.readInt8(7)]`,
      moduleIsTheGlobal: `return require('buffer').Buffer === Buffer && require('node:buffer').Buffer === Buffer`,
      badFrom: `return Buffer.from(42)`,
      unknownEncoding: `return Buffer.from('x', 'nope')`,
    });
  });

  it('is the class the other modules answer with', async () => {
    const { out } = await runInSandbox({
      digest: `return Buffer.isBuffer(require('crypto').createHash('sha256').update('x').digest())`,
      gzip: `return Buffer.isBuffer(require('zlib').gzipSync('x'))`,
    });
    expect(out).toEqual({ digest: { value: true }, gzip: { value: true } });
  });
});
