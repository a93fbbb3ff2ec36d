import { resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import { NodeRegistry } from '../engine/node-registry.ts';
import { DEFAULT_ENGINE_OPTIONS, type EngineOptions } from '../engine/project-engine.ts';
import { processJsonSchema } from '../model/process-schema.ts';
import { ProcessValidator } from '../model/validate-process.ts';
import { builtinNodeTypes } from '../nodes/index.ts';
import { funnelNodeTypes } from '../funnels/nodes/index.ts';
import { ProjectRegistry } from '../projects/project-registry.ts';
import { CodeSandbox } from '../sandbox/code-sandbox.ts';
import { DataDir } from '../server/data-dir.ts';
import { deployExamples } from '../server/examples.ts';
import { createHttpClient } from '../util/http-client.ts';
import { buildApp } from './app.ts';
import { ConnectorCatalog } from '../connectors/connector-catalog.ts';
import { allConnectors } from '../connectors/index.ts';
import { closeEmailTransports } from '../connectors/email/smtp-transports.ts';
import { SecretBox } from '../connectors/secret-box.ts';
import { Metrics } from '../metrics/metrics.ts';
import { Alerter } from '../alerts/alerter.ts';
import { telegramAlertSink } from '../alerts/telegram-sink.ts';

export interface ServerOptions {
  port?: number;
  host?: string;
  dataDir?: string;
  apiKey?: string;
  /** Encrypts connection credentials; default env CONVEYOR_MASTER_KEY, else a key kept in the data dir. */
  masterKey?: string;
  /** Base of callback URLs handed to remote services; default the listening address. */
  publicUrl?: string;
  logLevel?: string;
  /** SQLite fsync per commit (`full`, default) or on checkpoints only (`normal`). */
  synchronous?: 'full' | 'normal';
  /** Deploy the bundled examples into `default` on first start (default true). */
  examples?: boolean;
  engine?: Partial<EngineOptions>;
  /** How often alert rules are checked (default 30 s). */
  alertCheckMs?: number;
  logger?: Logger;
}

export interface RunningServer {
  url: string;
  apiKey: string;
  /** True when the key was generated on this start (print it once). */
  apiKeyGenerated: boolean;
  projects: ProjectRegistry;
  close(): Promise<void>;
}

/** Starts Conveyor: opens every project, starts their engines, then listens. */
export async function startServer(opts: ServerOptions = {}): Promise<RunningServer> {
  const log = opts.logger ?? pino({ level: opts.logLevel ?? process.env.LOG_LEVEL ?? 'info' });
  const data = new DataDir(resolve(opts.dataDir ?? process.env.CONVEYOR_DATA ?? './data'));
  data.lock();
  const { key, generated } = data.apiKey(opts.apiKey ?? process.env.CONVEYOR_API_KEY);
  const sandbox = await CodeSandbox.create();
  const http = createHttpClient();
  const registry = new NodeRegistry().register(...builtinNodeTypes, ...funnelNodeTypes);
  const metrics = new Metrics();
  const connectors = new ConnectorCatalog(registry).add(...allConnectors);
  const master = data.masterKey(opts.masterKey ?? process.env.CONVEYOR_MASTER_KEY);
  if (master.generated) log.warn('CONVEYOR_MASTER_KEY is not set: connection credentials are encrypted with a key generated into the data directory');
  const callbackSecret = data.callbackSecret();
  let publicUrl = opts.publicUrl ?? process.env.CONVEYOR_PUBLIC_URL ?? '';
  const projects = new ProjectRegistry({
    dataDir: data.path,
    registry,
    services: { runCode: (src, input, limits) => sandbox.run(src, input, limits), http },
    engineOptions: {
      ...DEFAULT_ENGINE_OPTIONS,
      ...opts.engine,
      publicUrl: () => publicUrl,
      callbackSecret,
    },
    log,
    sqlite: { synchronous: opts.synchronous ?? (process.env.CONVEYOR_SYNC as 'full' | 'normal' | undefined) },
    connectors,
    secretBox: new SecretBox(master.key),
    observer: metrics,
  });
  metrics.attach(projects);
  const validator = new ProcessValidator(registry);
  const port = opts.port ?? Number(process.env.PORT ?? 8080);
  const host = opts.host ?? process.env.HOST ?? '0.0.0.0';
  const alerter = new Alerter(projects, metrics, telegramAlertSink(projects, http), log);
  let app: Awaited<ReturnType<typeof buildApp>>;
  try {
    await projects.open();
    if (opts.examples ?? true) await deployExamples(projects, validator, log);
    app = await buildApp({ projects, validator, registry, processSchema: processJsonSchema(registry), apiKey: key, connectors, metrics, alerter, hookSecret: callbackSecret.toString('hex'), publicUrl: () => publicUrl }, log);
    await app.listen({ port, host });
    alerter.start(opts.alertCheckMs);
  } catch (err) {
    await projects.close();
    await http.close();
    sandbox.dispose();
    data.unlock();
    throw err;
  }
  const addr = app.server.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  const url = `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${actualPort}`;
  if (!publicUrl) publicUrl = url;
  let closed = false;
  return {
    url, apiKey: key, apiKeyGenerated: generated, projects,
    async close() {
      if (closed) return;
      closed = true;
      alerter.stop();
      await app.close();
      await projects.close();
      await http.close();
      closeEmailTransports();
      sandbox.dispose();
      data.unlock();
    },
  };
}
