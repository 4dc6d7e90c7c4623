import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestStore, type Store } from '../src/index';
import { app } from './fixtures';

describe.each(['postgres', 'pglite'] as const)('app attachments on %s', (kind) => {
  let store: Store;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ store, cleanup } = await createTestStore(kind));
    await store.createProject({ id: 'p1', name: 'Project 1', token: 'phc_one' });
  });
  afterEach(async () => {
    await cleanup();
  });

  it('stores, replaces, lists and deletes an instance\'s files, bumping its attachmentsVersion', async () => {
    const saved = await store.saveApp(app('att'));
    const instance = await store.createInstance({ projectId: 'p1', appId: saved.id, config: {} });
    expect(instance.attachmentsVersion).toBeUndefined();
    const bytes = new Uint8Array([0, 1, 2, 255]);
    expect(await store.setAttachment('p1', instance.id, { key: 'list', contentType: 'text/csv', fileName: 'a.csv', contents: new TextEncoder().encode('a,b\n') })).toBe(true);
    expect(await store.setAttachment('p1', instance.id, { key: 'blob', contentType: 'application/octet-stream', fileName: 'b.bin', contents: bytes })).toBe(true);
    expect(await store.setAttachment('other', instance.id, { key: 'x', contentType: 'text/plain', fileName: 'x', contents: bytes })).toBe(false);
    expect((await store.getInstance(instance.id))!.attachmentsVersion).toBe(2);

    await store.setAttachment('p1', instance.id, { key: 'list', contentType: 'text/csv', fileName: 'c.csv', contents: new TextEncoder().encode('c\n') });
    const files = await store.listAttachments(instance.id);
    expect(files.map((f) => [f.key, f.fileName, f.contentType])).toEqual([['blob', 'b.bin', 'application/octet-stream'], ['list', 'c.csv', 'text/csv']]);
    expect([...files[0]!.contents]).toEqual([0, 1, 2, 255]);
    expect(new TextDecoder().decode(files[1]!.contents)).toBe('c\n');
    expect((await store.listAttachmentInfo(instance.id)).map((f) => [f.key, f.size])).toEqual([['blob', 4], ['list', 2]]);
    expect((await store.listInstances('p1'))[0]!.attachmentsVersion).toBe(3);

    expect(await store.deleteAttachment('p1', instance.id, 'blob')).toBe(true);
    expect(await store.deleteAttachment('p1', instance.id, 'blob')).toBe(false);
    expect((await store.getInstance(instance.id))!.attachmentsVersion).toBe(4);

    // They go with their instance.
    await store.deleteInstance('p1', instance.id);
    expect(await store.listAttachments(instance.id)).toEqual([]);
  });
});
