import type { NodeType } from '../engine/node-type.ts';
import { apiNode } from './api.ts';
import { callNode } from './call.ts';
import { codeNode } from './code.ts';
import { conditionNode } from './condition.ts';
import { copyNode } from './copy.ts';
import { deadLetterNode } from './dead-letter.ts';
import { dedupeNode } from './dedupe.ts';
import { delayNode } from './delay.ts';
import { errorNode } from './error.ts';
import { finalNode } from './final.ts';
import { replyNode } from './reply.ts';
import { setNode } from './set.ts';
import { waitNode } from './wait.ts';

/** The engine's own node types; connectors register theirs beside these. */
export const builtinNodeTypes: NodeType[] = [
  conditionNode, setNode, codeNode, apiNode, delayNode, waitNode, callNode, replyNode, copyNode, finalNode, errorNode, deadLetterNode, dedupeNode,
];
