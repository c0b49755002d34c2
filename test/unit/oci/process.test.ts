import { expect } from 'chai';
import { isKind } from '../../../src/core/errors.js';
import { DEFAULT_PATH, processArgs, processEnv, workingDir } from '../../../src/oci/process.js';
import { thrown } from '../../support/thrown.js';

describe('oci/process', function () {
  describe('processArgs', function () {
    const EP = ['/entry', '-x'];
    const CMD = ['serve', '--port=80'];
    type Row = [string, string[], string[], string[], string[], string[]];
    // name, CRI command, CRI args, image Entrypoint, image Cmd, want
    const table: Row[] = [
      ['image only: Entrypoint + Cmd', [], [], EP, CMD, [...EP, ...CMD]],
      ['image Cmd only', [], [], [], CMD, CMD],
      ['image Entrypoint only', [], [], EP, [], EP],
      ['CRI args replace the image Cmd, keep Entrypoint', [], ['a', 'b'], EP, CMD, [...EP, 'a', 'b']],
      ['CRI args with no image Entrypoint', [], ['sh', '-c', 'x'], [], CMD, ['sh', '-c', 'x']],
      ['CRI command drops both Entrypoint and Cmd', ['/bin/sh'], [], EP, CMD, ['/bin/sh']],
      ['CRI command + CRI args', ['/bin/sh'], ['-c', 'echo hi'], EP, CMD, ['/bin/sh', '-c', 'echo hi']],
      ['CRI command with an image without config', ['/bin/true'], [], [], [], ['/bin/true']],
      ['Entrypoint [""] counts as none', [], [], [''], CMD, CMD],
      ['Entrypoint [""] with CRI args', [], ['x'], [''], CMD, ['x']],
    ];
    for (const [name, command, args, entrypoint, cmd, want] of table) {
      it(name, function () {
        expect(processArgs({ command, args, image: { entrypoint, cmd } })).to.deep.equal(want);
      });
    }

    it('is InvalidArgument "no command" when nothing gives one', function () {
      const e = thrown(() => processArgs({ command: [], args: [], image: { entrypoint: [], cmd: [] } }));
      expect(isKind(e, 'InvalidArgument')).to.equal(true);
      expect((e as Error).message).to.match(/no command/);
      const e2 = thrown(() => processArgs({ command: [], args: [], image: { entrypoint: [''], cmd: [] } }));
      expect(isKind(e2, 'InvalidArgument')).to.equal(true);
    });

    it('rejects an empty program name and NUL bytes', function () {
      expect(isKind(thrown(() => processArgs({ command: [''], args: [], image: { entrypoint: [], cmd: [] } })), 'InvalidArgument')).to.equal(true);
      expect(isKind(thrown(() => processArgs({ command: ['a\0b'], args: [], image: { entrypoint: [], cmd: [] } })), 'InvalidArgument')).to.equal(true);
    });

    it('does not alias the input arrays', function () {
      const image = { entrypoint: ['/e'], cmd: ['c'] };
      const out = processArgs({ command: [], args: [], image });
      out.push('x');
      expect(image.entrypoint).to.deep.equal(['/e']);
      expect(image.cmd).to.deep.equal(['c']);
    });
  });

  describe('processEnv', function () {
    const base = { tty: false, hostname: 'pod-a', env: [] as [string, string][], image: { env: [] as string[] } };

    it('gives PATH and HOSTNAME when nothing else is set', function () {
      expect(processEnv(base)).to.deep.equal([`PATH=${DEFAULT_PATH}`, 'HOSTNAME=pod-a']);
    });

    it('keeps the image PATH in place of the default', function () {
      const env = processEnv({ ...base, image: { env: ['PATH=/opt/bin:/bin', 'A=1'] } });
      expect(env).to.deep.equal(['PATH=/opt/bin:/bin', 'HOSTNAME=pod-a', 'A=1']);
    });

    it('puts image entries before CRI entries, CRI wins by key in place', function () {
      const env = processEnv({
        ...base,
        image: { env: ['A=img', 'B=img', 'C=img'] },
        env: [
          ['B', 'cri'],
          ['D', 'cri'],
          ['A', 'cri'],
        ],
      });
      expect(env).to.deep.equal([`PATH=${DEFAULT_PATH}`, 'HOSTNAME=pod-a', 'A=cri', 'B=cri', 'C=img', 'D=cri']);
    });

    it('lets the last of repeated keys win without duplicating them', function () {
      const env = processEnv({ ...base, image: { env: ['A=1', 'A=2'] }, env: [['B', 'x'], ['B', 'y']] });
      expect(env).to.deep.equal([`PATH=${DEFAULT_PATH}`, 'HOSTNAME=pod-a', 'A=2', 'B=y']);
    });

    it('keeps values with "=" and empty values', function () {
      const env = processEnv({ ...base, image: { env: ['OPTS=a=b=c', 'EMPTY='] }, env: [['Q', '']] });
      expect(env.slice(2)).to.deep.equal(['OPTS=a=b=c', 'EMPTY=', 'Q=']);
    });

    it('lets CRI and the image override HOSTNAME, CRI override PATH', function () {
      expect(processEnv({ ...base, image: { env: ['HOSTNAME=img'] } })).to.deep.equal([`PATH=${DEFAULT_PATH}`, 'HOSTNAME=img']);
      expect(processEnv({ ...base, env: [['PATH', '/x']] })).to.deep.equal(['PATH=/x', 'HOSTNAME=pod-a']);
    });

    it('unsets a key for an image entry without "="', function () {
      const env = processEnv({ ...base, image: { env: ['A=1', 'A', 'B=2'] } });
      expect(env).to.deep.equal([`PATH=${DEFAULT_PATH}`, 'HOSTNAME=pod-a', 'B=2']);
      const env2 = processEnv({ ...base, image: { env: ['A=1', 'A', 'A=3'] } });
      expect(env2.slice(2)).to.deep.equal(['A=3']);
    });

    it('adds TERM=xterm for a tty (after PATH, as containerd does)', function () {
      expect(processEnv({ ...base, tty: true })).to.deep.equal([`PATH=${DEFAULT_PATH}`, 'TERM=xterm', 'HOSTNAME=pod-a']);
      expect(processEnv({ ...base, tty: true, env: [['TERM', 'vt100']] })[1]).to.equal('TERM=vt100');
    });

    it('adds HOME at the end unless the image or CRI set it', function () {
      expect(processEnv(base, '/root')).to.deep.equal([`PATH=${DEFAULT_PATH}`, 'HOSTNAME=pod-a', 'HOME=/root']);
      expect(processEnv({ ...base, image: { env: ['HOME=/img'] } }, '/root')).to.include('HOME=/img').and.not.include('HOME=/root');
      expect(processEnv({ ...base, env: [['HOME', '/cri']] }, '/root')).to.include('HOME=/cri').and.not.include('HOME=/root');
      expect(processEnv(base).some((e) => e.startsWith('HOME='))).to.equal(false);
    });

    it('rejects bad variable names and NUL bytes', function () {
      for (const env of [[['', 'x']], [['A=B', 'x']], [['A', 'x\0y']]] as [string, string][][]) {
        expect(isKind(thrown(() => processEnv({ ...base, env })), 'InvalidArgument'), JSON.stringify(env)).to.equal(true);
      }
      expect(isKind(thrown(() => processEnv({ ...base, image: { env: ['=x'] } })), 'InvalidArgument')).to.equal(true);
    });
  });

  describe('workingDir', function () {
    it('takes the CRI dir, else the image dir, else /', function () {
      expect(workingDir({ workingDir: '/cri', image: { workingDir: '/img' } })).to.equal('/cri');
      expect(workingDir({ workingDir: '', image: { workingDir: '/img' } })).to.equal('/img');
      expect(workingDir({ workingDir: '', image: { workingDir: '' } })).to.equal('/');
    });

    it('normalises, makes a relative image dir absolute, rejects a relative CRI dir', function () {
      expect(workingDir({ workingDir: '/a//b/../c', image: { workingDir: '' } })).to.equal('/a/c');
      expect(workingDir({ workingDir: '', image: { workingDir: 'app' } })).to.equal('/app');
      expect(isKind(thrown(() => workingDir({ workingDir: 'rel', image: { workingDir: '/img' } })), 'InvalidArgument')).to.equal(true);
    });
  });
});
