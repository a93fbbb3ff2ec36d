import type { NodeDefinition } from '../model/process-definition.ts';
import type { TaskData, TaskRecord } from './task.ts';

/**
 * What a node decided. The engine turns an outcome into one atomic transition of the task.
 * Nodes never touch storage: anything durable (children, replies, timers) is said here.
 */
export type Outcome =
  /** Move to node `to`, merging `patch` into the task's data. */
  | { kind: 'go'; to: string; patch?: TaskData; detail?: Record<string, unknown>; spawn?: Spawn[]; reply?: TaskData }
  /** Stay on this node until `until` (epoch ms); then the node's `wake` decides. */
  | { kind: 'sleep'; until: number; patch?: TaskData; detail?: Record<string, unknown> }
  /** Wait for an external resume (callback, child's reply) until `timeoutAt`, then `wake` decides. */
  | { kind: 'wait'; timeoutAt: number; patch?: TaskData; detail?: Record<string, unknown>; spawn?: Spawn[] }
  /** A failure that may pass: run this node again at `at`. */
  | { kind: 'retry'; at: number; error: string; detail?: Record<string, unknown> }
  /** A failure that does not pass: the node's `on_error` edge, or the parked `failed` state (at `parkAt` if given). */
  | { kind: 'fail'; error: string; patch?: TaskData; detail?: Record<string, unknown>; parkAt?: string }
  /** The task ends here: `done` (final node) or `error` (error node, with a reason). */
  | { kind: 'end'; status: 'done' | 'error'; reason?: string; patch?: TaskData; reply?: TaskData; spawn?: Spawn[] };

/** A task to create in the same transaction (copy, call). */
export interface Spawn {
  process: string;
  ref: string | null;
  data: TaskData;
  /** true for `call`: the child replies to this task. */
  replyToParent: boolean;
}

export interface NodeContext {
  nodeId: string;
  node: NodeDefinition;
  task: TaskRecord;
  now: number;
  /** Renders `{{ ... }}` templates in any JSON value against the task (see util/template.ts). */
  render(value: unknown): unknown;
  services: NodeServices;
  /** The project's connections to services (credentials decrypted), for connector nodes. */
  connections: import('../connectors/connector.ts').ConnectionAccess;
  /** The project's chatbot contacts, tags and admin inbox (funnel nodes). */
  contacts: import('../storage/contact-store.ts').ContactStore;
  /** A short signature (HMAC with the server's secret, per project) for links a person must not forge. */
  sign(value: string): string;
  /** Cancels another live task of the project (stopping a person's other funnels); false if it had ended. */
  cancelTask(taskId: number): Promise<boolean>;
  /** The project's dead-letter CSV (the dead_letter node). */
  deadLetters: { append(row: import('../projects/dead-letters.ts').DeadLetter): Promise<void> };
  /** The project's deduplication keys (the dedupe node). */
  dedupe: Dedupe;
  /** The service said "too fast": nothing more goes out on this pace key for `ms`. */
  slowDown(paceKey: string, ms: number): void;
}

export interface Dedupe {
  /** The earlier task that claimed any of `keys` within `windowMs`, or null (then this task claims them). */
  claim(keys: string[], windowMs: number): Promise<number | null>;
  /** Notes in the earlier task's history that this task's lead was merged into it. */
  merged(intoTaskId: number, detail: Record<string, unknown>): Promise<void>;
}

/** A node that calls a rate-limited service asks the engine to queue its runs on a shared key. */
export interface PaceRequest {
  /** Calls with the same key share one pace, e.g. `bitrix24:default`. */
  key: string;
  perSecond: number;
  burst: number;
  /** When the node has `runBatch`: how many waiting tasks one call may carry. */
  batch?: number;
  /** A wider pace this one also counts against (one chat's lane within its bot's). */
  within?: PaceRequest;
}

/** What the engine lends to nodes; connectors add theirs through the registry, not here. */
export interface NodeServices {
  /** Runs user JavaScript in the sandbox. Throws SandboxError on a throw, timeout or memory limit. */
  runCode(source: string, input: unknown, limits?: { timeMs?: number; memoryBytes?: number }): {
    data: unknown;
    returned: unknown;
    logs: string[];
  };
  /** Outbound HTTP for `api` nodes (and connectors). */
  http: import('../util/http-client.ts').HttpClient;
}

export interface EdgeRef {
  /** The parameter holding the edge, e.g. `next`, `on_error`, `branches[1].to`. */
  field: string;
  to: string;
}

/**
 * A parameter that names something of the project: `path` is the parameter, dotted into an object
 * (`telegram.connection`); `default` is what the node uses when it is absent (only when its parent exists).
 */
export interface RefParam {
  path: string;
  default?: string;
}

/** What a node's parameters name in its project, so a copy to another project can remap or flag it. */
export interface NodeRefs {
  /** Contact tags: a string or a list of strings. */
  tags?: RefParam[];
  /** Names of the project's connections of `connector` (one of them, for a list). */
  connections?: Array<RefParam & { connector: string | string[] }>;
  /** A bot by its @username, which no connection says (checked by the operator, not by Conveyor). */
  usernames?: RefParam[];
}

export interface NodeType {
  type: string;
  /** What its parameters name in the project (tags, connections); read by funnels/funnel-copy.ts. */
  refs?: NodeRefs;
  /** One line for docs and the JSON Schema. */
  description: string;
  /** JSON Schema of the node's own parameters (besides type, title, on_error). */
  paramsSchema: Record<string, unknown>;
  /** The node's outgoing edges, for graph checks and the console. */
  edges(node: NodeDefinition): EdgeRef[];
  /** Checks JSON Schema cannot say (durations, expressions); messages name the field. */
  check?(node: NodeDefinition): string[];
  /** Ends the task: final and error nodes. */
  terminal?: boolean;
  /** Its `wait` is for a POST to the task's callback URL (the `wait` node, a robot call), handed to `resume`. */
  callbacks?: boolean;
  /** Does I/O: the engine commits the task here first, then runs it outside the transaction. */
  async?: boolean;
  run(ctx: NodeContext): Outcome | Promise<Outcome>;
  /** For async nodes that call a paced service: the engine runs them in turn at this pace. */
  pace?(ctx: NodeContext): PaceRequest | undefined;
  /** Runs several tasks waiting at this node on the same pace key in one call; one outcome each, in order. */
  runBatch?(ctxs: NodeContext[]): Promise<Outcome[]>;
  /** The task's `runAt` came while it slept or waited (delay over, timeout). */
  wake?(ctx: NodeContext): Outcome;
  /** An external resume: a callback's body or a child's reply (`error` when the child failed). */
  resume?(ctx: NodeContext, payload: TaskData, error?: string): Outcome;
}
