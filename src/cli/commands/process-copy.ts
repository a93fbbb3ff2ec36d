import { InvalidArgumentError, type Command } from 'commander';
import type { Ctx } from '../api-client.ts';
import { emit, wholeNumber } from '../output.ts';

interface CopyFlag { node?: string; trigger?: number; field: string; value: string; reason: string }
interface CopyReply { project: string; process: string; version: number; publicId: string; flags: CopyFlag[]; tags_kept: string[] }

/** Collects repeated `--tag old=new` options into a map; a malformed or repeated `old` is a usage error. */
function pairs(option: string) {
  return (value: string, into: Record<string, string> = {}): Record<string, string> => {
    const at = value.indexOf('=');
    const [from, to] = at > 0 ? [value.slice(0, at), value.slice(at + 1)] : ['', ''];
    if (!from || !to) throw new InvalidArgumentError(`${option} takes old=new, got "${value}".`);
    if (from in into) throw new InvalidArgumentError(`${option} ${from} is given twice.`);
    return { ...into, [from]: to };
  };
}

/** Where a flag is: `trigger 0 bots[0]`, `node remind telegram.connection`, or just the remap field. */
const place = (f: CopyFlag) => [f.trigger !== undefined ? `trigger ${f.trigger}` : f.node !== undefined ? `node ${f.node}` : '', f.field].filter(Boolean).join(' ');

/** `conveyor process copy NAME --as NEW`: a funnel into this project or another, tags and bots remapped. */
export function processCopyCommand(proc: Command, ctx: Ctx): void {
  proc
    .command('copy')
    .description('copy a process under a new name, in this project or another (--to-project), renaming tags and bots')
    .argument('<name>', 'the process to copy (in --project)')
    .requiredOption('--as <new>', 'name of the copy')
    .option('--to-project <project>', 'project to copy into (default: the same)')
    .option('--tag <old=new>', 'rename a tag (repeat for more)', pairs('--tag'))
    .option('--bot <old=new>', 'rename a bot connection or @username (repeat for more)', pairs('--bot'))
    .option('--version <n>', 'copy this version (default: the latest)', wholeNumber('--version', 1))
    .option('--replace', 'deploy over an existing process of that name as its next version')
    .action(async (name: string, o: { as: string; toProject?: string; tag?: Record<string, string>; bot?: Record<string, string>; version?: number; replace?: boolean }) => {
      const api = ctx.api();
      const body = {
        as: o.as, ...(o.toProject && { to_project: o.toProject }), ...(o.tag && { tags: o.tag }), ...(o.bot && { bots: o.bot }),
        ...(o.version && { version: o.version }), ...(o.replace && { replace: true }),
      };
      const r = await api.request<CopyReply>('POST', `/api/v1/projects/${encodeURIComponent(api.project)}/processes/${encodeURIComponent(name)}/copy`, body);
      emit(ctx.json(), r, () => {
        const b = r.body;
        const lines = [`copied ${name} to ${b.process} v${b.version} in project ${b.project} (public id ${b.publicId})`];
        if (b.tags_kept.length) lines.push(`tags kept as they are: ${b.tags_kept.join(', ')}`);
        if (b.flags.length) {
          lines.push(`check ${b.flags.length === 1 ? 'this' : `these ${b.flags.length}`}:`);
          for (const f of b.flags) lines.push(`  ${place(f)}: ${f.reason}`);
        } else {
          lines.push('no flags: every bot and connection it names exists there');
        }
        return lines.join('\n');
      });
    });
}
