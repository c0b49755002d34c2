// Where our reader and Go's archive/tar (containerd's, CRI-O's, and most image scanners') must
// agree: a layer that names one file to a scanner and another to Skiff hides what it installs.
import { expect } from 'chai';
import { TarParser, type TarHeader } from '../../../../src/storage/tar/tar-parser.js';
import { END_BLOCKS, entry, pax } from '../../../support/tar-blocks.js';

function names(tar: Buffer): string[] {
  const p = new TarParser({ maxEntries: 100, maxEntryBytes: 1 << 20 });
  const out: TarHeader[] = [];
  for (const ev of [...p.write(tar), ...p.end()]) if (ev.type === 'entry') out.push(ev.header);
  return out.map((h) => h.name);
}

describe('storage/tar/tar-parser: Go parity', () => {
  // Go's Reader.Next returns a 'g' header as an entry of its own; the PAX records and GNU long
  // names gathered before it live in that call only, and the next call starts without them.
  it('drops a PAX header that a global PAX header follows, as Go does', () => {
    const tar = Buffer.concat([pax({ path: 'usr/bin/hidden' }), pax({ comment: 'x' }, 'g'), entry({ name: 'etc/shown' }, 'x'), END_BLOCKS]);
    expect(names(tar)).to.deep.equal(['etc/shown']);
  });

  it('drops a GNU long name that a global PAX header follows, as Go does', () => {
    const tar = Buffer.concat([
      entry({ name: '././@LongLink', type: 'L', format: 'gnu' }, 'usr/bin/hidden\0'),
      pax({ comment: 'x' }, 'g'),
      entry({ name: 'etc/shown' }, 'x'),
      END_BLOCKS,
    ]);
    expect(names(tar)).to.deep.equal(['etc/shown']);
  });
});
