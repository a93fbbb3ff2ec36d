import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { Logger } from 'pino';
import type { ProcessValidator } from '../model/validate-process.ts';
import type { ProjectRegistry } from '../projects/project-registry.ts';

export const EXAMPLES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples');

/** On first start (no processes in `default`), deploys the bundled example processes there. */
export async function deployExamples(projects: ProjectRegistry, validator: ProcessValidator, log: Logger): Promise<void> {
  const engine = projects.get('default');
  if (engine.processNames().length > 0 || !existsSync(EXAMPLES_DIR)) return;
  const files = readdirSync(EXAMPLES_DIR).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();
  for (const f of files) {
    const text = readFileSync(join(EXAMPLES_DIR, f), 'utf8');
    const result = validator.validate(f.endsWith('.json') ? JSON.parse(text) : parseYaml(text));
    if (!result.ok) {
      log.error({ file: f, errors: result.errors }, 'example process is invalid; skipped');
      continue;
    }
    await projects.deploy('default', result.definition);
    log.info({ process: result.definition.name }, 'deployed example process');
  }
}
