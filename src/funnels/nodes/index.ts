import type { NodeType } from '../../engine/node-type.ts';
import { chatSendNode } from './chat-send.ts';
import { adminNotifyNode } from './admin-notify.ts';
import { funnelMoveNode } from './funnel-move.ts';
import { funnelStopNode } from './funnel-stop.ts';
import { paidLinkNode } from './paid-link.ts';
import { purchaseNode } from './purchase.ts';
import { tagsAddNode, tagsCheckNode, tagsRemoveNode } from './tags.ts';
import { waitReplyNode } from './wait-reply.ts';

/** Funnel steps: they act on the person of a task started by a bot trigger. */
export const funnelNodeTypes: NodeType[] = [chatSendNode, waitReplyNode, tagsAddNode, tagsRemoveNode, tagsCheckNode, funnelStopNode, funnelMoveNode, adminNotifyNode, paidLinkNode, purchaseNode];
