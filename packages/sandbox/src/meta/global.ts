import type { AppAttachmentFile, MetaCapability } from './types';

/** `meta.global`: per instance per process, shared by setupPlugin and every later call. */
export const globalMeta: MetaCapability = {
  name: 'global',
  shim: () => 'meta.global = {};',
};

/**
 * `meta.attachments`: the files uploaded for the instance's attachment config fields, by key, as
 * `{content_type, file_name, contents}` (embedded as literals, like meta.config).
 */
export const attachmentsMeta: MetaCapability = {
  name: 'attachments',
  shim: ({ attachments = {} }) => {
    const entries = Object.entries(attachments).map(([key, file]) => {
      const contents = typeof file.contents === 'string' ? JSON.stringify(file.contents) : `new Uint8Array(${JSON.stringify(Array.from(file.contents))})`;
      return `${JSON.stringify(key)}: { content_type: ${JSON.stringify(file.content_type)}, file_name: ${JSON.stringify(file.file_name)}, contents: ${contents} }`;
    });
    return `meta.attachments = {${entries.join(', ')}};`;
  },
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A stored attachment as the app sees it: text (valid UTF-8 without NUL bytes, whatever the
 * content type says) as a string, so `contents.toString()` and `JSON.parse(contents)` work as with
 * PostHog's Buffer; anything else as a Uint8Array of its bytes.
 */
export function attachmentFile(file: { contentType: string; fileName: string; contents: Uint8Array }): AppAttachmentFile {
  let contents: string | Uint8Array = file.contents;
  if (!file.contents.includes(0)) {
    try {
      contents = utf8.decode(file.contents);
    } catch {
      // binary: stays bytes
    }
  }
  return { content_type: file.contentType, file_name: file.fileName, contents };
}
