/**
 * Writes a tiny MaxMind DB (format 2.0, IPv4 tree, 24-bit records) mapping IPv4 networks to
 * records: enough for meta.geoip tests without shipping a real GeoLite2 file.
 * Spec: https://maxmind.github.io/MaxMind-DB/
 */
type Value = string | number | boolean | Value[] | { [key: string]: Value } | { double: number } | { uint64: number };

function control(type: number, size: number): Buffer {
  if (size >= 29) throw new Error('mmdb test writer: sizes of 29 and more are not supported');
  return type <= 7 ? Buffer.from([(type << 5) | size]) : Buffer.from([size, type - 7]);
}

function uint(type: number, value: number): Buffer {
  const bytes: number[] = [];
  for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.concat([control(type, bytes.length), Buffer.from(bytes)]);
}

function encode(value: Value): Buffer {
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([control(2, bytes.length), bytes]);
  }
  if (typeof value === 'boolean') return control(14, value ? 1 : 0);
  if (typeof value === 'number') return uint(6, value);
  if (Array.isArray(value)) return Buffer.concat([control(11, value.length), ...value.map(encode)]);
  if ('double' in value && typeof value.double === 'number') {
    const bytes = Buffer.alloc(8);
    bytes.writeDoubleBE(value.double);
    return Buffer.concat([control(3, 8), bytes]);
  }
  if ('uint64' in value && typeof value.uint64 === 'number') return uint(9, value.uint64);
  const entries = Object.entries(value as Record<string, Value>);
  return Buffer.concat([control(7, entries.length), ...entries.flatMap(([key, item]) => [encode(key), encode(item)])]);
}

export function writeMmdb(databaseType: string, networks: Array<{ network: string; prefix: number; record: Value }>): Buffer {
  // Tree: node 0 is the root; each node has [left, right] records. Empty = nodeCount.
  const nodes: Array<[number | { data: number }, number | { data: number }]> = [[-1, -1]];
  const data: Buffer[] = [];
  let dataSize = 0;
  for (const { network, prefix, record } of networks) {
    const encoded = encode(record);
    const offset = dataSize;
    data.push(encoded);
    dataSize += encoded.length;
    const address = network.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
    let node = 0;
    for (let depth = 0; depth < prefix; depth++) {
      const bit = Math.floor(address / 2 ** (31 - depth)) % 2;
      if (depth === prefix - 1) {
        nodes[node]![bit] = { data: offset };
        break;
      }
      const next = nodes[node]![bit];
      if (typeof next === 'number' && next >= 0) {
        node = next;
      } else {
        nodes.push([-1, -1]);
        nodes[node]![bit] = nodes.length - 1;
        node = nodes.length - 1;
      }
    }
  }
  const nodeCount = nodes.length;
  const resolve = (record: number | { data: number }) =>
    typeof record === 'object' ? nodeCount + 16 + record.data : record < 0 ? nodeCount : record;
  const tree = Buffer.alloc(nodeCount * 6);
  nodes.forEach(([left, right], index) => {
    tree.writeUIntBE(resolve(left), index * 6, 3);
    tree.writeUIntBE(resolve(right), index * 6 + 3, 3);
  });
  const metadata = encode({
    node_count: nodeCount,
    record_size: 24,
    ip_version: 4,
    database_type: databaseType,
    languages: ['en'],
    binary_format_major_version: 2,
    binary_format_minor_version: 0,
    build_epoch: { uint64: 1_700_000_000 },
    description: { en: 'Sluice test database' },
  });
  return Buffer.concat([tree, Buffer.alloc(16), ...data, Buffer.from([0xab, 0xcd, 0xef]), Buffer.from('MaxMind.com'), metadata]);
}
